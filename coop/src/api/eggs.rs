//! `GET /api/me`, `GET /api/eggs` (today's count), `POST /api/eggs` (add collected eggs).
//! "Today" is the UTC date on COOP's clock.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::bearer::Bearer;
use crate::clock::Clock;
use crate::error::BearerError;
use crate::state::SharedCoop;
use crate::store::eggs;

/// The most eggs one request may record.
const MAX_EGGS_PER_REQUEST: i64 = 100_000;

pub async fn me(bearer: Bearer) -> Json<Value> {
    Json(json!({
        "sub": bearer.claims.sub,
        "scope": bearer.claims.scope,
        "client_id": bearer.claims.client_id,
    }))
}

pub async fn today(State(coop): State<SharedCoop>, bearer: Bearer) -> Result<Json<Value>, BearerError> {
    bearer.require("eggs:read")?;
    let day = today_utc(&coop.clock);
    let count = coop
        .store
        .transaction(|db| eggs::count(db, &bearer.claims.sub, &day))?;
    Ok(Json(json!({ "date": day, "count": count })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Collected {
    count: i64,
}

pub async fn record(
    State(coop): State<SharedCoop>,
    bearer: Bearer,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), BearerError> {
    bearer.require("eggs:write")?;
    let collected: Collected = serde_json::from_slice(&body)
        .map_err(|e| BearerError::BadRequest(format!("expected {{\"count\": n}}: {e}")))?;
    if !(1..=MAX_EGGS_PER_REQUEST).contains(&collected.count) {
        return Err(BearerError::BadRequest(format!(
            "count must be from 1 to {MAX_EGGS_PER_REQUEST}"
        )));
    }
    let day = today_utc(&coop.clock);
    let total = coop
        .store
        .transaction(|db| eggs::add(db, &bearer.claims.sub, &day, collected.count))?;
    Ok((StatusCode::CREATED, Json(json!({ "date": day, "count": total }))))
}

/// Today's date in UTC on COOP's clock (so advancing the clock a day starts a new count).
fn today_utc(clock: &Clock) -> String {
    time::OffsetDateTime::from_unix_timestamp(clock.now_s())
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .date()
        .to_string()
}
