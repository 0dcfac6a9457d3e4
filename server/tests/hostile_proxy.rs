//! The proxy and the BFF's own endpoints against hostile input (issue 10, "The proxy"): a real
//! COOP, a real BFF and a hostile upstream API on loopback ports. The upstream records what
//! reaches it and answers with headers no browser should see from this origin.
//!
//! Every case is a row of one table — the request, the answer expected, the answer seen — printed
//! as `ROW|<area>|<request>|<expected>|<seen>` (`cargo test -p server --test hostile_proxy --
//! --nocapture`). Every row asserts a status below 500; each table test ends by asserting that
//! every row held and that nothing panicked.

mod support;

use std::cell::Cell;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse;
use axum::routing::any;
use coop::RefreshTokenMode;
use serde_json::Value;
use support::*;

// ---------------------------------------------------------------------------------------------
// The hostile upstream.

/// A request as the upstream received it.
#[derive(Clone, Debug)]
struct Received {
    method: Method,
    /// Path and query, as sent.
    target: String,
    headers: HeaderMap,
}

#[derive(Clone, Default)]
struct Upstream {
    base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Upstream {
    fn hits(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    fn last(&self) -> Received {
        self.received
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request reached the upstream")
    }
}

/// What the hostile upstream adds to every answer.
const HOSTILE_ANSWER: [(&str, &str); 12] = [
    (
        "set-cookie",
        "__Host-topcluck=forged-by-the-upstream; Path=/; Secure; HttpOnly",
    ),
    ("set-cookie", "tracker=1; Path=/"),
    ("access-control-allow-origin", "*"),
    ("access-control-allow-credentials", "true"),
    ("clear-site-data", "\"cookies\", \"storage\""),
    ("cache-control", "public, max-age=3600"),
    ("cdn-cache-control", "public, max-age=3600"),
    ("surrogate-control", "max-age=3600"),
    ("strict-transport-security", "max-age=63072000; includeSubDomains"),
    ("alt-svc", "h2=\":8443\"; ma=86400"),
    ("connection", "x-upstream-hop"),
    ("x-upstream-hop", "a hop-by-hop header, named by Connection"),
];

async fn hostile_upstream() -> Upstream {
    let listener = listener().await;
    let mut upstream = Upstream {
        base: format!("http://{}", listener.local_addr().unwrap()),
        ..Upstream::default()
    };
    let seen = upstream.clone();
    let app = Router::new().fallback(any(move |method: Method, uri: Uri, headers: HeaderMap| {
        let seen = seen.clone();
        async move {
            seen.received.lock().unwrap().push(Received {
                method,
                target: uri
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                headers,
            });
            let mut answer = axum::Json(serde_json::json!({"eggs": 12})).into_response();
            for (name, value) in HOSTILE_ANSWER {
                answer
                    .headers_mut()
                    .append(name, axum::http::HeaderValue::from_static(value));
            }
            answer
        }
    }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    upstream.base.push_str("/api");
    upstream
}

/// A COOP (access tokens live 60 s), a BFF whose `/api` goes to the hostile upstream, and a
/// logged-in farmer's cookie.
async fn setup() -> (Harness, Bff, Upstream, String) {
    install_panic_counter();
    let upstream = hostile_upstream().await;
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::with_mode(&[port], RefreshTokenMode::Rotate, Duration::from_secs(60)).await;
    let bff = harness
        .bff_with(listener, NEW_KEY, &[("TOPCLUCK_API_URL", upstream.base.as_str())])
        .await;
    let (cookie, _) = bff.login("ada").await;
    (harness, bff, upstream, cookie)
}

// ---------------------------------------------------------------------------------------------
// Panics anywhere in this process (the BFF's tasks included).

thread_local! {
    /// Panics on this thread: a `#[tokio::test]` runs on one thread, with the BFF's and COOP's
    /// tasks, so a handler's panic lands here and another test's failed assertion does not.
    static PANICS: Cell<usize> = const { Cell::new(0) };
}

fn install_panic_counter() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|panics| panics.set(panics.get() + 1));
            previous(info);
        }));
    });
}

// ---------------------------------------------------------------------------------------------
// Requests, byte for byte, and the table.

/// A request as it goes on the wire: clients normalise paths, so these are written by hand.
fn request(method: &str, target: &[u8], headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(method.as_bytes());
    bytes.push(b' ');
    bytes.extend_from_slice(target);
    bytes.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || !matches!(method, "GET" | "HEAD") {
        bytes.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    bytes
}

/// An answer as the browser would get it.
struct Seen {
    status: u16,
    /// The head, lower-cased.
    head: String,
    body: Option<Value>,
}

impl Seen {
    fn code(&self) -> String {
        match &self.body {
            Some(body) => body["error"]
                .as_str()
                .unwrap_or("(JSON without `error`)")
                .to_owned(),
            None => "(not JSON)".to_owned(),
        }
    }

    /// Every value of header `name` (lower-cased), one per line.
    fn header(&self, name: &str) -> Vec<String> {
        self.head
            .split("\r\n")
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .filter(|(n, _)| n.trim() == name)
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
}

async fn send(bff: &Bff, bytes: &[u8]) -> Seen {
    let (head, body) = raw(&bff.base, bytes).await;
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_slice(&body).ok();
    Seen { status, head, body }
}

/// The kit's table of bad inputs, with the proxy's own kind of row ([`Table::refused`]).
#[derive(Default)]
struct Table(BadInputs);

impl Table {
    /// Prints the row and remembers it if the answer was not the one expected (or was a 5xx).
    fn row(&mut self, area: &str, request: &str, expected: &str, seen: &str, held: bool, status: u16) {
        self.0.row_held(area, request, expected, seen, held, status);
    }

    /// A refused request: `status` and JSON `error` code; `untouched`: the upstream must not have
    /// been contacted. `allow`: the `Allow` header a 405 must carry.
    #[allow(clippy::too_many_arguments)]
    async fn refused(
        &mut self,
        area: &str,
        bff: &Bff,
        upstream: &Upstream,
        label: &str,
        bytes: Vec<u8>,
        status: u16,
        code: &str,
        allow: Option<&str>,
    ) {
        let before = upstream.hits();
        let seen = send(bff, &bytes).await;
        let contacted = upstream.hits() - before;
        let seen_allow = seen.header("allow").join(",").to_ascii_uppercase();
        let mut expected = format!("{status} {code}");
        let mut described = format!("{} {}", seen.status, seen.code());
        if let Some(allow) = allow {
            expected.push_str(&format!(", Allow: {allow}"));
            described.push_str(&format!(", Allow: {seen_allow}"));
        }
        expected.push_str(", upstream not contacted");
        described.push_str(&match contacted {
            0 => ", upstream not contacted".to_owned(),
            n => format!(", upstream contacted {n}× ({})", upstream.last().target),
        });
        let held = seen.status == status
            && seen.code() == code
            && contacted == 0
            && allow.is_none_or(|allow| seen_allow == allow)
            && seen.header("cache-control") == ["no-store"];
        self.row(area, label, &expected, &described, held, seen.status);
    }

    fn assert_all_held(self) {
        assert_eq!(
            PANICS.with(Cell::get),
            0,
            "something panicked in this test's servers"
        );
        self.0.finish();
    }
}

/// The headers the SPA sends with every `/api` call.
fn spa(cookie: &str) -> Vec<(&'static str, &[u8])> {
    vec![("Cookie", cookie.as_bytes()), ("X-CSRF", b"1")]
}

// ---------------------------------------------------------------------------------------------
// Paths.

#[tokio::test]
async fn bad_paths_are_400_json_and_never_reach_the_upstream() {
    let (_harness, bff, upstream, cookie) = setup().await;
    let mut table = Table::default();
    let targets: [(&str, &[u8]); 26] = [
        ("double-encoded dots", b"/api/%252e%252e/admin"),
        ("double-encoded slash", b"/api/eggs%252f..%252fadmin"),
        ("double-encoded backslash", b"/api/eggs%255c..%255cadmin"),
        ("Tomcat path parameter", b"/api/..;/admin"),
        ("Tomcat path parameter, deeper", b"/api/eggs/..;x=1/..;/admin"),
        ("empty segment", b"/api/eggs//admin"),
        ("leading empty segment", b"/api//eggs"),
        ("malformed escape %zz", b"/api/eggs/%zz"),
        ("truncated escape %4", b"/api/eggs/%4"),
        ("NUL", b"/api/eggs%00.json"),
        ("CR LF", b"/api/eggs%0d%0aX-Injected:%201"),
        ("raw backslash", b"/api/eggs\\..\\admin"),
        ("encoded backslash", b"/api/eggs%5c..%5cadmin"),
        (
            "U+FF0E fullwidth full stop, encoded",
            b"/api/%EF%BC%8E%EF%BC%8E/admin",
        ),
        (
            "U+FF0E fullwidth full stop, raw",
            "/api/\u{FF0E}\u{FF0E}/admin".as_bytes(),
        ),
        ("U+2024 one dot leader, encoded", b"/api/%E2%80%A4%E2%80%A4/admin"),
        (
            "U+3002 ideographic full stop, encoded",
            b"/api/%E3%80%82%E3%80%82/admin",
        ),
        (
            "U+FF0F fullwidth solidus, encoded",
            b"/api/eggs%EF%BC%8F..%EF%BC%8Fadmin",
        ),
        ("raw ..", b"/api/eggs/../../admin"),
        ("raw .", b"/api/./eggs"),
        ("encoded %2e%2e", b"/api/%2e%2e/admin"),
        ("mixed case %2E%2e", b"/api/%2E%2e/admin"),
        ("half-encoded .%2e", b"/api/eggs/.%2e/admin"),
        ("encoded slash", b"/api/eggs%2f..%2fadmin"),
        ("three dots", b"/api/eggs/.../admin"),
        ("invalid UTF-8", b"/api/eggs/%ff%fe"),
    ];
    for (what, target) in targets {
        let label = format!("GET {} ({what})", String::from_utf8_lossy(target));
        let bytes = request("GET", target, &spa(&cookie), b"");
        table
            .refused("proxy", &bff, &upstream, &label, bytes, 400, "bad_request", None)
            .await;
    }

    // The query string is passed on as it is, and cannot move the path.
    for target in [
        "/api/eggs?/../admin",
        "/api/eggs?%2f..%2fadmin",
        "/api/eggs?x=/../../admin#y",
    ] {
        let seen = send(&bff, &request("GET", target.as_bytes(), &spa(&cookie), b"")).await;
        let reached = upstream.last().target;
        let path = reached.split('?').next().unwrap_or_default().to_owned();
        table.row(
            "proxy",
            &format!("GET {target} (query tries to move the path)"),
            "200, upstream path /api/eggs",
            &format!("{}, upstream path {path}", seen.status),
            seen.status == 200 && path == "/api/eggs",
            seen.status,
        );
    }
    table.assert_all_held();
}

#[tokio::test]
async fn paths_inside_the_api_still_pass() {
    let (_harness, bff, upstream, cookie) = setup().await;
    for target in [
        "/api/eggs",
        "/api/eggs/2026-11-22",
        "/api/eggs/",
        "/api/farms/H%C3%BChnerhof/eggs",
        "/api/eggs;v=2",
        "/api/eggs?from=2026-01-01&to=2026-12-31",
        "/api/.well-known/x",
    ] {
        let seen = send(&bff, &request("GET", target.as_bytes(), &spa(&cookie), b"")).await;
        assert_eq!(seen.status, 200, "{target}: {}", seen.head);
        assert_eq!(upstream.last().target, target, "{target}");
    }
}

// ---------------------------------------------------------------------------------------------
// Methods.

#[tokio::test]
async fn methods_an_api_does_not_use_are_405_json_and_never_reach_the_upstream() {
    let (_harness, bff, upstream, cookie) = setup().await;
    let mut table = Table::default();
    for method in ["TRACE", "OPTIONS", "CONNECT", "PROPFIND", "MKCOL", "BREW", "get"] {
        let bytes = request(method, b"/api/eggs", &spa(&cookie), b"");
        let label = format!("{method} /api/eggs");
        table
            .refused(
                "methods",
                &bff,
                &upstream,
                &label,
                bytes,
                405,
                "method_not_allowed",
                Some("GET,HEAD,POST,PUT,PATCH,DELETE"),
            )
            .await;
    }
    // Without the CSRF header too: the method is refused first, the same way.
    let bytes = request("TRACE", b"/api/eggs", &[("Cookie", cookie.as_bytes())], b"");
    table
        .refused(
            "methods",
            &bff,
            &upstream,
            "TRACE /api/eggs without X-CSRF",
            bytes,
            405,
            "method_not_allowed",
            Some("GET,HEAD,POST,PUT,PATCH,DELETE"),
        )
        .await;

    // The methods the API uses all pass.
    for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] {
        let seen = send(&bff, &request(method, b"/api/eggs", &spa(&cookie), b"")).await;
        assert_eq!(seen.status, 200, "{method}: {}", seen.head);
        assert_eq!(upstream.last().method.as_str(), method);
    }
    table.assert_all_held();
}

// ---------------------------------------------------------------------------------------------
// Headers.

#[tokio::test]
async fn hostile_request_headers_never_reach_the_upstream() {
    let (_harness, bff, upstream, cookie) = setup().await;
    let mut table = Table::default();
    let cases: [(&str, &str, &str); 16] = [
        // (header sent, value, header the upstream must not see)
        ("X-Forwarded-For", "6.6.6.6", "x-forwarded-for"),
        ("X-Forwarded-Host", "evil.example", "x-forwarded-host"),
        ("X-Forwarded-Proto", "https", "x-forwarded-proto"),
        ("X-Forwarded-Prefix", "/admin", "x-forwarded-prefix"),
        ("Forwarded", "for=6.6.6.6;host=evil.example", "forwarded"),
        ("X-Real-IP", "6.6.6.6", "x-real-ip"),
        ("Proxy-Authorization", "Basic ZXZpbDpldmls", "proxy-authorization"),
        ("Proxy-Connection", "keep-alive", "proxy-connection"),
        ("Connection", "x-client-hop", "x-client-hop"),
        ("Keep-Alive", "timeout=600", "keep-alive"),
        ("Upgrade", "websocket", "upgrade"),
        ("X-CSRF", "1", "x-csrf"),
        ("X-HTTP-Method-Override", "DELETE", "x-http-method-override"),
        ("X-Original-URL", "/admin", "x-original-url"),
        ("X-Rewrite-URL", "/admin", "x-rewrite-url"),
        ("Cookie", "__Host-topcluck=(the session)", "cookie"),
    ];
    for (name, value, must_not_see) in cases {
        let mut headers: Vec<(&str, &[u8])> = spa(&cookie);
        if !matches!(name, "X-CSRF" | "Cookie") {
            headers.push((name, value.as_bytes()));
        }
        if name == "Connection" {
            headers.push(("X-Client-Hop", b"named by Connection"));
        }
        let seen = send(&bff, &request("GET", b"/api/eggs", &headers, b"")).await;
        let received = upstream.last().headers;
        let leaked: Vec<_> = received
            .get_all(must_not_see)
            .iter()
            .map(|v| v.to_str().unwrap_or("(bytes)").to_owned())
            .collect();
        table.row(
            "headers",
            &format!("GET /api/eggs with {name}: {value}"),
            &format!("200, upstream sees no {must_not_see}"),
            &match leaked.as_slice() {
                [] => format!("{}, upstream sees no {must_not_see}", seen.status),
                values => format!(
                    "{}, upstream saw {must_not_see}: {}",
                    seen.status,
                    values.join(", ")
                ),
            },
            seen.status == 200 && leaked.is_empty(),
            seen.status,
        );
    }

    // The browser's own bearer token is replaced by the session's.
    let mut headers = spa(&cookie);
    headers.push(("Authorization", b"Bearer browser-chosen-token"));
    let seen = send(&bff, &request("GET", b"/api/eggs", &headers, b"")).await;
    let authorizations: Vec<_> = upstream
        .last()
        .headers
        .get_all("authorization")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let only_the_sessions = authorizations.len() == 1 && !authorizations[0].contains("browser-chosen");
    table.row(
        "headers",
        "GET /api/eggs with Authorization: Bearer browser-chosen-token",
        "200, upstream sees only the session's bearer token",
        &format!(
            "{}, upstream saw {} Authorization header(s){}",
            seen.status,
            authorizations.len(),
            if only_the_sessions {
                ", the session's"
            } else {
                ", the browser's among them"
            }
        ),
        seen.status == 200 && only_the_sessions,
        seen.status,
    );

    // What an API needs still reaches it.
    let mut headers = spa(&cookie);
    headers.extend([
        ("Accept", b"application/json" as &[u8]),
        ("If-None-Match", b"\"v1\""),
        ("X-Request-Id", b"r-1"),
    ]);
    send(&bff, &request("GET", b"/api/eggs", &headers, b"")).await;
    let received = upstream.last().headers;
    for kept in ["accept", "if-none-match", "x-request-id"] {
        assert!(received.contains_key(kept), "{kept} was dropped: {received:?}");
    }
    table.assert_all_held();
}

#[tokio::test]
async fn hostile_upstream_answers_reach_the_browser_disarmed() {
    let (harness, bff, _upstream, cookie) = setup().await;
    let mut table = Table::default();
    let seen = send(&bff, &request("GET", b"/api/eggs", &spa(&cookie), b"")).await;
    assert_eq!(seen.status, 200, "{}", seen.head);
    for (name, value) in HOSTILE_ANSWER {
        if name == "cache-control" {
            continue;
        }
        let mut through = seen.header(name);
        if name == "connection" {
            // The BFF's own `Connection: close` (the request asked for it) is not the upstream's.
            through.retain(|v| v.contains("x-upstream-hop"));
        }
        let what = if name == "connection" {
            "connection: x-upstream-hop"
        } else {
            name
        };
        table.row(
            "headers",
            &format!("upstream answers {name}: {value}"),
            &format!("browser sees no {what}"),
            &match through.as_slice() {
                [] => format!("browser sees no {what}"),
                values => format!("browser saw {name}: {}", values.join(" | ")),
            },
            through.is_empty(),
            seen.status,
        );
    }
    let cache = seen.header("cache-control");
    table.row(
        "headers",
        "upstream answers cache-control: public, max-age=3600",
        "browser sees Cache-Control: no-store only",
        &format!("browser saw Cache-Control: {}", cache.join(" | ")),
        cache == ["no-store"],
        seen.status,
    );

    // The access token has expired: the BFF renews it before forwarding, so this answer sets
    // the session cookie — whatever the upstream says about caching, it must not be stored.
    harness.advance(Duration::from_secs(61));
    let seen = send(&bff, &request("GET", b"/api/eggs", &spa(&cookie), b"")).await;
    let cookies = seen.header("set-cookie");
    let sessions: Vec<_> = cookies
        .iter()
        .filter(|c| c.starts_with("__host-topcluck="))
        .collect();
    let cache = seen.header("cache-control");
    let cacheable = cache
        .iter()
        .any(|v| v.contains("public") || v.contains("max-age") || v.contains("s-maxage"))
        || !seen.header("cdn-cache-control").is_empty()
        || !seen.header("surrogate-control").is_empty();
    table.row(
        "headers",
        "GET /api/eggs after the access token expired (renewal sets the cookie); upstream: Cache-Control public, max-age=3600, its own __Host-topcluck",
        "200, one Set-Cookie (the BFF's renewed session), Cache-Control: no-store only, no CDN cache header",
        &format!(
            "{}, {} Set-Cookie ({} session, forged: {}), Cache-Control: {}{}",
            seen.status,
            cookies.len(),
            sessions.len(),
            cookies.iter().any(|c| c.contains("forged")),
            cache.join(" | "),
            if cacheable { ", cacheable" } else { "" }
        ),
        seen.status == 200
            && cookies.len() == 1
            && sessions.len() == 1
            && !cookies[0].contains("forged")
            && cache == ["no-store"]
            && !cacheable,
        seen.status,
    );
    table.assert_all_held();
}

// ---------------------------------------------------------------------------------------------
// The BFF's own errors: one JSON shape.

/// The request (described), its bytes, the status and JSON `error` expected, and the `Allow`
/// header a 405 must carry.
type BffCase = (&'static str, Vec<u8>, u16, &'static str, Option<&'static str>);

#[tokio::test]
async fn every_bff_error_is_the_one_json_shape() {
    let (_harness, bff, upstream, cookie) = setup().await;
    let mut table = Table::default();
    let csrf: &[(&str, &[u8])] = &[("X-CSRF", b"1")];
    let json: &[(&str, &[u8])] = &[("X-CSRF", b"1"), ("Content-Type", b"application/json")];
    let big = vec![b' '; 3 * 1024 * 1024];
    let long_cookie = format!("__Host-topcluck={}", "A".repeat(8000));
    let many_cookies = (0..500)
        .map(|i| format!("c{i}=v{i}"))
        .collect::<Vec<_>>()
        .join("; ");
    let cases: Vec<BffCase> = vec![
        (
            "PUT /bff/login",
            request("PUT", b"/bff/login", csrf, b"{}"),
            405,
            "method_not_allowed",
            Some("GET,HEAD,POST"),
        ),
        (
            "GET /bff/logout",
            request("GET", b"/bff/logout", &[], b""),
            405,
            "method_not_allowed",
            Some("POST"),
        ),
        (
            "DELETE /bff/session",
            request("DELETE", b"/bff/session", csrf, b""),
            405,
            "method_not_allowed",
            Some("GET,HEAD"),
        ),
        (
            "TRACE /bff/session",
            request("TRACE", b"/bff/session", &[], b""),
            405,
            "method_not_allowed",
            Some("GET,HEAD"),
        ),
        (
            "GET /bff/no-such-endpoint",
            request("GET", b"/bff/no-such-endpoint", &[], b""),
            404,
            "not_found",
            None,
        ),
        (
            "POST /bff/no-such-endpoint",
            request("POST", b"/bff/no-such-endpoint", csrf, b"{}"),
            404,
            "not_found",
            None,
        ),
        (
            "GET /bff/login/extra",
            request("GET", b"/bff/login/extra", &[], b""),
            404,
            "not_found",
            None,
        ),
        (
            "GET /bff",
            request("GET", b"/bff", &[], b""),
            404,
            "not_found",
            None,
        ),
        (
            "GET /api",
            request("GET", b"/api", &[], b""),
            404,
            "not_found",
            None,
        ),
        (
            "GET /api/",
            request("GET", b"/api/", &spa(&cookie), b""),
            404,
            "not_found",
            None,
        ),
        (
            "POST /bff/login with a 3 MB body",
            request("POST", b"/bff/login", json, &big),
            413,
            "payload_too_large",
            None,
        ),
        (
            "POST /bff/login as text/plain",
            request(
                "POST",
                b"/bff/login",
                &[("X-CSRF", b"1"), ("Content-Type", b"text/plain")],
                b"code=x",
            ),
            400,
            "bad_request",
            None,
        ),
        (
            "POST /bff/login with broken JSON",
            request("POST", b"/bff/login", json, b"{\"code\":"),
            400,
            "bad_request",
            None,
        ),
        (
            "POST /bff/login with {}",
            request("POST", b"/bff/login", json, b"{}"),
            400,
            "bad_request",
            None,
        ),
        (
            "POST /bff/login with a JSON array",
            request("POST", b"/bff/login", json, b"[1,2]"),
            400,
            "bad_request",
            None,
        ),
        (
            "GET /bff/session, cookie not sealed by us",
            request(
                "GET",
                b"/bff/session",
                &[("Cookie", b"__Host-topcluck=not-a-sealed-cookie")],
                b"",
            ),
            401,
            "unauthenticated",
            None,
        ),
        (
            "GET /bff/session, cookie header not UTF-8",
            request(
                "GET",
                b"/bff/session",
                &[("Cookie", b"__Host-topcluck=\xff\xfe\xfd")],
                b"",
            ),
            401,
            "unauthenticated",
            None,
        ),
        (
            "GET /bff/session, cookie header without =",
            request(
                "GET",
                b"/bff/session",
                &[("Cookie", b";;=;__Host-topcluck;==")],
                b"",
            ),
            401,
            "unauthenticated",
            None,
        ),
        (
            "GET /bff/session, 8 KB session cookie",
            request("GET", b"/bff/session", &[("Cookie", long_cookie.as_bytes())], b""),
            401,
            "unauthenticated",
            None,
        ),
        (
            "GET /bff/session, 500 cookies",
            request(
                "GET",
                b"/bff/session",
                &[("Cookie", many_cookies.as_bytes())],
                b"",
            ),
            401,
            "unauthenticated",
            None,
        ),
        (
            "GET /api/eggs, cookie not sealed by us",
            request(
                "GET",
                b"/api/eggs",
                &[
                    ("Cookie", b"__Host-topcluck=not-a-sealed-cookie"),
                    ("X-CSRF", b"1"),
                ],
                b"",
            ),
            401,
            "unauthenticated",
            None,
        ),
    ];
    for (label, bytes, status, code, allow) in cases {
        table
            .refused("bff-errors", &bff, &upstream, label, bytes, status, code, allow)
            .await;
    }
    table.assert_all_held();
}
