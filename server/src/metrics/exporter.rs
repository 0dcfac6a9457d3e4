//! The recorder and its listener: `GET /metrics` in the Prometheus text format (exposition
//! format 0.0.4) on `TOPCLUCK_METRICS_ADDR`, a listener of its own — the public site has no
//! `/metrics`, and a deployment exposes this address only to its scraper. It has no
//! authentication of its own: bind it to loopback or a private interface.
//!
//! `metrics-exporter-prometheus` keeps the series and renders them; its own HTTP listener and
//! push gateway are left out (they would bring another hyper stack and a TLS client), so the page
//! is served by axum with the site's accept loop ([`crate::edges::serve`]). The recorder is the
//! process's (the `metrics` facade has one global recorder): it is installed once, by the first
//! [`start`], and every listener started in the process renders it.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::labels::{self, Via};
use super::{
    API_REQUESTS_SHED, API_REQUESTS_WAITING, BACKCHANNEL_LOGOUTS, BACKCHANNEL_SESSIONS_ENDED, DAILY_FARMERS,
    DAILY_LAST_RUN_AT, DAILY_LAST_RUN_FARMERS, DAILY_RUNS, LOGINS, PROVIDER_REFRESHES, PROXY_DURATION,
    PROXY_ERRORS, REFRESH_JOINS, REFRESH_UNCERTAIN, REFRESHES, RENEWALS_WAITING, STORE_CALL_DURATION,
    STORE_CALLS, STORE_RENEWAL_STATEMENTS, SUCCESSORS_SERVED, UPSTREAM_IN_FLIGHT, UPSTREAM_OVERLOADED,
    UPSTREAM_RESENT,
};

/// The proxy's latency buckets, in seconds: 1 ms to the request timeout's 30 s, finest where a
/// proxied request usually lands (a few ms) and where a refresh puts it (tens to hundreds).
pub const PROXY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The store's call buckets, in seconds: SQLite answers in tens of microseconds, PostgreSQL on
/// loopback in a few hundred; 10 s is the pool's wait for a connection.
pub const STORE_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10.0,
];

/// How often histogram samples are folded in when nobody scrapes (they are kept until then).
const UPKEEP: Duration = Duration::from_secs(5);

/// Why the metrics listener did not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("TOPCLUCK_METRICS_ADDR: cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The process's recorder, and what reads the process's own figures.
struct Installed {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Binds `addr` (`None`: nothing — no listener, no recorder), installs the recorder if this
/// process has none yet, and serves `GET /metrics` there on a task of its own. Returns the
/// address bound (port 0 becomes the one the system chose).
pub async fn start(addr: Option<SocketAddr>) -> Result<Option<SocketAddr>, MetricsError> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let listen = |source| MetricsError::Listen { addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(listen)?;
    let bound = listener.local_addr().map_err(listen)?;
    let installed = installed();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(UPKEEP);
        loop {
            ticks.tick().await;
            installed.handle.run_upkeep();
        }
    });
    let app = Router::new().route("/metrics", get(scrape));
    tokio::spawn(async move {
        if let Err(error) = crate::edges::serve(listener, app, std::future::pending()).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(Some(bound))
}

fn installed() -> &'static Installed {
    INSTALLED.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(PROXY_DURATION.into()), &PROXY_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(STORE_CALL_DURATION.into()), &STORE_BUCKETS))
            .expect("the buckets are not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed in this program");
        let process = metrics_process::Collector::default();
        process.describe();
        describe();
        register_known_series();
        Installed { handle, process }
    })
}

/// `GET /metrics`: the process's figures read now, then every series.
async fn scrape() -> impl IntoResponse {
    let installed = installed();
    installed.process.collect();
    (
        [
            (header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        installed.handle.render(),
    )
}

/// Each metric's `# HELP` line (the module doc's table, shortened).
fn describe() {
    describe_counter!(
        REFRESHES,
        "Refreshes the browser sessions' renewal ran (one per single flight), by outcome."
    );
    describe_counter!(
        PROVIDER_REFRESHES,
        "Refresh requests sent to the provider's token endpoint, by its answer."
    );
    describe_counter!(
        REFRESH_UNCERTAIN,
        "Refreshes whose answer was not fully received, by how introspection settled them."
    );
    describe_counter!(
        REFRESH_JOINS,
        "Refreshes joined instead of started: on this instance (memory) or another's (store)."
    );
    describe_counter!(
        SUCCESSORS_SERVED,
        "Already-renewed refresh tokens given the newer tokens instead of a refresh, by where they were remembered."
    );
    describe_gauge!(RENEWALS_WAITING, "Requests waiting for a refresh now.");
    describe_histogram!(
        PROXY_DURATION,
        metrics::Unit::Seconds,
        "/api requests, until the response head, by the upstream's status class or bff_error."
    );
    describe_counter!(
        PROXY_ERRORS,
        "/api requests the BFF answered with its own error, by error code."
    );
    describe_counter!(
        LOGINS,
        "POST /bff/login (logins and counting consents), by outcome."
    );
    describe_counter!(DAILY_RUNS, "Passes of the daily egg count.");
    describe_counter!(
        DAILY_FARMERS,
        "Farmers' results in the daily egg count, over all passes."
    );
    describe_gauge!(
        DAILY_LAST_RUN_FARMERS,
        "Farmers' results in the last pass of the daily egg count."
    );
    describe_gauge!(
        DAILY_LAST_RUN_AT,
        metrics::Unit::Seconds,
        "When the last pass of the daily egg count ended (Unix seconds)."
    );
    describe_counter!(
        STORE_CALLS,
        "Calls to the store's database (a statement or a transaction), by the module that made them."
    );
    describe_histogram!(
        STORE_CALL_DURATION,
        metrics::Unit::Seconds,
        "Duration of calls to the store's database, connection wait included."
    );
    describe_counter!(
        STORE_RENEWAL_STATEMENTS,
        "Statements the renewal path sent to the store."
    );
    describe_gauge!(
        API_REQUESTS_WAITING,
        "/api requests waiting at the edge now, beyond TOPCLUCK_API_MAX_IN_FLIGHT."
    );
    describe_counter!(
        API_REQUESTS_SHED,
        "/api requests answered 503 unread after the whole queue wait at the edge."
    );
    describe_gauge!(UPSTREAM_IN_FLIGHT, "Requests in flight to each upstream now.");
    describe_counter!(
        UPSTREAM_OVERLOADED,
        "Requests refused unsent: the upstream had no permit free for the whole queue wait."
    );
    describe_counter!(
        UPSTREAM_RESENT,
        "GET or HEAD requests to the API sent once more because their connection could not be made."
    );
    describe_counter!(BACKCHANNEL_LOGOUTS, "Back-channel logout requests, by outcome.");
    describe_counter!(
        BACKCHANNEL_SESSIONS_ENDED,
        "Sessions ended by back-channel logouts."
    );
}

/// The series with a closed label set, at 0: they exist before their first event.
fn register_known_series() {
    for outcome in labels::REFRESH_OUTCOMES {
        counter!(REFRESHES, "outcome" => outcome).increment(0);
    }
    for answer in labels::PROVIDER_ANSWERS {
        counter!(PROVIDER_REFRESHES, "answer" => answer).increment(0);
    }
    for settled in labels::SETTLED {
        counter!(REFRESH_UNCERTAIN, "settled" => settled).increment(0);
    }
    for via in Via::ALL {
        counter!(REFRESH_JOINS, "via" => via).increment(0);
        counter!(SUCCESSORS_SERVED, "from" => via).increment(0);
    }
    gauge!(RENEWALS_WAITING).increment(0.0);
    for outcome in labels::LOGIN_OUTCOMES {
        counter!(LOGINS, "outcome" => outcome).increment(0);
    }
    counter!(DAILY_RUNS).increment(0);
    for outcome in labels::DAILY_OUTCOMES {
        counter!(DAILY_FARMERS, "outcome" => outcome).increment(0);
    }
    counter!(STORE_RENEWAL_STATEMENTS).increment(0);
    gauge!(API_REQUESTS_WAITING).increment(0.0);
    counter!(API_REQUESTS_SHED).increment(0);
    for upstream in ["api", "provider"] {
        gauge!(UPSTREAM_IN_FLIGHT, "upstream" => upstream).increment(0.0);
        counter!(UPSTREAM_OVERLOADED, "upstream" => upstream).increment(0);
    }
    counter!(UPSTREAM_RESENT).increment(0);
    for outcome in ["accepted", "refused", "failed"] {
        counter!(BACKCHANNEL_LOGOUTS, "outcome" => outcome).increment(0);
    }
    counter!(BACKCHANNEL_SESSIONS_ENDED).increment(0);
}
