//! What an operator can watch: the BFF's metrics in the Prometheus text format, served on a
//! listener of their own ([`exporter`], `TOPCLUCK_METRICS_ADDR`), never on the public site.
//! Unset: no listener and no recorder — every function below is then a no-op of a few
//! nanoseconds (the `metrics` facade's default recorder).
//!
//! Every metric is named here once, and recorded through one small function, so each call site
//! is one line. Labels are closed sets of static strings ([`labels`]): never a token, a cookie,
//! a subject, a path or an error's text.
//!
//! | metric | type | labels | meaning |
//! | --- | --- | --- | --- |
//! | `topcluck_refreshes_total` | counter | `outcome`: `renewed`, `ended`, `stale_copy`, `unavailable`, `misconfigured`, `bad_answer` | refreshes the browser sessions' renewal ran (one per single flight), by what came of it — from the provider or from an outcome already committed in the store |
//! | `topcluck_provider_refreshes_total` | counter | `answer`: `tokens`, `refused`, `unavailable`, `answer_lost`, `misconfigured`, `bad_answer` | refresh requests actually sent to the provider's token endpoint, by its answer |
//! | `topcluck_refresh_uncertain_total` | counter | `settled`: `active`, `rotation_lost`, `grace_retry`, `no_introspection`, `unknown` | refreshes whose answer was not fully received, by how introspection settled them (`crate::renewal::committed`) |
//! | `topcluck_refresh_joins_total` | counter | `via`: `memory`, `store` | a request that joined a refresh already in flight on this instance (`memory`), or a refresh that waited for another instance's and took its committed outcome (`store`) |
//! | `topcluck_successors_served_total` | counter | `from`: `memory`, `store` | a cookie whose refresh token was already renewed, given the newer tokens instead of presenting it again: from this instance's successor cache, or from the store's committed chain |
//! | `topcluck_renewals_waiting` | gauge | — | requests waiting for a refresh right now |
//! | `topcluck_proxy_request_duration_seconds` | histogram | `class`: `1xx`…`5xx` (the upstream's status, passed through), `bff_error` (the BFF answered itself) | `/api` requests that reached the proxy, from the handler's start until the response's head (the body then streams) |
//! | `topcluck_proxy_errors_total` | counter | `error`: the BFF's error code (`reauthentication_required`, `temporarily_unavailable`, `bad_gateway`, …) | `/api` requests the BFF answered with its own error |
//! | `topcluck_logins_total` | counter | `outcome`: `succeeded`, `not_started`, `bad_request`, `throttled`, `refused_*` (eight reasons), `code_refused`, `id_token_invalid`, `provider_unavailable`, `client_misconfigured`, `provider_bad_answer`, `session_too_large`, `counting_not_configured`, `internal` | `POST /bff/login` (logins, and daily counting's consents), by outcome |
//! | `topcluck_daily_count_runs_total` | counter | — | passes of the daily job that went through the farmers |
//! | `topcluck_daily_count_farmers_total` | counter | `outcome`: `counted`, `needs_consent`, `retry_later`, `failed`, `skipped`, `busy` | farmers' results, over all passes |
//! | `topcluck_daily_count_last_run_farmers` | gauge | `outcome` (as above) | the last pass's farmers, by result |
//! | `topcluck_daily_count_last_run_timestamp_seconds` | gauge | — | when the last pass ended (Unix seconds, the BFF's clock) |
//! | `topcluck_store_calls_total` | counter | `area`: the store module that called (`successors`, `sessions`, `outbox`, `grants`, `history`, `status`, `reencrypt`, `store`, `pool`) | calls to the store's database: one statement, or one transaction |
//! | `topcluck_store_call_duration_seconds` | histogram | `area` (as above) | their duration, waiting for a pooled connection included |
//! | `topcluck_store_renewal_statements_total` | counter | — | statements the renewal path sent (successors and leases; a transaction's `BEGIN` and `COMMIT` included): the store's round trips per refresh |
//! | `topcluck_api_requests_waiting` | gauge | — | `/api` requests waiting at the edge now, beyond `TOPCLUCK_API_MAX_IN_FLIGHT` ([`crate::admission`]) |
//! | `topcluck_api_requests_shed_total` | counter | — | `/api` requests that waited the whole queue wait at the edge, answered 503 unread |
//! | `topcluck_upstream_in_flight` | gauge | `upstream`: `api`, `provider` | requests in flight to it now ([`crate::upstream`]: at most its `TOPCLUCK_*_MAX_CONNECTIONS`) |
//! | `topcluck_upstream_overloaded_total` | counter | `upstream` (as above) | requests that found every permit taken for the whole queue wait, answered 503 unsent |
//! | `topcluck_upstream_resent_total` | counter | — | GET or HEAD requests to the API sent once more because their connection could not be made |
//! | `topcluck_backchannel_logouts_total` | counter | `outcome`: `accepted`, `refused`, `failed` | `POST /bff/backchannel-logout`: a logout token acted on, refused (400 `invalid_request`), or valid but not carried out (the store failed) |
//! | `topcluck_backchannel_sessions_ended_total` | counter | — | TopCluck sessions ended by those logouts |
//! | `process_*` | | — | CPU seconds, resident and virtual memory, open and maximum file descriptors, threads, start time (the `metrics-process` crate, read on each scrape) |
//!
//! Counters and gauges with a closed label set are registered at 0 when the recorder is
//! installed, so a series exists (and `rate()` works) before its first event; the proxy's and
//! the store's series appear with their first request.

pub mod exporter;
mod labels;

use std::time::Instant;

use metrics::{counter, gauge, histogram};

pub use exporter::{MetricsError, start};
pub use labels::Via;

pub const REFRESHES: &str = "topcluck_refreshes_total";
pub const PROVIDER_REFRESHES: &str = "topcluck_provider_refreshes_total";
pub const REFRESH_UNCERTAIN: &str = "topcluck_refresh_uncertain_total";
pub const REFRESH_JOINS: &str = "topcluck_refresh_joins_total";
pub const SUCCESSORS_SERVED: &str = "topcluck_successors_served_total";
pub const RENEWALS_WAITING: &str = "topcluck_renewals_waiting";
pub const PROXY_DURATION: &str = "topcluck_proxy_request_duration_seconds";
pub const PROXY_ERRORS: &str = "topcluck_proxy_errors_total";
pub const LOGINS: &str = "topcluck_logins_total";
pub const DAILY_RUNS: &str = "topcluck_daily_count_runs_total";
pub const DAILY_FARMERS: &str = "topcluck_daily_count_farmers_total";
pub const DAILY_LAST_RUN_FARMERS: &str = "topcluck_daily_count_last_run_farmers";
pub const DAILY_LAST_RUN_AT: &str = "topcluck_daily_count_last_run_timestamp_seconds";
pub const STORE_CALLS: &str = "topcluck_store_calls_total";
pub const STORE_CALL_DURATION: &str = "topcluck_store_call_duration_seconds";
pub const STORE_RENEWAL_STATEMENTS: &str = "topcluck_store_renewal_statements_total";
pub const API_REQUESTS_WAITING: &str = "topcluck_api_requests_waiting";
pub const API_REQUESTS_SHED: &str = "topcluck_api_requests_shed_total";
pub const UPSTREAM_IN_FLIGHT: &str = "topcluck_upstream_in_flight";
pub const UPSTREAM_OVERLOADED: &str = "topcluck_upstream_overloaded_total";
pub const UPSTREAM_RESENT: &str = "topcluck_upstream_resent_total";
pub const BACKCHANNEL_LOGOUTS: &str = "topcluck_backchannel_logouts_total";
pub const BACKCHANNEL_SESSIONS_ENDED: &str = "topcluck_backchannel_sessions_ended_total";

/// A refresh the renewal ran, by its outcome ([`crate::renewal::Outcome`]).
pub fn refresh(outcome: &crate::renewal::Outcome) {
    counter!(REFRESHES, "outcome" => labels::refresh_outcome(outcome)).increment(1);
}

/// A refresh request sent to the provider, by its answer.
pub fn provider_refresh<T>(answer: &Result<T, crate::oidc::ProviderError>) {
    counter!(PROVIDER_REFRESHES, "answer" => labels::provider_answer(answer)).increment(1);
}

/// A refresh whose answer was lost, settled by `introspected` (`grace`: a reuse grace period
/// was still open).
pub fn refresh_settled(introspected: &Result<Option<bool>, crate::oidc::ProviderError>, grace: bool) {
    counter!(REFRESH_UNCERTAIN, "settled" => labels::settled(introspected, grace)).increment(1);
}

/// A refresh joined instead of started.
pub fn refresh_joined(via: Via) {
    counter!(REFRESH_JOINS, "via" => via.label()).increment(1);
}

/// A remembered successor handed out instead of a refresh.
pub fn successor_served(from: Via) {
    counter!(SUCCESSORS_SERVED, "from" => from.label()).increment(1);
}

/// Counts a request as waiting for a refresh until the guard drops (also when the request is
/// dropped while it waits).
pub fn renewal_waiting() -> Waiting {
    gauge!(RENEWALS_WAITING).increment(1.0);
    Waiting(())
}

/// See [`renewal_waiting`].
#[must_use = "the request counts as waiting until this drops"]
pub struct Waiting(());

impl Drop for Waiting {
    fn drop(&mut self) {
        gauge!(RENEWALS_WAITING).decrement(1.0);
    }
}

/// An `/api` request the proxy answered, `started` when its handler began.
pub fn proxied(started: Instant, answer: &Result<axum::response::Response, crate::error::BffError>) {
    let class = match answer {
        Ok(response) => labels::status_class(response.status().as_u16()),
        Err(error) => {
            counter!(PROXY_ERRORS, "error" => labels::error_code(error.code())).increment(1);
            labels::BFF_ERROR
        }
    };
    histogram!(PROXY_DURATION, "class" => class).record(started.elapsed().as_secs_f64());
}

/// A `POST /bff/login`'s result.
pub fn login<T>(result: &Result<T, crate::error::BffError>) {
    counter!(LOGINS, "outcome" => labels::login_outcome(result)).increment(1);
}

/// A pass of the daily job that went through its farmers, ending at `now` (Unix seconds).
pub fn daily_run(summary: &crate::counting::Summary, now: i64) {
    counter!(DAILY_RUNS).increment(1);
    let mut last_run = [0u32; labels::DAILY_OUTCOMES.len()];
    for (_, result) in &summary.farmers {
        let outcome = labels::daily_outcome(result);
        counter!(DAILY_FARMERS, "outcome" => outcome).increment(1);
        if let Some(at) = labels::DAILY_OUTCOMES.iter().position(|o| *o == outcome) {
            last_run[at] += 1;
        }
    }
    for (outcome, farmers) in labels::DAILY_OUTCOMES.iter().zip(last_run) {
        gauge!(DAILY_LAST_RUN_FARMERS, "outcome" => *outcome).set(f64::from(farmers));
    }
    gauge!(DAILY_LAST_RUN_AT).set(now as f64);
}

/// A call to the store's database from the module `module` (`module_path!()` of the caller,
/// [`crate::store::on_pool`]): counted and timed when the guard drops — also when the call
/// failed or was cut short.
pub fn store_call(module: &'static str) -> StoreCall {
    StoreCall {
        area: module.rsplit("::").next().unwrap_or(module),
        started: Instant::now(),
    }
}

/// See [`store_call`].
#[must_use = "the call is recorded when this drops"]
pub struct StoreCall {
    area: &'static str,
    started: Instant,
}

impl Drop for StoreCall {
    fn drop(&mut self) {
        counter!(STORE_CALLS, "area" => self.area).increment(1);
        histogram!(STORE_CALL_DURATION, "area" => self.area).record(self.started.elapsed().as_secs_f64());
    }
}

/// Statements the renewal path sent to the store.
pub fn store_renewal_statements(statements: u64) {
    counter!(STORE_RENEWAL_STATEMENTS).increment(statements);
}

/// Counts an `/api` request as waiting at the edge until the guard drops (also when the
/// browser goes away meanwhile).
pub fn api_request_waiting() -> EdgeWaiting {
    gauge!(API_REQUESTS_WAITING).increment(1.0);
    EdgeWaiting(())
}

/// See [`api_request_waiting`].
#[must_use = "the request counts as waiting until this drops"]
pub struct EdgeWaiting(());

impl Drop for EdgeWaiting {
    fn drop(&mut self) {
        gauge!(API_REQUESTS_WAITING).decrement(1.0);
    }
}

/// An `/api` request that waited the whole queue wait at the edge: answered 503 unread.
pub fn api_request_shed() {
    counter!(API_REQUESTS_SHED).increment(1);
}

/// A request in flight to `upstream` until the guard drops.
pub fn upstream_in_flight(upstream: crate::upstream::Upstream) -> InFlight {
    gauge!(UPSTREAM_IN_FLIGHT, "upstream" => upstream.label()).increment(1.0);
    InFlight(upstream)
}

/// See [`upstream_in_flight`].
#[derive(Debug)]
#[must_use = "the request counts as in flight until this drops"]
pub struct InFlight(crate::upstream::Upstream);

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(UPSTREAM_IN_FLIGHT, "upstream" => self.0.label()).decrement(1.0);
    }
}

/// A request refused unsent: `upstream` had no permit free for the whole queue wait.
pub fn upstream_overloaded(upstream: crate::upstream::Upstream) {
    counter!(UPSTREAM_OVERLOADED, "upstream" => upstream.label()).increment(1);
}

/// A GET or HEAD sent once more on a new connection.
pub fn upstream_resent() {
    counter!(UPSTREAM_RESENT).increment(1);
}

/// A back-channel logout's result; `ended` sessions when it was carried out.
pub fn backchannel_logout(outcome: &'static str, ended: u64) {
    counter!(BACKCHANNEL_LOGOUTS, "outcome" => outcome).increment(1);
    counter!(BACKCHANNEL_SESSIONS_ENDED).increment(ended);
}
