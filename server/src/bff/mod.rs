//! The backend-for-frontend endpoints under `/bff/`: login (a transaction opened by this
//! browser, its authorization request — pushed to the provider when it can be, [`authorization`]
//! — then the code exchange), the session, logout. Every state-changing request passes
//! [`csrf::require`] (and so does opening a login transaction); code redemptions are
//! rate-limited per address ([`throttle`]). The one exception is [`backchannel`], which the
//! provider calls server to server with a signed logout token and no cookie: it has a router of
//! its own, outside the CSRF middleware.

mod authorization;
pub mod backchannel;
mod counting;
pub mod csrf;
mod login;
mod logout;
mod refusal;
pub(crate) mod revocation;
mod session_info;
pub mod throttle;
pub mod transaction;

pub(crate) use login::revoke_if_unkept;
pub use login::{OPENINGS_BURST, OPENINGS_REFILL};
pub use refusal::LoginRefusal;

/// The login checks the fuzz targets call (server/fuzz, `login_body`): the `/bff/login` query's
/// and body's checks and the `iss` check, as the handlers run them. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::authorization::check_issuer;
    pub use super::login::{check_exchange, checked_start};
}

use axum::routing::{get, post};
use axum::{Extension, Router, middleware};

use crate::cookies::KeyRing;
use crate::state::AppState;

/// `keys` seal the login-transaction and logout-hint cookies (the session cookie's key ring;
/// handlers reach them through [`crate::cookies::SealedCookies`]).
pub fn router(state: &AppState, keys: KeyRing) -> Router<AppState> {
    let throttle = throttle::Throttle::new(state.settings.login_attempt_burst, state.clock.clone());
    Router::new()
        .route(
            "/login",
            // Opening a transaction replaces this browser's others: only TopCluck's page may.
            get(login::begin)
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    csrf::require_always,
                ))
                .post(login::complete),
        )
        .route("/session", get(session_info::current))
        .route("/counting", get(counting::status))
        .route(
            "/counting/start",
            get(counting::start).layer(middleware::from_fn_with_state(
                state.clone(),
                csrf::require_always,
            )),
        )
        .route("/counting/off", post(counting::off))
        .route("/dev/count-eggs", post(counting::dev_count))
        .route("/logout", post(logout::logout))
        .route("/logout/continue", get(logout::continue_to_provider))
        .route_layer(middleware::from_fn_with_state(state.clone(), csrf::require))
        .layer(Extension(transaction::Ledger::default()))
        .layer(Extension(throttle))
        .layer(Extension(login::Openings(throttle::Throttle::with_refill(
            // A burst raised for a crowd behind one address raises this one too.
            login::OPENINGS_BURST.max(state.settings.login_attempt_burst),
            login::OPENINGS_REFILL,
            state.clock.clone(),
        ))))
        .layer(Extension(keys))
}
