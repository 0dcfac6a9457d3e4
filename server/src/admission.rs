//! How many `/api` requests the BFF works on at once (`TOPCLUCK_API_MAX_IN_FLIGHT`), decided
//! at the edge, before anything is done for them.
//!
//! A request the BFF works on costs far more memory than one it has not started: the session
//! opened, the cookie jar, every layer's future, the upstream request and its buffers. When the
//! API (or the machine) is slower than the browsers ask, requests pile up, and without this
//! every one of them was worked on at once, each waiting for an API connection deep inside
//! the stack: a heap profile under a thousand browsers showed about 80 KB per waiting request,
//! and the BFF's memory grew with the queue (README, "Under load"). Here a request beyond the
//! limit waits first, outside every other layer, holding only its connection's buffers and its
//! head — first come, first served — for at most `TOPCLUCK_UPSTREAM_QUEUE_MS`, then is answered
//! `503 temporarily_unavailable` with `Retry-After` ([`BffError::Overloaded`]), unread and
//! unsent: always safe to retry, and its session untouched. A request let in carries how
//! long it waited ([`Queued`]), and its wait for an API connection gets what is left of the
//! queue wait: the two waits together are one queue wait, not two.
//!
//! Only `/api/…` waits here: pages, the site's files and the BFF's own endpoints (login,
//! logout) are never queued behind a busy API.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::error::BffError;
use crate::upstream::{Overloaded, Upstream};

/// The `/api` requests worked on at once, at most `max`. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct Admission {
    permits: Arc<Semaphore>,
    max: usize,
    queue: Duration,
}

impl Admission {
    /// At most `max` (at least 1) `/api` requests at once; one beyond waits up to `queue`.
    pub fn new(max: usize, queue: Duration) -> Self {
        let max = max.max(1);
        Self {
            permits: Arc::new(Semaphore::new(max)),
            max,
            queue,
        }
    }

    /// Requests being worked on now.
    pub fn in_flight(&self) -> usize {
        self.max - self.permits.available_permits()
    }
}

/// How long an `/api` request waited at the edge, in its extensions once it is let in.
#[derive(Clone, Copy, Debug)]
pub struct Queued(pub Duration);

/// The edge layer's function (`axum::middleware::from_fn_with_state`): an `/api/` request
/// goes on once it has a permit, which it keeps until its response's head is made (the body
/// then streams under the API connection's own permit, [`crate::upstream`]).
pub async fn admit(State(admission): State<Admission>, mut request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let arrived = tokio::time::Instant::now();
    let waiting = crate::metrics::api_request_waiting();
    let permit = tokio::time::timeout_at(arrived + admission.queue, admission.permits.acquire()).await;
    drop(waiting);
    match permit {
        Ok(Ok(_permit)) => {
            request.extensions_mut().insert(Queued(arrived.elapsed()));
            next.run(request).await
        }
        // The semaphore is never closed; a timeout is the only way here.
        Ok(Err(_)) | Err(_) => {
            crate::metrics::api_request_shed();
            BffError::Overloaded(Overloaded {
                upstream: Upstream::Api,
                max: admission.max,
                waited_ms: arrived.elapsed().as_millis(),
            })
            .into_response()
        }
    }
}
