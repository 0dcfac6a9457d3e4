//! The CSRF defence of every state-changing request (anything but GET, HEAD, OPTIONS): the
//! custom header `X-CSRF: 1`, which a cross-site form cannot send and cross-origin scripts
//! cannot send without a CORS preflight that this server never approves; every `Origin` header
//! the browser sends must be TopCluck's public origin (`TOPCLUCK_PUBLIC_ORIGIN`), scheme and
//! port included — never compared with the request's own `Host`, which the client writes; and
//! `Sec-Fetch-Site`, when the browser sends it, must be `same-origin`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::BffError;
use crate::state::AppState;

pub const HEADER: &str = "x-csrf";

/// For `/bff`: checks state-changing requests only.
pub async fn require(state: State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    require_always(state, request, next).await
}

/// For the `/api` proxy: checks every request, reads included (the BFF attaches the farmer's
/// access token to whatever reaches it).
pub async fn require_always(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match check(request.headers(), &state.settings.public_origin) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// `public_origin` is serialized as browsers write `Origin` (lower-case scheme and host, no
/// default port, no trailing slash).
fn check(headers: &HeaderMap, public_origin: &str) -> Result<(), BffError> {
    if headers.get(HEADER).map(|v| v.as_bytes()) != Some(b"1") {
        return Err(BffError::Csrf("missing X-CSRF: 1"));
    }
    if headers
        .get_all(header::ORIGIN)
        .iter()
        .any(|origin| !origin.as_bytes().eq_ignore_ascii_case(public_origin.as_bytes()))
    {
        return Err(BffError::Csrf("cross-origin request"));
    }
    if headers
        .get_all("sec-fetch-site")
        .iter()
        .any(|site| site.as_bytes() != b"same-origin")
    {
        return Err(BffError::Csrf("Sec-Fetch-Site is not same-origin"));
    }
    Ok(())
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

    const ORIGIN: &str = "http://127.0.0.1:3000";

    #[test]
    fn needs_the_header_and_the_public_origin() {
        for good in [
            headers(&[("x-csrf", "1"), ("host", "127.0.0.1:3000")]),
            headers(&[("x-csrf", "1"), ("origin", "http://127.0.0.1:3000")]),
            headers(&[
                ("x-csrf", "1"),
                ("origin", "http://127.0.0.1:3000"),
                ("sec-fetch-site", "same-origin"),
            ]),
        ] {
            assert!(check(&good, ORIGIN).is_ok(), "{good:?}");
        }
        let mut two_origins = headers(&[("x-csrf", "1"), ("origin", "http://127.0.0.1:3000")]);
        two_origins.append("origin", "http://evil.example".parse().unwrap());
        for bad in [
            headers(&[("host", "127.0.0.1:3000")]),
            headers(&[("x-csrf", "0"), ("host", "127.0.0.1:3000")]),
            headers(&[("x-csrf", "1"), ("origin", "http://evil.example")]),
            headers(&[("x-csrf", "1"), ("origin", "http://127.0.0.1:3001")]),
            headers(&[("x-csrf", "1"), ("origin", "https://127.0.0.1:3000")]),
            headers(&[("x-csrf", "1"), ("origin", "null")]),
            // The client writes Host: matching it proves nothing.
            headers(&[
                ("x-csrf", "1"),
                ("host", "evil.example"),
                ("origin", "http://evil.example"),
            ]),
            headers(&[("x-csrf", "1"), ("sec-fetch-site", "same-site")]),
            headers(&[("x-csrf", "1"), ("sec-fetch-site", "cross-site")]),
            two_origins,
        ] {
            assert!(check(&bad, ORIGIN).is_err(), "{bad:?}");
        }
    }
}
