//! The browser's defences, on every response: a Content-Security-Policy, `nosniff`, no
//! referrer, no framing. The BFF keeps the tokens out of the page, so what script injected into
//! the page could still do is act as the farmer; the page's policy makes injecting it the hard
//! part.
//!
//! | response | `Content-Security-Policy` |
//! | --- | --- |
//! | a page (`text/html`) | [`Policy::for_page`]: scripts only from this origin or carrying this response's nonce (Leptos's hydration scripts get it), WASM allowed to compile (`'wasm-unsafe-eval'`), styles, images and connections only from this origin, no plugins, no `<base>`, no framing, forms post only here |
//! | anything else (JSON, the proxied API, scripts, WASM, styles, images) | [`NOT_A_PAGE`]: nothing may load, no framing (an SVG or JSON opened on its own runs nothing) |
//!
//! Every response also gets `X-Content-Type-Options: nosniff` (a JSON answer is never run as a
//! script), `Referrer-Policy: no-referrer` (the `/callback` URL carries the authorization code)
//! and `X-Frame-Options: DENY` (`frame-ancestors` for browsers that predate it).
//!
//! The nonce is fresh for every response ([`Nonce::new`]: 128 random bits). This layer puts it
//! into the request's extensions; the app's shell (`app::shell`) hands it to Leptos, whose
//! `HydrationScripts` and `AutoReload` write it on their `<script>` elements, and the same value
//! goes into the header here.
//!
//! In development under `cargo leptos watch` (`LEPTOS_ENV=DEV` and `LEPTOS_WATCH` set), the
//! page may also open the live-reload WebSocket on the reload port.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use leptos::config::{Env, LeptosOptions};
use leptos::nonce::Nonce;
use tower::util::BoxCloneSyncServiceLayer;

use crate::edges::EdgeLayer;

/// The policy of every response that is not a page.
pub const NOT_A_PAGE: &str = "default-src 'none'; frame-ancestors 'none'";

/// What pages may load.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// The live-reload port of `cargo leptos watch`, in development only.
    live_reload_port: Option<u32>,
}

impl Policy {
    /// The production policy: connections to this origin only.
    pub fn strict() -> Self {
        Self::default()
    }

    /// The policy for this server: [`Policy::strict`], plus the live-reload WebSocket when it
    /// runs in development under `cargo leptos watch` (which sets `LEPTOS_WATCH`, the variable
    /// Leptos's `AutoReload` reads).
    pub fn for_server(options: &LeptosOptions) -> Self {
        let watched = options.env == Env::DEV && std::env::var_os("LEPTOS_WATCH").is_some();
        Self {
            live_reload_port: watched.then(|| options.reload_external_port.unwrap_or(options.reload_port)),
        }
    }

    /// The `Content-Security-Policy` of a page whose scripts carry `nonce`.
    pub fn for_page(&self, nonce: &str) -> String {
        let live_reload = self
            .live_reload_port
            // The reload script connects to the page's own host name, on the reload port.
            .map(|port| format!(" ws://*:{port} wss://*:{port}"))
            .unwrap_or_default();
        format!(
            "default-src 'self'; \
             script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self'; \
             img-src 'self'; \
             connect-src 'self'{live_reload}; \
             object-src 'none'; \
             base-uri 'none'; \
             form-action 'self'; \
             frame-ancestors 'none'"
        )
    }
}

/// The layer that sets the headers above; outermost, so that every answer gets them, the
/// BFF's errors and the edges' included.
pub fn layer(options: &LeptosOptions) -> EdgeLayer {
    BoxCloneSyncServiceLayer::new(middleware::from_fn_with_state(
        Arc::new(Policy::for_server(options)),
        protect,
    ))
}

async fn protect(State(policy): State<Arc<Policy>>, mut request: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let policy = if is_page(&response) {
        // The nonce is URL-safe base64, so this never fails; if it did, the page would run no
        // script at all rather than any.
        HeaderValue::from_str(&policy.for_page(&nonce)).unwrap_or(HeaderValue::from_static(NOT_A_PAGE))
    } else {
        HeaderValue::from_static(NOT_A_PAGE)
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A page's policy is its own: one an upstream sent in report-only mode would only confuse.
    headers.remove(header::CONTENT_SECURITY_POLICY_REPORT_ONLY);
    response
}

fn is_page(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(policy: &str) -> Vec<&str> {
        policy.split(';').map(str::trim).collect()
    }

    #[test]
    fn page_policy_carries_the_nonce_and_the_hard_directives() {
        let policy = Policy::strict().for_page("abc");
        let directives = directives(&policy);
        for expected in [
            "script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "connect-src 'self'",
            "default-src 'self'",
        ] {
            assert!(directives.contains(&expected), "{expected} missing in {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(!policy.contains("ws:"), "{policy}");
    }

    #[test]
    fn live_reload_is_allowed_only_on_its_port() {
        let policy = Policy {
            live_reload_port: Some(3001),
        }
        .for_page("n");
        assert!(
            directives(&policy).contains(&"connect-src 'self' ws://*:3001 wss://*:3001"),
            "{policy}"
        );
    }

    #[test]
    fn production_never_allows_live_reload() {
        let options = LeptosOptions::builder()
            .output_name("topcluck")
            .env(Env::PROD)
            .build();
        assert!(Policy::for_server(&options).live_reload_port.is_none());
    }
}
