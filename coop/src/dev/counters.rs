//! `GET /dev/counters`: what the token endpoint did, per grant type and outcome, how many
//! reuses were detected and grants revoked, and how many rows each table of the store holds
//! (`rows`: sessions, codes, grants, refresh_tokens, access_tokens), to see expired ones purged.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::OAuthError;
use crate::state::SharedCoop;
use crate::store::purge;

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

pub async fn show(State(coop): State<SharedCoop>) -> Response {
    match coop.store.transaction(|db| purge::row_counts(db)) {
        Ok(rows) => {
            let mut snapshot = coop.counters.snapshot();
            snapshot["rows"] = json!(rows);
            Json(snapshot).into_response()
        }
        Err(error) => OAuthError::Server(error).into_response(),
    }
}
