//! `GET /dev/counters`: what the token endpoint did, per grant type and outcome, how many
//! reuses were detected and grants revoked, and how many rows each table of the store holds
//! (`rows`: sessions, codes, grants, refresh_tokens, access_tokens, pushed_requests), to see expired ones purged.
//!
//! Also: `introspections` (every request `/introspect` answered, whatever the answer) and
//! `introspection_outcomes` (`active`, `inactive` or the error code → count);
//! `reuses_within_grace` (used refresh tokens presented again within the reuse grace period, and
//! so refreshed, not taken as reuse); `refresh_tokens_revoked` (refresh tokens revoked on their
//! own at `/revoke`, without cascade: their grants are not in `grants_revoked`);
//! `backchannel_logouts` (client id → outcome — the client's HTTP status, `unreachable` or
//! `timeout` — → count: the logout tokens COOP sent, [`crate::backchannel`]); `jwks_fetches`
//! (every `GET /jwks.json` answered: how often a client refetched the keys).
//! `pushed_requests` (outcome at `POST /par` — `ok` or the error code — → count).

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
    /// Outcome (`active`, `inactive` or an error code) → count.
    introspections: Mutex<BTreeMap<String, u64>>,
    reuses_within_grace: AtomicU64,
    refresh_tokens_revoked: AtomicU64,
    /// Client id → outcome → count.
    backchannel_logouts: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
    /// Outcome at `POST /par` (`ok` or an error code) → count.
    pushed_requests: Mutex<BTreeMap<String, u64>>,
    jwks_fetches: AtomicU64,
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

    pub fn introspection(&self, outcome: &str) {
        let mut introspections = self.introspections.lock().unwrap_or_else(|p| p.into_inner());
        *introspections.entry(outcome.to_owned()).or_default() += 1;
    }

    pub fn pushed_request(&self, outcome: &str) {
        let mut pushed = self.pushed_requests.lock().unwrap_or_else(|p| p.into_inner());
        *pushed.entry(outcome.to_owned()).or_default() += 1;
    }

    pub fn reuse_within_grace(&self) {
        self.reuses_within_grace.fetch_add(1, Ordering::Relaxed);
    }

    pub fn refresh_token_revoked(&self) {
        self.refresh_tokens_revoked.fetch_add(1, Ordering::Relaxed);
    }

    pub fn jwks_fetched(&self) {
        self.jwks_fetches.fetch_add(1, Ordering::Relaxed);
    }

    pub fn backchannel_logout(&self, client_id: &str, outcome: &str) {
        let mut sent = self.backchannel_logouts.lock().unwrap_or_else(|p| p.into_inner());
        *sent
            .entry(client_id.to_owned())
            .or_default()
            .entry(outcome.to_owned())
            .or_default() += 1;
    }

    pub fn snapshot(&self) -> Value {
        let requests = self
            .token_requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let introspections = self
            .introspections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let pushed = self
            .pushed_requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        json!({
            "token_requests": requests,
            "pushed_requests": pushed,
            "reuse_detections": self.reuse_detections.load(Ordering::Relaxed),
            "grants_revoked": self.grants_revoked.load(Ordering::Relaxed),
            "introspections": introspections.values().sum::<u64>(),
            "introspection_outcomes": introspections,
            "reuses_within_grace": self.reuses_within_grace.load(Ordering::Relaxed),
            "refresh_tokens_revoked": self.refresh_tokens_revoked.load(Ordering::Relaxed),
            "jwks_fetches": self.jwks_fetches.load(Ordering::Relaxed),
            "backchannel_logouts": *self.backchannel_logouts.lock().unwrap_or_else(|p| p.into_inner()),
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
