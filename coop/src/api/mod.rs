//! The egg API: a protected resource in the same process, under `/api/`. It validates COOP's
//! access tokens itself, as any resource server would.

pub mod bearer;
mod eggs;

use axum::Router;
use axum::routing::get;

use crate::state::SharedCoop;

pub fn router() -> Router<SharedCoop> {
    Router::new()
        .route("/me", get(eggs::me))
        .route("/eggs", get(eggs::today).post(eggs::record))
}
