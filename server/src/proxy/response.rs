//! The upstream's answer as the browser gets it: status, the headers that may cross
//! ([`super::headers::downstream_response`]), and the body, streamed.
//!
//! The upstream's `Content-Length` is kept, so hyper sends a sized body rather than re-chunking
//! it (one write fewer per response, and the browser knows the size). Proxied answers carry
//! personal data fetched with the session's token: whatever the upstream said about caching,
//! they are `Cache-Control: no-store` and vary by `Cookie`.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures_util::StreamExt;

use super::headers;

/// The upstream's answer, streamed back; `permit` (a request in flight to the API) is given back
/// when the body has been sent or dropped.
pub(super) fn downstream((response, permit): super::Answer) -> Response {
    let status = response.status();
    let mut headers = headers::downstream_response(response.headers());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.append(header::VARY, HeaderValue::from_static("cookie"));
    let body = response.bytes_stream().map(move |chunk| {
        let _in_flight = &permit;
        chunk
    });
    let mut out = Response::new(Body::from_stream(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}
