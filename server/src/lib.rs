//! TopCluck's server: serves the Leptos app (server-side rendering, then hydration in the
//! browser) and is the app's backend-for-frontend.
#![forbid(unsafe_code)]

pub mod embedded_coop;
mod health;

use app::{App, shell};
use axum::{Router, routing::get};
use leptos::prelude::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};

/// The whole HTTP application: health check, Leptos pages, static files and the 404 fallback.
pub fn app(leptos_options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .route("/healthz", get(health::healthz))
        .leptos_routes(&leptos_options, routes, {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(leptos_options)
}
