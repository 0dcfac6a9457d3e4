//! How much the BFF takes on at once: `/api` requests worked on ([`crate::admission`]),
//! requests in flight (so connections) to the API and to the provider ([`crate::upstream`]),
//! how long a request queues for either, and HTTP/2 to the API in clear text.

use std::time::Duration;

use coop::config_error::Problems;

use super::values::Vars;
use crate::upstream::Http2;

pub(super) const VARIABLES: &[&str] = &[
    "TOPCLUCK_API_MAX_IN_FLIGHT",
    "TOPCLUCK_API_MAX_CONNECTIONS",
    "TOPCLUCK_PROVIDER_MAX_CONNECTIONS",
    "TOPCLUCK_UPSTREAM_QUEUE_MS",
    "TOPCLUCK_API_HTTP2",
];

/// The defaults: enough for thousands of requests a second at the API's usual latency, and
/// a provider that is asked far less often.
pub const API_MAX_CONNECTIONS: u64 = 64;
pub const PROVIDER_MAX_CONNECTIONS: u64 = 16;
pub const QUEUE: Duration = Duration::from_secs(3);

/// This section's settings (see [`super::Settings`]).
#[derive(Clone, Debug)]
pub struct Limits {
    /// `/api` requests worked on at once; the rest wait at the edge ([`crate::admission`]).
    /// Twice the API's connections unless set: as many again as are sending, to be opening
    /// their sessions or renewing meanwhile.
    pub api_in_flight: usize,
    pub api_connections: usize,
    pub provider_connections: usize,
    pub queue: Duration,
    pub api_http2: Http2,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            api_in_flight: 2 * API_MAX_CONNECTIONS as usize,
            api_connections: API_MAX_CONNECTIONS as usize,
            provider_connections: PROVIDER_MAX_CONNECTIONS as usize,
            queue: QUEUE,
            api_http2: Http2::Negotiated,
        }
    }
}

pub(super) fn read(vars: &Vars<'_>, problems: &mut Problems) -> Limits {
    let mut connections = |name: &'static str, default: u64| match problems.check(vars.number(name, default))
    {
        Some(0) => {
            problems.add(name, "must be at least 1");
            default
        }
        Some(n) => n.min(100_000),
        None => default,
    };
    let api_connections = connections("TOPCLUCK_API_MAX_CONNECTIONS", API_MAX_CONNECTIONS) as usize;
    let api_in_flight = connections("TOPCLUCK_API_MAX_IN_FLIGHT", 2 * api_connections as u64) as usize;
    let provider_connections =
        connections("TOPCLUCK_PROVIDER_MAX_CONNECTIONS", PROVIDER_MAX_CONNECTIONS) as usize;
    let queue = problems
        .check(vars.millis("TOPCLUCK_UPSTREAM_QUEUE_MS", QUEUE))
        .unwrap_or(QUEUE);
    let api_http2 = match vars.get("TOPCLUCK_API_HTTP2") {
        None | Some("negotiated") => Http2::Negotiated,
        Some("prior-knowledge") => Http2::PriorKnowledge,
        Some(other) => {
            problems.add(
                "TOPCLUCK_API_HTTP2",
                format!("{other:?} is neither \"negotiated\" (HTTP/2 where TLS offers it) nor \"prior-knowledge\" (the API speaks HTTP/2 in clear text)"),
            );
            Http2::Negotiated
        }
    };
    Limits {
        api_in_flight,
        api_connections,
        provider_connections,
        queue,
        api_http2,
    }
}
