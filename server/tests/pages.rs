//! The server's routes, driven in-process with `tower::ServiceExt::oneshot`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use coop::testkit::BadInputs;
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use server::cookies::KeyRing;
use server::oidc::Provider;
use server::settings::{Secret, Settings};
use server::state::AppState;
use tower::ServiceExt;

/// The app with a provider that is never called by these pages.
fn app() -> axum::Router {
    let options = LeptosOptions::builder().output_name("topcluck").build();
    let site = url::Url::parse("http://127.0.0.1:3000").unwrap();
    let vars = [
        ("TOPCLUCK_ISSUER", "http://127.0.0.1:9"),
        ("TOPCLUCK_CLIENT_SECRET", "unused"),
        (
            "TOPCLUCK_COOKIE_KEYS",
            "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let settings = Settings::from_vars(&vars, &site, true, std::path::Path::new("unused")).unwrap();
    let keys = KeyRing::new(&settings.cookie_keys).unwrap();
    let provider = Provider::new(
        "http://127.0.0.1:9",
        "topcluck",
        Secret::new("unused"),
        "http://127.0.0.1:3000/callback",
    );
    let state = AppState::new(options, settings, provider);
    server::app(state, keys)
}

async fn get(path: &str) -> (StatusCode, String) {
    let response = app()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn healthz_answers_ok() {
    let (status, body) = get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn home_page_is_server_rendered_with_hydration_scripts() {
    let (status, body) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Count your eggs, not your logins."), "{body}");
    assert!(body.contains("<title>Home · TopCluck</title>"), "{body}");
    assert!(body.contains("/pkg/topcluck.js"), "no hydration script in {body}");
    assert!(
        body.contains(r#"aria-expanded="false""#),
        "menu not rendered closed: {body}"
    );
}

#[tokio::test]
async fn unknown_path_renders_the_404_page_with_status_404() {
    let (status, body) = get("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"), "{body}");
}

/// The nonce of a page's `Content-Security-Policy`, after checking the policy's other
/// directives.
fn page_nonce(policy: &str) -> String {
    let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
    for expected in [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(directives.contains(&expected), "{expected} missing in {policy}");
    }
    let script_src = directives
        .iter()
        .find(|d| d.starts_with("script-src "))
        .unwrap_or_else(|| panic!("no script-src in {policy}"));
    assert!(!script_src.contains("unsafe-inline"), "{policy}");
    script_src
        .split_whitespace()
        .find_map(|source| source.strip_prefix("'nonce-")?.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no nonce in {policy}"))
        .to_owned()
}

/// The `nonce` attribute of every `<script>` element in `html` (`None` for one without).
fn script_nonces(html: &str) -> Vec<Option<String>> {
    html.split("<script")
        .skip(1)
        .map(|rest| {
            let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
            let value = tag.split("nonce=\"").nth(1)?;
            Some(value[..value.find('"')?].to_owned())
        })
        .collect()
}

async fn send(request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn every_page_carries_a_policy_whose_nonce_is_on_every_script() {
    for path in ["/", "/callback", "/no/such/page"] {
        let (status, headers, body) = send(Request::get(path).body(Body::empty()).unwrap()).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::NOT_FOUND,
            "{path}: {status}"
        );
        let nonce = page_nonce(header(&headers, "content-security-policy"));
        assert!(
            nonce.len() >= 22,
            "{path}: a nonce of 128 bits or more, not {nonce:?}"
        );
        let scripts = script_nonces(&body);
        assert!(!scripts.is_empty(), "{path}: no script in {body}");
        for script in scripts {
            assert_eq!(script.as_deref(), Some(nonce.as_str()), "{path}: {body}");
        }
    }
}

#[tokio::test]
async fn two_responses_get_two_nonces() {
    let first = send(Request::get("/").body(Body::empty()).unwrap()).await.1;
    let second = send(Request::get("/").body(Body::empty()).unwrap()).await.1;
    let (first, second) = (
        page_nonce(header(&first, "content-security-policy")),
        page_nonce(header(&second, "content-security-policy")),
    );
    assert_ne!(first, second);
}

/// Bad or odd requests: each answer is below 500 with the expected status, and carries the
/// policy of what it is (a page's, with the nonce of its scripts; or nothing-loads), `nosniff`,
/// no referrer and no framing. Prints one `ROW|csp|…` line per request.
#[tokio::test]
async fn bad_requests_are_answered_with_the_browser_defences() {
    const PAGE: &str = "page CSP, nonce on every script";
    const NOT_A_PAGE: &str = "default-src 'none'; frame-ancestors 'none'";
    let rows: [(&str, &str, u16, &str); 10] = [
        ("GET", "/no/such/page", 404, PAGE),
        ("GET", "/%3Cscript%3Ealert(1)%3C/script%3E", 404, PAGE),
        (
            "GET",
            "/callback?code=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=x",
            200,
            PAGE,
        ),
        ("GET", "/callback?error=access_denied&state=forged", 200, PAGE),
        ("GET", "/pkg/no-such-script.js", 404, PAGE),
        ("POST", "/", 405, NOT_A_PAGE),
        ("GET", "/callback/extra/segments", 404, PAGE),
        ("GET", "/bff/session", 401, NOT_A_PAGE),
        ("GET", "/api/eggs", 403, NOT_A_PAGE),
        ("DELETE", "/healthz", 405, NOT_A_PAGE),
    ];
    let mut table = BadInputs::default();
    for (method, path, expected_status, expected_policy) in rows {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = send(request).await;
        let policy = header(&headers, "content-security-policy");
        let seen_policy = if policy.starts_with("default-src 'self'") {
            let nonce = page_nonce(policy);
            let scripts = script_nonces(&body);
            if !scripts.is_empty() && scripts.iter().all(|s| s.as_deref() == Some(nonce.as_str())) {
                PAGE.to_owned()
            } else {
                format!("page CSP, script nonces {scripts:?} vs {nonce}")
            }
        } else if policy.is_empty() {
            "no CSP".to_owned()
        } else {
            policy.to_owned()
        };
        let defences = header(&headers, "x-content-type-options") == "nosniff"
            && header(&headers, "referrer-policy") == "no-referrer"
            && header(&headers, "x-frame-options") == "DENY";
        let reflected = body.contains("<script>alert");
        let expected = format!("{expected_status}, {expected_policy}, nosniff+no-referrer+DENY");
        let seen = format!(
            "{}, {seen_policy}, {}{}",
            status.as_u16(),
            if defences {
                "nosniff+no-referrer+DENY"
            } else {
                "defence headers missing"
            },
            if reflected { ", SCRIPT REFLECTED" } else { "" }
        );
        assert!(status.as_u16() < 500, "{method} {path}: {status} {body}");
        table.row("csp", &format!("{method} {path}"), &expected, &seen, status);
    }
    table.finish();
}

#[tokio::test]
async fn answers_that_are_not_pages_allow_nothing_to_load() {
    let (status, headers, _) = send(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&headers, "content-security-policy"),
        "default-src 'none'; frame-ancestors 'none'"
    );
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
}
