//! The server's HTTP edges: what every connection, request and response passes through outside
//! the routes. Built from tower-http and hyper; this module only chooses and orders them.
//!
//! | where | what | answer |
//! | --- | --- | --- |
//! | [`serve`] (accept loop) | `TCP_NODELAY` on every accepted socket; hyper's header read timeout (`TOPCLUCK_HEADER_READ_TIMEOUT_MS`, also the idle keep-alive limit) | the connection is closed |
//! | [`outside_session`] | `Cookie`, `Authorization`, `Proxy-Authorization` and `Set-Cookie` marked sensitive, around request tracing (`TraceLayer`), so no header value that is a credential reaches a log | — |
//! | [`outside_session`] | inside the request's span, the one log line of an error answer, with its causes ([`crate::error::log_failures`]) | — |
//! | [`outside_session`] | `Cache-Control: no-store` on every response that sets a cookie or is a page or JSON (personal data), whatever was there, and without the headers that let a shared cache keep it anyway (`Expires`, `CDN-Cache-Control` and other RFC 9213 targeted fields, `Surrogate-Control`); `Vary: Cookie` on pages and JSON; static assets stay cacheable | — |
//! | [`outside_session`] | an error the session layer answered on its own (tower-sessions answers a failed save with a bare 500) | `{"error":"internal"}` |
//! | [`inside_session`] | a request timeout (`TOPCLUCK_REQUEST_TIMEOUT_MS`) and a request-body timeout (`TOPCLUCK_BODY_TIMEOUT_MS`, between chunks) | 504 / 408 `{"error":"timeout"}` |
//! | [`api_body_limit`] (on `/api`) | request bodies up to [`API_BODY_LIMIT`] bytes | 413 `{"error":"payload_too_large"}` |
//! | [`bff_body_limit`] (on `/bff`) | request bodies up to [`BFF_BODY_LIMIT`] bytes | 413 `{"error":"payload_too_large"}` |
//!
//! The timeouts sit inside the session layer, so a request cut short still carries the cookie a
//! renewal wrote. Answers made by these layers (tower-http's bare 408/413/504, or a body error
//! they caused inside a handler) are replaced with the BFF's one error shape, [`BffError`]'s
//! `{"error","message"}`: the handler's own answers carry a marker, so an upstream's 413 or 504
//! passing through the proxy is left alone. An error answer without the marker at the outer
//! edge was made between the two stacks — by the session layer — and is replaced the same way.
//! This module only finds such answers ([`BffError::Layer`] with their status, or the body
//! fault met); what each is answered with is decided in [`crate::error`].

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::Route;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;
use tower::ServiceExt;
use tower::util::BoxCloneSyncServiceLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::{SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use crate::error::BffError;
use crate::settings::Timeouts;

/// The largest request body `/api` accepts, in bytes (the egg API takes small JSON). A body
/// declared larger (`Content-Length`) is refused before the upstream is contacted; a chunked
/// one is cut off at the limit.
pub const API_BODY_LIMIT: usize = 1024 * 1024;
/// The largest request body `/bff` accepts, in bytes: its endpoints take a few short strings.
pub const BFF_BODY_LIMIT: usize = 64 * 1024;
// The timeouts (header read, request body, request) are settings: `crate::settings::timeouts`,
// where they are checked to nest with the outbound calls' and the browser's.
/// How long a shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The edge layers as one, boxed so `app()` can name them.
pub type EdgeLayer = BoxCloneSyncServiceLayer<Route, Request, Response, Infallible>;

/// What the server knows about the connection a request came on; in every request's
/// extensions. `nodelay` is read back from the socket after it is set.
#[derive(Clone, Copy, Debug)]
pub struct Connection {
    pub peer: SocketAddr,
    pub nodelay: bool,
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests in flight finish
/// (up to [`SHUTDOWN_GRACE`]). HTTP/1.1 with keep-alive; every accepted socket gets
/// `TCP_NODELAY` (responses go out in several writes — head, body, end of body — and without
/// it Nagle's algorithm holds the last one back until the client's delayed ACK, ~40 ms per
/// request on a kept-alive connection); request headers must arrive within the default header
/// read timeout ([`serve_with`] takes another).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, shutdown, Timeouts::DEFAULT.header_read).await
}

/// [`serve`] with request headers due within `header_read_timeout` (also the idle keep-alive
/// limit; `TOPCLUCK_HEADER_READ_TIMEOUT_MS`).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    header_read_timeout: Duration,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::warn!(%error, "cannot set TCP_NODELAY");
        }
        let connection = Connection {
            peer,
            nodelay: stream.nodelay().unwrap_or(false),
        };
        let service = app
            .clone()
            .map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(connection);
                request
            });
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(error) = conn.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; stopping anyway");
    }
    Ok(())
}

/// The layers outside the session layer: sensitive headers, request tracing, cache headers.
pub fn outside_session() -> EdgeLayer {
    let credentials: Arc<[HeaderName]> =
        Arc::new([header::COOKIE, header::AUTHORIZATION, header::PROXY_AUTHORIZATION]);
    BoxCloneSyncServiceLayer::new(
        ServiceBuilder::new()
            .map_response(IntoResponse::into_response)
            .layer(SetSensitiveRequestHeadersLayer::from_shared(credentials))
            .layer(
                TraceLayer::new_for_http()
                    // Method and path only: a query can hold an authorization code (`/callback`).
                    .make_span_with(|request: &Request| {
                        tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                    })
                    .on_request(|request: &Request, _: &tracing::Span| {
                        tracing::debug!(headers = ?request.headers(), "request");
                    })
                    .on_response(|response: &Response, latency: Duration, _: &tracing::Span| {
                        tracing::debug!(
                            status = response.status().as_u16(),
                            ?latency,
                            headers = ?response.headers(),
                            "response"
                        );
                    })
                    .on_failure(DefaultOnFailure::new().level(Level::WARN)),
            )
            .layer(middleware::from_fn(crate::error::log_failures))
            .layer(SetSensitiveResponseHeadersLayer::new([header::SET_COOKIE]))
            .map_response(no_store_if_private)
            .layer(SetResponseHeaderLayer::appending(
                header::VARY,
                |response: &Response| {
                    (is_personal(response) && !varies_by_cookie(response)).then_some(HeaderValue::from_static("cookie"))
                },
            ))
            .map_response(json_if_unanswered),
    )
}

/// The layers inside the session layer (so a response they make still carries the cookie):
/// the request timeout and the request-body timeout (their defaults), answering in JSON.
pub fn inside_session() -> EdgeLayer {
    inside_session_with(Timeouts::DEFAULT.request, Timeouts::DEFAULT.body)
}

/// [`inside_session`] with other timeouts (the configured ones: `crate::settings::Timeouts`).
pub fn inside_session_with(request_timeout: Duration, body_timeout: Duration) -> EdgeLayer {
    BoxCloneSyncServiceLayer::new(
        ServiceBuilder::new()
            .layer(middleware::from_fn(json_errors))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::GATEWAY_TIMEOUT,
                request_timeout,
            ))
            .layer(RequestBodyTimeoutLayer::new(body_timeout))
            .map_request(|request: hyper::Request<_>| request.map(Body::new))
            .layer(middleware::from_fn(answered)),
    )
}

/// The request-body limit for `/api` ([`API_BODY_LIMIT`]), answering in JSON.
pub fn api_body_limit() -> EdgeLayer {
    body_limit(API_BODY_LIMIT)
}

/// The request-body limit for `/bff` ([`BFF_BODY_LIMIT`]), answering in JSON.
pub fn bff_body_limit() -> EdgeLayer {
    body_limit(BFF_BODY_LIMIT)
}

/// A request-body limit of `bytes`, answering 413 in JSON.
pub fn body_limit(bytes: usize) -> EdgeLayer {
    BoxCloneSyncServiceLayer::new(
        ServiceBuilder::new()
            .layer(middleware::from_fn(json_errors))
            .layer(RequestBodyLimitLayer::new(bytes))
            .map_request(|request: hyper::Request<_>| request.map(Body::new))
            .layer(middleware::from_fn(answered)),
    )
}

/// A private response ([`is_private`]) gets `Cache-Control: no-store` in place of whatever it
/// had, and loses what would let a cache keep it regardless: `Expires` (HTTP/1.0 caches ignore
/// `Cache-Control`), `Surrogate-Control`, and `CDN-Cache-Control` with the other targeted
/// fields of RFC 9213 (`*-CDN-Cache-Control`), which the CDNs that read them put before
/// `Cache-Control`.
fn no_store_if_private(mut response: Response) -> Response {
    if !is_private(&response) {
        return response;
    }
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.remove(header::EXPIRES);
    let for_caches: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str() == "surrogate-control" || name.as_str().ends_with("cdn-cache-control"))
        .cloned()
        .collect();
    for name in for_caches {
        headers.remove(name);
    }
    response
}

/// An error answered without the marker of [`answered`]: made outside the routes and the inner
/// edges, by the session layer (a failed save is a bare 500). Replaced with [`BffError`]'s JSON
/// for its status ([`BffError::Layer`]), keeping the cookies it sets.
fn json_if_unanswered(response: Response) -> Response {
    let status = response.status();
    if response.extensions().get::<Answered>().is_some()
        || !(status.is_client_error() || status.is_server_error())
    {
        return response;
    }
    let mut json = BffError::Layer(status).into_response();
    for cookie in response.headers().get_all(header::SET_COOKIE) {
        json.headers_mut().append(header::SET_COOKIE, cookie.clone());
    }
    json
}

/// Whether a response must not be stored by any cache: it sets a cookie, or it is personal.
fn is_private(response: &Response) -> bool {
    response.headers().contains_key(header::SET_COOKIE) || is_personal(response)
}

/// Pages (rendered with the session) and JSON (the BFF's answers, the proxied API's): personal
/// data. Static assets (scripts, WASM, styles, images) are not.
fn is_personal(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|mime| mime == "text/html" || mime == "application/json" || mime.ends_with("+json"))
}

fn varies_by_cookie(response: &Response) -> bool {
    response
        .headers()
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("cookie") || v.trim() == "*")
}

/// The answer came from inside the edge layers (a handler), not from one of them.
#[derive(Clone, Copy)]
struct Answered;

/// Why a request body failed, noted by the body itself for [`json_errors`].
#[derive(Clone, Copy, Debug)]
enum BodyFault {
    TooLarge,
    TooSlow,
}

#[derive(Clone, Default)]
struct BodyFaultSlot(Arc<OnceLock<BodyFault>>);

/// Outermost in each edge stack: turns what the layers inside it answered on their own (and
/// handler answers to a body they cut short) into [`BffError`]'s JSON.
async fn json_errors(mut request: Request, next: Next) -> Response {
    let slot = request
        .extensions()
        .get::<BodyFaultSlot>()
        .cloned()
        .unwrap_or_default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    let error = match slot.0.get() {
        Some(BodyFault::TooLarge) => Some(BffError::PayloadTooLarge),
        Some(BodyFault::TooSlow) => Some(BffError::RequestTimeout),
        None if response.extensions().get::<Answered>().is_some() => None,
        // What the limit and timeout layers answer on their own.
        None => matches!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT
        )
        .then(|| BffError::Layer(response.status())),
    };
    let mut response = match error {
        Some(error) => error.into_response(),
        None => response,
    };
    response.extensions_mut().insert(Answered);
    response
}

/// Innermost in each edge stack: marks the handler's answer, and has the request body note a
/// limit or timeout error it meets for [`json_errors`].
async fn answered(request: Request, next: Next) -> Response {
    use axum::body::HttpBody as _;
    let slot = request.extensions().get::<BodyFaultSlot>().cloned();
    let request = match slot {
        Some(slot) if !request.body().is_end_stream() => request.map(|body| {
            Body::new(body.map_err(move |error: axum::Error| {
                if let Some(fault) = body_fault(&error) {
                    let _ = slot.0.set(fault);
                }
                error
            }))
        }),
        _ => request,
    };
    let mut response = next.run(request).await;
    response.extensions_mut().insert(Answered);
    response
}

fn body_fault(error: &(dyn std::error::Error + 'static)) -> Option<BodyFault> {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<http_body_util::LengthLimitError>() {
            return Some(BodyFault::TooLarge);
        }
        if error.is::<tower_http::timeout::TimeoutError>() {
            return Some(BodyFault::TooSlow);
        }
        current = error.source();
    }
    None
}
