//! TopCluck's server: serves the Leptos app (server-side rendering, then hydration in the
//! browser) and is the app's backend-for-frontend (BFF): it completes logins as a confidential
//! client, keeps the tokens in a sealed HttpOnly cookie, and answers who is logged in.
#![forbid(unsafe_code)]

pub mod admission;
pub mod assets;
pub mod bff;
pub mod clock;
pub mod cookies;
pub mod counting;
pub mod csp;
pub mod edges;
#[cfg(feature = "embedded-coop")]
pub mod embedded_coop;
pub mod error;
mod health;
pub mod metrics;
pub mod oidc;
pub mod proxy;
pub mod renewal;
pub mod session;
pub mod settings;
pub mod state;
pub mod store;
pub mod upstream;
pub mod vault;

use std::convert::Infallible;

use app::auth::CurrentSession;
use app::{App, shell};
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::{
    Router,
    routing::{any, get},
};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower::Service;
use tower_sessions::Session;

use cookies::KeyRing;
use state::AppState;

/// The whole HTTP application: health check, BFF endpoints, the API proxy, Leptos pages, the
/// site's files ([`assets`]) and the 404 page for any other path, inside the session-cookie
/// layer, inside the HTTP edges ([`edges`]: timeouts, the body limits, tracing, cache headers).
///
/// Under `/bff` and `/api` every error is the BFF's JSON ([`error::BffError`]): an unknown path
/// is `404 not_found`, a method the endpoint does not take `405 method_not_allowed` (with
/// `Allow`, before the CSRF check), a body over the limit `413 payload_too_large`.
pub fn app(state: AppState, cookie_keys: KeyRing) -> Router {
    state.start_background();
    bff::revocation::spawn_outbox(&state);
    let routes = generate_route_list(App);
    // The back-channel logout is merged after the body limit and CSRF layers: it is the
    // provider's, not a browser's (see `bff::backchannel`).
    let bff = bff::router(&state, cookie_keys.clone())
        .layer(edges::bff_body_limit())
        .merge(bff::backchannel::router(&state))
        .method_not_allowed_fallback(|| async { error::BffError::MethodNotAllowed })
        .fallback(|| async { error::BffError::NotFound });
    let not_found = || async { error::BffError::NotFound };
    Router::new()
        .route("/healthz", get(health::healthz))
        .nest("/bff", bff)
        .route("/api/{*rest}", proxy::route(&state))
        .route("/api", any(not_found))
        .route("/api/", any(not_found))
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback_service(assets::service(&state.leptos_options, not_found_page(&state)))
        .layer(middleware::from_fn_with_state(
            (state.clock.clone(), state.gate.clone()),
            current_session,
        ))
        .layer(edges::inside_session_with(
            state.settings.timeouts.request,
            state.settings.timeouts.body,
        ))
        .layer(cookies::session_layer(cookie_keys))
        .layer(edges::outside_session())
        // Outside the session and every other edge: a request waiting here has cost nothing
        // but its connection's buffers (see `admission`).
        .layer(middleware::from_fn_with_state(
            admission::Admission::new(state.settings.limits.api_in_flight, state.settings.limits.queue),
            admission::admit,
        ))
        .layer(csp::layer(&state.leptos_options))
        .with_state(state)
}

/// The app rendered for a path no route matches: its `NotFound` page, status 404.
fn not_found_page(
    state: &AppState,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ Sync
+ 'static {
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream_with_context(|| {}, move || shell(options.clone()));
    tower::service_fn(move |request: Request| {
        let render = render.clone();
        async move { Ok::<_, Infallible>(render(request).await) }
    })
}

/// Puts the session's public part into the request, where server rendering finds it: pages
/// render logged in or out from the first byte. A session that has ended renders logged out,
/// and its cookie is cleared.
async fn current_session(
    axum::extract::State((clock, gate)): axum::extract::State<(clock::Clock, session::Gate)>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    // The BFF's own endpoints and the proxy read (and end) the session themselves.
    let path = request.uri().path();
    if path.starts_with("/api/") || path.starts_with("/bff/") {
        return next.run(request).await;
    }
    let current = match session::load(&session, clock.now(), &gate).await {
        Ok(data) => data.map(|d| d.info()),
        Err(error::BffError::ReauthenticationRequired) => None,
        Err(error) => {
            tracing::warn!(error = %error::Report(&error), "session unreadable; treated as none");
            None
        }
    };
    request.extensions_mut().insert(CurrentSession(current));
    next.run(request).await
}
