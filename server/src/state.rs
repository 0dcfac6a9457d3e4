//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::oidc::Provider;
use crate::renewal::Renewer;
use crate::settings::Settings;

/// How long a refresh's result is remembered for requests still carrying the old cookie.
pub const RENEWAL_WINDOW: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub settings: Arc<Settings>,
    pub provider: Arc<Provider>,
    pub renewer: Arc<Renewer>,
    /// The client for the upstream API: no redirects, no cookies.
    pub upstream: reqwest::Client,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, settings: Settings, provider: Provider) -> Self {
        let upstream = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .read_timeout(Duration::from_secs(30))
            .build()
            .expect("a reqwest client with rustls");
        Self {
            leptos_options,
            settings: Arc::new(settings),
            provider: Arc::new(provider),
            renewer: Arc::new(Renewer::new(RENEWAL_WINDOW)),
            upstream,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
