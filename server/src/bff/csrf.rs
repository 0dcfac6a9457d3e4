//! The CSRF defence of every state-changing request (anything but GET, HEAD, OPTIONS): the
//! custom header `X-CSRF: 1`, which a cross-site form cannot send and cross-origin scripts
//! cannot send without a CORS preflight that this server never approves; and, when the browser
//! sends `Origin`, that it is this site's own.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::BffError;

pub const HEADER: &str = "x-csrf";

/// For `/bff`: checks state-changing requests only.
pub async fn require(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    require_always(request, next).await
}

/// For the `/api` proxy: checks every request, reads included (the BFF attaches the farmer's
/// access token to whatever reaches it).
pub async fn require_always(request: Request, next: Next) -> Response {
    match check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

fn check(headers: &HeaderMap) -> Result<(), BffError> {
    if headers.get(HEADER).map(|v| v.as_bytes()) != Some(b"1") {
        return Err(BffError::Csrf("missing X-CSRF: 1"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or(BffError::Csrf("no Host"))?;
        let same_origin = origin
            .to_str()
            .ok()
            .and_then(|o| url::Url::parse(o).ok())
            .is_some_and(|o| {
                matches!(o.scheme(), "http" | "https") && o.host_str().is_some() && authority(&o) == host
            });
        if !same_origin {
            return Err(BffError::Csrf("cross-origin request"));
        }
    }
    Ok(())
}

/// `host[:port]` as the browser writes it in `Host`.
fn authority(url: &url::Url) -> String {
    match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn needs_the_header_and_a_same_origin_origin() {
        assert!(check(&headers(&[("x-csrf", "1"), ("host", "127.0.0.1:3000")])).is_ok());
        assert!(
            check(&headers(&[
                ("x-csrf", "1"),
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000")
            ]))
            .is_ok()
        );
        for bad in [
            headers(&[("host", "127.0.0.1:3000")]),
            headers(&[("x-csrf", "0"), ("host", "127.0.0.1:3000")]),
            headers(&[
                ("x-csrf", "1"),
                ("host", "127.0.0.1:3000"),
                ("origin", "http://evil.example"),
            ]),
            headers(&[
                ("x-csrf", "1"),
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3001"),
            ]),
            headers(&[("x-csrf", "1"), ("host", "127.0.0.1:3000"), ("origin", "null")]),
        ] {
            assert!(check(&bad).is_err(), "{bad:?}");
        }
    }
}
