//! The backend-for-frontend endpoints under `/bff/`: login (a transaction opened by this
//! browser, then the code exchange), the session, logout. Every state-changing request passes
//! [`csrf::require`]; failed logins are rate-limited per address ([`failures`]).

pub mod csrf;
pub mod failures;
mod login;
mod logout;
mod revocation;
mod sealed_cookie;
mod session_info;
pub mod transaction;

pub(crate) use login::revoke_if_unkept;

use axum::routing::{get, post};
use axum::{Extension, Router, middleware};

use crate::session::sealing::KeyRing;
use crate::state::AppState;

/// `keys` seal the login-transaction and logout-hint cookies (the session cookie's key ring).
pub fn router(state: &AppState, keys: KeyRing) -> Router<AppState> {
    let failures = failures::FailureLimit::new(state.settings.login_failure_burst, state.clock.clone());
    Router::new()
        .route(
            "/login",
            get(login::begin).merge(
                post(login::complete).layer(middleware::from_fn_with_state(failures, failures::limit)),
            ),
        )
        .route("/session", get(session_info::current))
        .route("/logout", post(logout::logout))
        .route("/logout/continue", get(logout::continue_to_provider))
        .route_layer(middleware::from_fn_with_state(state.clone(), csrf::require))
        .layer(Extension(transaction::Ledger::new(keys.clone())))
        .layer(Extension(keys))
}
