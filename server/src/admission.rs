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
//! long it waited ([`Admitted`]), and its wait for an API connection gets what is left of the
//! queue wait: the two waits together are one queue wait, not two.
//!
//! A request that must wait for its session's token refresh trades its place for one of as
//! many places for requests waiting on a refresh ([`step_aside`]): a slow or failing provider
//! then holds up only the requests that need it, not those of sessions whose tokens are fresh
//! (they need only the API), and the requests the BFF holds in full stay bounded (twice the
//! limit) however slow the refreshes get.
//!
//! Only `/api/…` waits here: pages, the site's files and the BFF's own endpoints (login,
//! logout) are never queued behind a busy API.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::BffError;
use crate::upstream::{Overloaded, Upstream};

/// The `/api` requests worked on at once, at most `max`. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct Admission {
    permits: Arc<Semaphore>,
    renewing: Arc<Semaphore>,
    max: usize,
    queue: Duration,
}

impl Admission {
    /// At most `max` (at least 1) `/api` requests at once; one beyond waits up to `queue`.
    pub fn new(max: usize, queue: Duration) -> Self {
        let max = max.max(1);
        Self {
            permits: Arc::new(Semaphore::new(max)),
            renewing: Arc::new(Semaphore::new(max)),
            max,
            queue,
        }
    }
}

/// An `/api` request let in, in its extensions: how long it waited at the edge, and its place,
/// held until its response's head is made.
#[derive(Clone, Debug)]
pub struct Admitted {
    pub queued: Duration,
    renewing: Arc<Semaphore>,
    place: Arc<std::sync::Mutex<Option<Place>>>,
}

/// Which place a request holds.
#[derive(Debug)]
enum Place {
    Working(#[expect(dead_code, reason = "held, never read")] OwnedSemaphorePermit),
    Renewing(#[expect(dead_code, reason = "held, never read")] OwnedSemaphorePermit),
}

impl Admitted {
    fn place(&self) -> std::sync::MutexGuard<'_, Option<Place>> {
        self.place.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Before a request waits for its session's token refresh (which a slow provider can stretch
/// to the refresh wait): it takes a place among those waiting on a refresh — keeping its
/// working place until it has one — then gives its working place back. Once per request; a
/// request that did not come through the edge goes on at once.
pub async fn step_aside(extensions: &axum::http::Extensions) {
    let Some(admitted) = extensions.get::<Admitted>() else {
        return;
    };
    if matches!(*admitted.place(), Some(Place::Renewing(_))) {
        return;
    }
    // The semaphore is never closed.
    if let Ok(renewing) = admitted.renewing.clone().acquire_owned().await {
        *admitted.place() = Some(Place::Renewing(renewing));
    }
}

/// The edge layer's function (`axum::middleware::from_fn_with_state`): an `/api/` request
/// goes on once it has a place, which it keeps until its response's head is made (the body
/// then streams under the API connection's own permit, [`crate::upstream`]), or the place it
/// traded it for ([`step_aside`]).
/// A request dropped meanwhile (the browser went away) gives its place back with its future.
pub async fn admit(State(admission): State<Admission>, mut request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let arrived = tokio::time::Instant::now();
    let waiting = crate::metrics::api_request_waiting();
    let permit = tokio::time::timeout_at(
        arrived + admission.queue,
        admission.permits.clone().acquire_owned(),
    )
    .await;
    drop(waiting);
    match permit {
        Ok(Ok(permit)) => {
            let admitted = Admitted {
                queued: arrived.elapsed(),
                renewing: admission.renewing.clone(),
                place: Arc::new(std::sync::Mutex::new(Some(Place::Working(permit)))),
            };
            request.extensions_mut().insert(admitted.clone());
            let response = next.run(request).await;
            drop(admitted.place().take());
            response
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
