//! `POST /dev/faults` and `DELETE /dev/faults`: the token endpoint's fault switch. It can be
//! unavailable for a while (503 `temporarily_unavailable` with `Retry-After`, timed on COOP's
//! clock, so advancing the clock ends the outage; the revocation and introspection endpoints go
//! down with it, and are slowed by `latency_ms` too), slow before doing the work (`latency_ms`),
//! or slow after it (`answer_delay_ms`): the grant is done and committed, the counters
//! counted, and only then the answer waits, so a client that times out or goes away meanwhile
//! has lost, say, a rotated refresh token. Both waits are real time. `unreadable_answer`
//! makes it answer `200 text/html` (a proxy's login page) without doing anything;
//! `lost_answer_status` does the work, then answers a bare 5xx (a gateway that lost the answer).
//!
//! Three more act on `refresh_token` grants only (the code grant ignores them), for a client
//! whose refresh outcome is uncertain:
//!
//! - `reset_after_rotate`: the refresh is done and committed (the old refresh token used, the
//!   new one stored), then the connection is cut mid-answer: the client reads `200`, the
//!   headers (`application/json`, the whole answer's `Content-Length`) and a few bytes of the
//!   body, then the connection ends ([`crate::connection`]): an error, never a parseable answer.
//! - `html_after_rotate`: the refresh is done and committed, then the answer is `200
//!   text/html`, a proxy's error page.
//! - `gateway_5xx_html`: nothing is done; the answer is that 5xx status with an HTML body (a
//!   gateway in front of a provider that is down; no OAuth error JSON).
//!
//! A refresh that fails (`invalid_grant`, …) is answered as usual under the first two.
//! After the work, `lost_answer_status` wins over them, and `reset_after_rotate` over
//! `html_after_rotate`.
//!
//! `extra_scope` (e.g. `"offline_access"`) makes it grant more than was asked: code and refresh
//! answers report those scopes in `scope` besides the real ones, and their access tokens carry
//! them, so a client can prove it refuses (and revokes) a token wider than it asked for.
//!
//! One acts on the egg API (`/api/…`), not the token endpoint: `api_status` (a 5xx) makes every
//! API request answer that status with `{"error": "server_error"}`, before the bearer token is
//! looked at, for `api_status_seconds` of COOP's clock (at most an hour; 0 or left out: until
//! cleared): an API failing while the provider works.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::clock::Clock;
use crate::error::OAuthError;
use crate::scope::Scopes;
use crate::state::SharedCoop;

/// The longest outage that can be switched on.
const MAX_UNAVAILABLE_SECONDS: u64 = 3600;
/// The longest wait, before or after the work.
const MAX_WAIT_MS: u64 = 60_000;

/// The fault switch for the token endpoint.
#[derive(Default)]
pub struct Faults {
    /// When the outage ends, milliseconds since the epoch on COOP's clock; 0 when there is none.
    unavailable_until_ms: AtomicI64,
    latency_ms: AtomicU64,
    answer_delay_ms: AtomicU64,
    /// Once the work is done, answer this status (a gateway's 502/504) instead; 0: off.
    lost_answer_status: AtomicU16,
    unreadable_answer: AtomicBool,
    /// Once a refresh is done, cut the connection mid-answer.
    reset_after_rotate: AtomicBool,
    /// Once a refresh is done, answer `200 text/html`.
    html_after_rotate: AtomicBool,
    /// Refreshes are answered this status with an HTML page, undone; 0: off.
    gateway_5xx_html: AtomicU16,
    /// Scopes added to every token answer's; empty when off.
    extra_scope: Mutex<Scopes>,
    /// The egg API answers this 5xx; 0: off.
    api_status: AtomicU16,
    /// Until when (milliseconds since the epoch on COOP's clock) it does; 0: until cleared.
    api_status_until_ms: AtomicI64,
}

impl Faults {
    /// The token endpoint answers something that is not OAuth at all.
    pub fn unreadable_answer(&self) -> bool {
        self.unreadable_answer.load(Ordering::Relaxed)
    }

    /// Waits the configured latency, then fails if the endpoint is switched off.
    pub async fn apply(&self, clock: &Clock) -> Result<(), OAuthError> {
        wait(self.latency_ms.load(Ordering::Relaxed)).await;
        let until = self.unavailable_until_ms.load(Ordering::Relaxed);
        let left_ms = until.saturating_sub(clock.now_ms());
        if until > 0 && left_ms > 0 {
            return Err(OAuthError::TemporarilyUnavailable {
                retry_after_seconds: (left_ms as u64).div_ceil(1000),
            });
        }
        Ok(())
    }

    /// `scope` plus the `extra_scope` fault's scopes: what a token answer reports, and its
    /// access token carries.
    pub fn widen(&self, scope: Scopes) -> Scopes {
        scope.union(&self.extra_scope.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Waits the configured answer delay. Called once a request has been handled and counted.
    pub async fn delay_answer(&self) {
        wait(self.answer_delay_ms.load(Ordering::Relaxed)).await;
    }

    /// The status a gateway answers in place of the done work's answer, if that fault is on.
    pub fn lost_answer_status(&self) -> Option<StatusCode> {
        match self.lost_answer_status.load(Ordering::Relaxed) {
            0 => None,
            status => StatusCode::from_u16(status).ok(),
        }
    }

    /// Once a refresh is done and committed, cut the connection mid-answer.
    pub fn reset_after_rotate(&self) -> bool {
        self.reset_after_rotate.load(Ordering::Relaxed)
    }

    /// Once a refresh is done and committed, answer a proxy's HTML error page.
    pub fn html_after_rotate(&self) -> bool {
        self.html_after_rotate.load(Ordering::Relaxed)
    }

    /// The status a gateway answers, with an HTML page, in place of a refresh it never passed on.
    pub fn gateway_5xx_html(&self) -> Option<StatusCode> {
        match self.gateway_5xx_html.load(Ordering::Relaxed) {
            0 => None,
            status => StatusCode::from_u16(status).ok(),
        }
    }

    /// The status the egg API answers now in place of its work, if that fault is on.
    pub fn api_status(&self, clock: &Clock) -> Option<StatusCode> {
        let status = self.api_status.load(Ordering::Relaxed);
        let until = self.api_status_until_ms.load(Ordering::Relaxed);
        if status == 0 || (until > 0 && clock.now_ms() >= until) {
            return None;
        }
        StatusCode::from_u16(status).ok()
    }

    fn set(&self, settings: &FaultSettings, clock: &Clock) {
        let until = |seconds: u64| match seconds.min(MAX_UNAVAILABLE_SECONDS) {
            0 => 0,
            seconds => clock.now_ms() + seconds as i64 * 1000,
        };
        self.unavailable_until_ms
            .store(until(settings.unavailable_seconds), Ordering::Relaxed);
        self.api_status
            .store(server_error(settings.api_status), Ordering::Relaxed);
        self.api_status_until_ms
            .store(until(settings.api_status_seconds), Ordering::Relaxed);
        self.latency_ms
            .store(settings.latency_ms.min(MAX_WAIT_MS), Ordering::Relaxed);
        self.answer_delay_ms
            .store(settings.answer_delay_ms.min(MAX_WAIT_MS), Ordering::Relaxed);
        self.unreadable_answer
            .store(settings.unreadable_answer, Ordering::Relaxed);
        self.lost_answer_status
            .store(server_error(settings.lost_answer_status), Ordering::Relaxed);
        self.reset_after_rotate
            .store(settings.reset_after_rotate, Ordering::Relaxed);
        self.html_after_rotate
            .store(settings.html_after_rotate, Ordering::Relaxed);
        self.gateway_5xx_html
            .store(server_error(settings.gateway_5xx_html), Ordering::Relaxed);
        *self.extra_scope.lock().unwrap_or_else(|p| p.into_inner()) =
            Scopes::parse(settings.extra_scope.as_deref().unwrap_or_default());
    }
}

/// A 5xx status, or 0 (off) for none or anything else.
fn server_error(status: Option<u16>) -> u16 {
    status.filter(|s| (500..600).contains(s)).unwrap_or(0)
}

async fn wait(ms: u64) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// The body of `POST /dev/faults`: every field left out is off.
#[derive(Default, Deserialize)]
pub struct FaultSettings {
    /// The token endpoint answers 503 `temporarily_unavailable` for this many seconds (at most
    /// an hour) of COOP's clock.
    #[serde(default)]
    unavailable_seconds: u64,
    /// Added to every token-endpoint request before it is handled (at most a minute).
    #[serde(default)]
    latency_ms: u64,
    /// Added to every token-endpoint request after it is handled, before the answer is sent
    /// (at most a minute).
    #[serde(default)]
    answer_delay_ms: u64,
    /// The token endpoint answers `200 text/html` and does nothing.
    #[serde(default)]
    unreadable_answer: bool,
    /// The token endpoint does the work (a refresh rotates), then answers this 5xx with no
    /// body, as a gateway that lost the answer would (e.g. 502, 504).
    #[serde(default)]
    lost_answer_status: Option<u16>,
    /// A refresh is done and committed, then the connection is cut mid-answer (`200`,
    /// `application/json`, a few bytes of the body, then the end). Refreshes only.
    #[serde(default)]
    reset_after_rotate: bool,
    /// A refresh is done and committed, then answered `200 text/html` (a proxy's error page).
    /// Refreshes only.
    #[serde(default)]
    html_after_rotate: bool,
    /// Refreshes are not done but answered this 5xx with an HTML page (a gateway in front of a
    /// provider that is down). Refreshes only.
    #[serde(default)]
    gateway_5xx_html: Option<u16>,
    /// Space-separated scopes every code and refresh answer reports as granted besides the
    /// real ones, and puts in its access token (e.g. `"offline_access"`).
    #[serde(default)]
    extra_scope: Option<String>,
    /// The egg API answers this 5xx (with `{"error": "server_error"}`) to every request.
    #[serde(default)]
    api_status: Option<u16>,
    /// For this many seconds (at most an hour) of COOP's clock; 0: until cleared.
    #[serde(default)]
    api_status_seconds: u64,
}

pub async fn set(State(coop): State<SharedCoop>, Json(settings): Json<FaultSettings>) -> StatusCode {
    coop.faults.set(&settings, &coop.clock);
    tracing::warn!(
        settings.unavailable_seconds,
        settings.latency_ms,
        settings.answer_delay_ms,
        settings.unreadable_answer,
        settings.lost_answer_status,
        settings.reset_after_rotate,
        settings.html_after_rotate,
        settings.gateway_5xx_html,
        extra_scope = settings.extra_scope.as_deref().unwrap_or_default(),
        settings.api_status,
        settings.api_status_seconds,
        "token endpoint and API faults set"
    );
    StatusCode::NO_CONTENT
}

pub async fn clear(State(coop): State<SharedCoop>) -> StatusCode {
    coop.faults.set(&FaultSettings::default(), &coop.clock);
    StatusCode::NO_CONTENT
}
