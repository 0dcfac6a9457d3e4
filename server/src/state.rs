//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::clock::Clock;
use crate::oidc::Provider;
use crate::renewal::{self, Renewer};
use crate::settings::Settings;
use crate::upstream::{Limit, Upstream};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub settings: Arc<Settings>,
    pub provider: Arc<Provider>,
    /// The same provider as the daily job's own client (`Settings::counting_client`): its
    /// offline grants are never the browser session's. `None`: daily counting cannot be turned on.
    pub counting_provider: Option<Arc<Provider>>,
    pub renewer: Arc<Renewer>,
    /// Every expiry decision reads this clock (tests move it forward).
    pub clock: Clock,
    /// The client for the upstream API and its limit ([`crate::upstream`]): no redirects, no
    /// cookies; the upstream timeouts of [`crate::settings::Timeouts`] (a call cut short
    /// answers 502 `bad_gateway`).
    pub upstream: crate::upstream::Api,
    /// Where the daily job's offline grants and the counts live (`None`: counting is off in
    /// this server, e.g. in tests that do not need it).
    pub vault: Option<crate::vault::Vault>,
    /// The store (the vault's database): the commit point of rotations and logouts, shared by
    /// every instance. `None` only without a vault (some in-process tests): memory alone.
    pub store: Option<crate::store::Store>,
    /// Sessions ended for good: every copy of their cookie is refused.
    pub gate: crate::session::Gate,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, settings: Settings, provider: Provider) -> Self {
        Self::with_clock(leptos_options, settings, provider, Clock::default())
    }

    /// [`AppState::new`] with a clock of the caller's (tests advance it).
    pub fn with_clock(
        leptos_options: LeptosOptions,
        settings: Settings,
        provider: Provider,
        clock: Clock,
    ) -> Self {
        let limits = &settings.limits;
        let upstream = crate::upstream::Api::new(
            &settings.timeouts,
            Limit::new(Upstream::Api, limits.api_connections, limits.queue),
            limits.api_http2,
        );
        // The login's client and daily counting's call one provider: one limit for both.
        let provider_limit = Limit::new(Upstream::Provider, limits.provider_connections, limits.queue);
        let provider = provider
            .with_revocation_endpoint(settings.revocation_endpoint.as_ref())
            .with_limits(&settings.timeouts, provider_limit.clone());
        let counting_provider = settings.counting_client.as_ref().map(|client| {
            Arc::new(
                Provider::new(
                    provider.issuer(),
                    &client.client_id,
                    client.client_secret.clone(),
                    settings.redirect_uri.as_str(),
                )
                .with_revocation_endpoint(settings.revocation_endpoint.as_ref())
                .with_limits(&settings.timeouts, provider_limit.clone()),
            )
        });
        Self {
            leptos_options,
            provider: Arc::new(provider),
            counting_provider,
            renewer: Arc::new(Renewer::new(renewal_config(&settings), clock.clone())),
            clock,
            settings: Arc::new(settings),
            upstream,
            vault: None,
            store: None,
            gate: crate::session::Gate::default(),
        }
    }

    /// With the vault the daily job uses, and its database as the store every renewal and
    /// logout commits to.
    pub fn with_vault(mut self, vault: crate::vault::Vault) -> Self {
        let store = vault.store();
        self.renewer = Arc::new(
            Renewer::new(renewal_config(&self.settings), self.clock.clone()).with_store(store.clone()),
        );
        self.gate = crate::session::Gate::new(
            Some(store.clone()),
            self.provider.issuer(),
            self.settings.session_max_age,
        );
        self.store = Some(store);
        self.vault = Some(vault);
        self
    }

    /// Starts what keeps this instance's view of the store current: the revoked sessions (every
    /// second) and the pruning of rows that can no longer matter (every minute).
    pub fn start_background(&self) {
        let _ = self.gate.follow(self.clock.clone());
        if let Some(store) = self.store.clone() {
            store.listen();
            let clock = self.clock.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(Duration::from_secs(60));
                loop {
                    ticks.tick().await;
                    match store.prune(clock.now()).await {
                        Ok(0) => {}
                        Ok(rows) => tracing::debug!(rows, "store: pruned"),
                        Err(error) => tracing::warn!(%error, "store: pruning failed; retrying in a minute"),
                    }
                }
            });
        }
    }
}

fn renewal_config(settings: &Settings) -> renewal::Config {
    let mut config = renewal::Config::new(settings.refresh_skew, settings.timeouts.refresh_wait);
    config.uncertainty.reuse_grace = settings.reuse_grace;
    config
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
