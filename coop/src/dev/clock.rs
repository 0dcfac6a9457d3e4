//! `GET /dev/clock` → `{"now": <unix seconds>, "offset_seconds": n}`, and `POST /dev/clock`
//! `{"advance_seconds": n}`: moves this COOP's clock forward (never back, at most
//! [`Clock::MAX_OFFSET`] ahead of the wall clock) and answers like `GET`.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::error::OAuthError;
use crate::state::SharedCoop;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    advance_seconds: i64,
}

pub async fn show(State(coop): State<SharedCoop>) -> Json<Value> {
    Json(reading(&coop.clock))
}

pub async fn advance(State(coop): State<SharedCoop>, body: Bytes) -> Response {
    let advance: Advance = match serde_json::from_slice(&body) {
        Ok(advance) => advance,
        Err(error) => {
            return refuse(format!("expected {{\"advance_seconds\": n}}: {error}"));
        }
    };
    let Ok(seconds) = u64::try_from(advance.advance_seconds) else {
        return refuse("advance_seconds may not be negative: the clock only moves forward".into());
    };
    match coop.clock.try_advance(Duration::from_secs(seconds)) {
        Ok(offset) => {
            tracing::warn!(
                seconds,
                offset_seconds = offset.as_secs(),
                "COOP's clock advanced"
            );
            Json(reading(&coop.clock)).into_response()
        }
        Err(error) => refuse(error.to_string()),
    }
}

fn reading(clock: &Clock) -> Value {
    json!({ "now": clock.now_s(), "offset_seconds": clock.offset().as_secs() })
}

/// 400 `{"error": "invalid_request", "error_description": why}`.
fn refuse(why: String) -> Response {
    OAuthError::InvalidRequest(why).into_response()
}
