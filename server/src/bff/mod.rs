//! The backend-for-frontend endpoints under `/bff/`: login parameters, the code exchange,
//! the session, logout. Every state-changing request passes [`csrf::require`].

pub mod csrf;
mod login;
mod logout;
mod session_info;

pub(crate) use login::revoke_if_unkept;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::parameters).post(login::complete))
        .route("/session", get(session_info::current))
        .route("/logout", post(logout::logout))
}
