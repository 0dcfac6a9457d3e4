//! `GET /healthz`: answers 200 while the process can serve requests.

use axum::Json;
use serde_json::{Value, json};

/// Liveness probe for scripts, tests and load balancers.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
