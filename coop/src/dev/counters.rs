//! `GET /dev/counters`: what the token endpoint did, per grant type and outcome, and how many
//! reuses were detected and grants revoked.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::state::SharedCoop;

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

pub async fn show(State(coop): State<SharedCoop>) -> Json<Value> {
    Json(coop.counters.snapshot())
}
