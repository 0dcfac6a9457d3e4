//! The egg API: a protected resource in the same process, under `/api/`. It validates COOP's
//! access tokens itself, as any resource server would. With the dev endpoints, the fault switch
//! can make it answer a 5xx for a while (`api_status`, [`crate::dev::Faults::api_status`]).

pub mod bearer;
mod eggs;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::state::SharedCoop;

pub fn router(coop: &SharedCoop) -> Router<SharedCoop> {
    Router::new()
        .route("/me", get(eggs::me))
        .route("/eggs", get(eggs::today).post(eggs::record))
        .route_layer(middleware::from_fn_with_state(coop.clone(), failing))
}

/// The `api_status` fault: that status instead of the API's work, while it is on.
async fn failing(State(coop): State<SharedCoop>, request: Request, next: Next) -> Response {
    match coop.faults.api_status(&coop.clock) {
        Some(status) => (status, Json(json!({ "error": "server_error" }))).into_response(),
        None => next.run(request).await,
    }
}
