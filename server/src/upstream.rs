//! How much the BFF asks of each upstream at once — the API behind `/api` and the OpenID
//! provider: a [`Limit`] on the requests in flight to it, so on the connections it holds
//! (`TOPCLUCK_API_MAX_CONNECTIONS`, `TOPCLUCK_PROVIDER_MAX_CONNECTIONS`).
//!
//! Without one, every browser request that finds no idle connection opens a new one, and the
//! pool keeps them all: under a thousand browsers the BFF held thousands of connections to the
//! API, each with its buffers, and memory grew with them (README, "Under load"). With a limit, a
//! request beyond it waits for a permit in a queue (fair, first come first served) for at most
//! `TOPCLUCK_UPSTREAM_QUEUE_MS` (less what a browser's request already waited at the edge,
//! [`crate::admission`]), and is then answered `503 temporarily_unavailable` with
//! `Retry-After` ([`Overloaded`]) — before anything was sent, so it is always safe to retry.
//! A proxied answer holds its permit until its body has been streamed to the browser: the
//! connection is busy until then. Idle connections are kept up to the same number, and closed
//! after [`IDLE_FOR`].
//!
//! HTTP/2 is used with an upstream that offers it: over TLS by ALPN; in clear text only when
//! `TOPCLUCK_API_HTTP2=prior-knowledge` says the API speaks it (there is no negotiation
//! without TLS). Over HTTP/2 the limit bounds the streams in flight on one connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long an idle connection to an upstream is kept for reuse.
pub const IDLE_FOR: Duration = Duration::from_secs(30);

/// The BFF's upstreams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// The API behind `/api` (and the daily job's egg count).
    Api,
    /// The OpenID provider (the login's client and daily counting's together).
    Provider,
}

impl Upstream {
    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Api => "the API",
            Self::Provider => "the provider",
        }
    }

    /// Its label in the metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Provider => "provider",
        }
    }
}

/// The requests in flight to one upstream, at most `max`. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct Limit {
    permits: Arc<Semaphore>,
    max: usize,
    queue: Duration,
    upstream: Upstream,
}

/// A request that found every permit taken for the whole queue wait: nothing was sent.
#[derive(Debug, thiserror::Error)]
#[error("{}: {max} requests in flight, and none ended within {waited_ms} ms", upstream.name())]
pub struct Overloaded {
    pub upstream: Upstream,
    pub max: usize,
    pub waited_ms: u128,
}

/// One request in flight to an upstream: given back (and counted out) when dropped.
#[derive(Debug)]
pub struct Permit {
    _permit: OwnedSemaphorePermit,
    _in_flight: crate::metrics::InFlight,
}

impl Limit {
    /// At most `max` (at least 1) requests in flight to `upstream`; a request beyond waits up
    /// to `queue`.
    pub fn new(upstream: Upstream, max: usize, queue: Duration) -> Self {
        let max = max.max(1);
        Self {
            permits: Arc::new(Semaphore::new(max)),
            max,
            queue,
            upstream,
        }
    }

    /// A permit to send one request, held until its answer is done with.
    pub async fn admit(&self) -> Result<Permit, Overloaded> {
        self.admit_by(tokio::time::Instant::now() + self.queue).await
    }

    /// [`Limit::admit`] for a request that has queued for `waited` already (at the edge,
    /// [`crate::admission`]): its two waits together are at most the queue wait.
    pub async fn admit_after(&self, waited: Duration) -> Result<Permit, Overloaded> {
        self.admit_by(tokio::time::Instant::now() + self.queue.saturating_sub(waited))
            .await
    }

    async fn admit_by(&self, deadline: tokio::time::Instant) -> Result<Permit, Overloaded> {
        let started = tokio::time::Instant::now();
        match tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Permit {
                _permit: permit,
                _in_flight: crate::metrics::upstream_in_flight(self.upstream),
            }),
            // The semaphore is never closed; a timeout is the only way here.
            Ok(Err(_)) | Err(_) => {
                crate::metrics::upstream_overloaded(self.upstream);
                Err(Overloaded {
                    upstream: self.upstream,
                    max: self.max,
                    waited_ms: started.elapsed().as_millis(),
                })
            }
        }
    }

    /// The most requests in flight at once: also the idle connections kept.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.max - self.permits.available_permits()
    }
}

/// HTTP/2 to the API without TLS (`TOPCLUCK_API_HTTP2`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Http2 {
    /// Only where TLS negotiates it (ALPN); HTTP/1.1 in clear text.
    #[default]
    Negotiated,
    /// The API speaks HTTP/2 in clear text (h2c with prior knowledge).
    PriorKnowledge,
}

/// A client builder for an upstream allowed `limit.max()` requests at once: idle connections
/// kept up to that number, for [`IDLE_FOR`]; no redirects; Nagle off.
pub fn client_builder(limit: &Limit) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(limit.max())
        .pool_idle_timeout(IDLE_FOR)
        .tcp_nodelay(true)
}

/// The API's client and its limit. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct Api {
    pub client: reqwest::Client,
    pub limit: Limit,
}

impl Api {
    /// The API's client: the upstream timeouts, `limit`, HTTP/2 as `http2` says.
    pub fn new(timeouts: &crate::settings::Timeouts, limit: Limit, http2: Http2) -> Self {
        let mut builder = client_builder(&limit)
            .connect_timeout(timeouts.upstream_connect)
            .read_timeout(timeouts.upstream_read)
            .timeout(timeouts.upstream);
        if http2 == Http2::PriorKnowledge {
            builder = builder.http2_prior_knowledge();
        }
        Self {
            client: builder.build().expect("a reqwest client with rustls"),
            limit,
        }
    }
}

/// Whether a request to the API that failed with `error` may be sent once more on a new
/// connection: only an idempotent method (GET, HEAD: RFC 9110 §9.2.2) whose connection could
/// not be made — so not one byte of it was sent. Never a POST, never after bytes were sent
/// (the API may have acted on them).
pub fn may_resend(method: &axum::http::Method, error: &reqwest::Error) -> bool {
    matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD) && error.is_connect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_beyond_the_limit_waits_for_a_permit_then_is_overloaded() {
        let limit = Limit::new(Upstream::Api, 2, Duration::from_millis(50));
        let first = limit.admit().await.unwrap();
        let _second = limit.admit().await.unwrap();
        assert_eq!(limit.in_flight(), 2);
        let refused = limit.admit().await.unwrap_err();
        assert_eq!(refused.max, 2);
        assert!(refused.to_string().contains("2 requests in flight"), "{refused}");
        // A permit given back lets the next one in.
        let waiting = tokio::spawn({
            let limit = limit.clone();
            async move { limit.admit().await.map(|_| ()) }
        });
        drop(first);
        waiting.await.unwrap().expect("admitted once a permit came back");
    }

    #[tokio::test]
    async fn only_idempotent_requests_that_never_connected_are_sent_again() {
        // A port nothing listens on: the connection is refused before any byte is sent.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let refused = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert!(may_resend(&axum::http::Method::GET, &refused));
        assert!(may_resend(&axum::http::Method::HEAD, &refused));
        for method in [
            axum::http::Method::POST,
            axum::http::Method::PUT,
            axum::http::Method::DELETE,
        ] {
            assert!(!may_resend(&method, &refused), "{method}");
        }
        // A server that takes the connection and closes it: the request was sent.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buffer = [0u8; 1024];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buffer).await;
                drop(socket);
            }
        });
        let cut = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert!(!may_resend(&axum::http::Method::GET, &cut), "{cut:?}");
    }
}
