//! Development and test aids, served under `/dev/` only when `COOP_DEV_ENDPOINTS=1`:
//! counters of what the token endpoint did, a fault switch that makes it unavailable or slow,
//! and a look at (and a way to revoke) a farmer's grants.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::OAuthError;
use crate::state::SharedCoop;
use crate::store::{access_tokens, grants};

/// What the token endpoint did, readable at `GET /dev/counters`.
#[derive(Default)]
pub struct Counters {
    /// `grant_type` → outcome (`ok` or an error code) → count.
    token_requests: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
    reuse_detections: AtomicU64,
    grants_revoked: AtomicU64,
}

impl Counters {
    pub fn token_request(&self, grant_type: &str, outcome: &str) {
        let mut requests = self.token_requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests
            .entry(grant_type.to_owned())
            .or_default()
            .entry(outcome.to_owned())
            .or_default() += 1;
    }

    pub fn reuse_detected(&self) {
        self.reuse_detections.fetch_add(1, Ordering::Relaxed);
    }

    pub fn grants_revoked(&self, n: u64) {
        self.grants_revoked.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Value {
        let requests = self
            .token_requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        json!({
            "token_requests": requests,
            "reuse_detections": self.reuse_detections.load(Ordering::Relaxed),
            "grants_revoked": self.grants_revoked.load(Ordering::Relaxed),
        })
    }
}

/// The fault switch for the token endpoint.
#[derive(Default)]
pub struct Faults {
    unavailable_until: Mutex<Option<Instant>>,
    latency_ms: AtomicU64,
}

impl Faults {
    /// Waits the configured latency, then fails if the endpoint is switched off.
    pub async fn apply(&self) -> Result<(), OAuthError> {
        let latency = self.latency_ms.load(Ordering::Relaxed);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        let until = *self.unavailable_until.lock().unwrap_or_else(|p| p.into_inner());
        match until.map(|until| until.saturating_duration_since(Instant::now())) {
            Some(left) if !left.is_zero() => Err(OAuthError::TemporarilyUnavailable {
                retry_after_seconds: left.as_secs_f64().ceil() as u64,
            }),
            _ => Ok(()),
        }
    }

    fn set(&self, unavailable_seconds: u64, latency_ms: u64) {
        *self.unavailable_until.lock().unwrap_or_else(|p| p.into_inner()) =
            (unavailable_seconds > 0).then(|| Instant::now() + Duration::from_secs(unavailable_seconds));
        self.latency_ms.store(latency_ms, Ordering::Relaxed);
    }
}

pub fn router() -> Router<SharedCoop> {
    Router::new()
        .route("/counters", get(counters))
        .route("/faults", post(set_faults).delete(clear_faults))
        .route("/grants", get(list_grants))
        .route("/grants/revoke", post(revoke_grants))
        .route("/access-tokens/revoke", post(revoke_access_tokens))
}

async fn counters(State(coop): State<SharedCoop>) -> Json<Value> {
    Json(coop.counters.snapshot())
}

#[derive(Deserialize)]
struct FaultSettings {
    /// The token endpoint answers 503 `temporarily_unavailable` for this many seconds.
    #[serde(default)]
    unavailable_seconds: u64,
    /// Added to every token-endpoint request.
    #[serde(default)]
    latency_ms: u64,
}

async fn set_faults(State(coop): State<SharedCoop>, Json(settings): Json<FaultSettings>) -> StatusCode {
    coop.faults.set(
        settings.unavailable_seconds.min(3600),
        settings.latency_ms.min(60_000),
    );
    tracing::warn!(
        settings.unavailable_seconds,
        settings.latency_ms,
        "token endpoint faults set"
    );
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(coop): State<SharedCoop>) -> StatusCode {
    coop.faults.set(0, 0);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct ForUser {
    username: String,
}

async fn list_grants(State(coop): State<SharedCoop>, Query(user): Query<ForUser>) -> Response {
    match coop.store.transaction(|db| grants::of_user(db, &user.username)) {
        Ok(list) => Json(json!({ "grants": list })).into_response(),
        Err(error) => OAuthError::Server(error).into_response(),
    }
}

/// Revokes every live grant of a farmer, as an administrator would.
async fn revoke_grants(State(coop): State<SharedCoop>, Json(user): Json<ForUser>) -> Response {
    let revoked = coop.store.transaction(|db| {
        let mut revoked = 0u64;
        for grant in grants::of_user(db, &user.username)? {
            if grants::revoke(db, grant.id, "revoked by an administrator")? {
                revoked += 1;
            }
        }
        Ok::<_, crate::store::StoreError>(revoked)
    });
    match revoked {
        Ok(n) => {
            coop.counters.grants_revoked(n);
            Json(json!({ "revoked": n })).into_response()
        }
        Err(error) => OAuthError::Server(error).into_response(),
    }
}

/// Revokes every access token of a farmer but not their grants, so the egg API answers
/// `401 invalid_token` while the refresh token still works (to exercise reactive renewal).
async fn revoke_access_tokens(State(coop): State<SharedCoop>, Json(user): Json<ForUser>) -> Response {
    match coop
        .store
        .transaction(|db| access_tokens::revoke_of_user(db, &user.username))
    {
        Ok(n) => Json(json!({ "revoked": n })).into_response(),
        Err(error) => OAuthError::Server(error).into_response(),
    }
}
