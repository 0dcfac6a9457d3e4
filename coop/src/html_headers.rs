//! The headers every HTML page of COOP is sent with (the login form, the logout confirmation,
//! message and error pages), added in one place to every `text/html` response:
//!
//! - `Content-Security-Policy`: nothing may load (`default-src 'none'`) but COOP's one inline
//!   style, allowed by its hash; no `<base>`; no framing (`frame-ancestors 'none'`). Forms may
//!   post to COOP (`'self'`) and — because Chrome applies `form-action` to the redirects that
//!   follow a form's submission too — to the origins of the registered `redirect_uris` and
//!   `post_logout_redirect_uris`: the login form's 303 to the client's `redirect_uri`, and the
//!   logout confirmation's 303 to its `post_logout_redirect_uri`, would be blocked otherwise.
//! - `X-Frame-Options: DENY` for browsers without `frame-ancestors`: no clickjacking of the
//!   login or logout buttons.
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (the login form's URL
//!   carries the authorization request), and `Cache-Control: no-store` unless already set.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::endpoints::page::STYLE;

/// The `Content-Security-Policy` of COOP's pages for `config`'s clients.
pub fn content_security_policy(config: &Config) -> HeaderValue {
    let style_hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    let form_targets: BTreeSet<String> = config
        .clients
        .iter()
        .flat_map(|c| c.redirect_uris.iter().chain(&c.post_logout_redirect_uris))
        .filter_map(|uri| url::Url::parse(uri).ok())
        .map(|url| url.origin())
        .filter(|origin| origin.is_tuple())
        .map(|origin| origin.ascii_serialization())
        .collect();
    let mut form_action = String::from("'self'");
    for origin in &form_targets {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{style_hash}'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    // Origins serialise to ASCII without `;` or `,`, so the value is always a valid header.
    HeaderValue::from_str(&policy).unwrap_or_else(|_| {
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
    })
}

/// Adds the page headers to a `text/html` response (middleware).
pub async fn add(State(policy): State<HeaderValue>, mut response: Response) -> Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    response
}
