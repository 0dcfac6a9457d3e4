//! The server's HTTP edges (`server::edges`, the proxy's response side): real servers on
//! loopback ports (a COOP, a BFF, and a stand-in upstream API that counts what reaches it), plus
//! the edge layers in-process where a test needs short timeouts.

mod support;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Extension;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use server::edges;
use support::*;
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// A stand-in for the upstream API.

/// What the upstream answers `GET`: JSON of this many bytes, with a `Content-Length`.
const UPSTREAM_BODY: usize = 5000;

#[derive(Clone, Default)]
struct Upstream {
    base: String,
    /// Requests that reached it.
    hits: Arc<AtomicUsize>,
    /// The `Authorization` headers it received (the session's access tokens).
    authorizations: Arc<Mutex<Vec<String>>>,
}

async fn upstream() -> Upstream {
    let listener = listener().await;
    let mut upstream = Upstream {
        base: format!("http://{}", listener.local_addr().unwrap()),
        ..Upstream::default()
    };
    let seen = upstream.clone();
    let app = Router::new().route(
        "/{*rest}",
        any(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                seen.hits.fetch_add(1, Ordering::SeqCst);
                if let Some(value) = headers.get(header::AUTHORIZATION) {
                    seen.authorizations
                        .lock()
                        .unwrap()
                        .push(value.to_str().unwrap().to_owned());
                }
                let pad = "x".repeat(UPSTREAM_BODY - r#"{"received":0000000,"pad":""}"#.len());
                let text = format!(r#"{{"received":{:07},"pad":"{pad}"}}"#, body.len());
                assert_eq!(text.len(), UPSTREAM_BODY);
                (
                    [
                        (header::CONTENT_TYPE, "application/json"),
                        // Cacheable, says the API: the BFF must not let it be cached.
                        (header::CACHE_CONTROL, "max-age=60"),
                        (header::VARY, "accept-encoding"),
                    ],
                    text,
                )
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    upstream.base.push_str("/api");
    upstream
}

/// A COOP, a BFF whose `/api` goes to a stand-in upstream, and a logged-in farmer's cookie.
async fn setup() -> (Harness, Bff, Upstream, String) {
    let upstream = upstream().await;
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let bff = harness
        .bff_with(listener, NEW_KEY, &[("TOPCLUCK_API_URL", upstream.base.as_str())])
        .await;
    let (cookie, _) = bff.login("ada").await;
    (harness, bff, upstream, cookie)
}

fn header_values(headers: &reqwest::header::HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect()
}

fn assert_private(what: &str, headers: &reqwest::header::HeaderMap, vary_cookie: bool) {
    assert_eq!(
        header_values(headers, "cache-control"),
        ["no-store"],
        "{what}: {headers:?}"
    );
    if vary_cookie {
        assert!(
            header_values(headers, "vary").contains(&"cookie".to_owned()),
            "{what}: no Vary: Cookie in {headers:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The accept loop.

#[tokio::test]
async fn accepted_connections_have_tcp_nodelay_and_shut_down_gracefully() {
    let app = Router::new().route(
        "/",
        get(|Extension(connection): Extension<edges::Connection>| async move {
            format!("nodelay={}", connection.nodelay)
        }),
    );
    let listener = listener().await;
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(edges::serve(listener, app, async {
        let _ = stopped.await;
    }));
    let client = http();
    for _ in 0..2 {
        // Twice on one kept-alive connection: the option holds for the connection's life.
        let body = client.get(&base).send().await.unwrap().text().await.unwrap();
        assert_eq!(body, "nodelay=true");
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops when asked")
        .unwrap()
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The proxy's response side.

#[tokio::test]
async fn the_upstreams_content_length_reaches_the_browser() {
    let (_harness, bff, upstream, cookie) = setup().await;
    let (head, body) = raw(
        &bff.base,
        &format!(
            "GET /api/eggs HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-CSRF: 1\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("\r\ncontent-length: {UPSTREAM_BODY}")),
        "no Content-Length: {head}"
    );
    assert!(!head.contains("transfer-encoding"), "re-chunked: {head}");
    assert_eq!(body.len(), UPSTREAM_BODY);
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------------
// The request-body limit on /api.

#[tokio::test]
async fn an_api_body_over_the_limit_is_a_413_json_error_and_never_reaches_the_upstream() {
    let (_harness, bff, upstream, cookie) = setup().await;
    let post = |body: reqwest::Body| {
        http()
            .post(bff.url("/api/eggs"))
            .header("cookie", &cookie)
            .header("x-csrf", "1")
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };

    // Declared too large: refused before anything is read or forwarded.
    let response = post(vec![b'1'; edges::API_BODY_LIMIT + 1].into()).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_private("413", response.headers(), false);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "payload_too_large", "{error}");
    assert!(error["message"].is_string(), "{error}");
    assert_eq!(
        upstream.hits.load(Ordering::SeqCst),
        0,
        "the upstream was contacted"
    );

    // At the limit: forwarded whole.
    let response = post(vec![b'1'; edges::API_BODY_LIMIT].into()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["received"], edges::API_BODY_LIMIT);
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 1);

    // Chunked (no Content-Length) and too large: cut off at the limit, still a 413 in JSON.
    let chunks =
        (0..=edges::API_BODY_LIMIT / 65536).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'1'; 65536])));
    let response = post(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "payload_too_large", "{error}");
}

// ---------------------------------------------------------------------------------------------
// Cache headers.

#[tokio::test]
async fn pages_bff_and_api_answers_are_no_store_and_vary_by_cookie() {
    let (_harness, bff, _upstream, cookie) = setup().await;
    let client = http();

    for cookie in [None, Some(cookie.as_str())] {
        let mut page = client.get(bff.url("/"));
        let mut session = client.get(bff.url("/bff/session"));
        if let Some(cookie) = cookie {
            page = page.header("cookie", cookie);
            session = session.header("cookie", cookie);
        }
        let page = page.send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_private(&format!("the home page, cookie {cookie:?}"), page.headers(), true);
        let session = session.send().await.unwrap();
        assert_private(
            &format!("/bff/session ({}), cookie {cookie:?}", session.status()),
            session.headers(),
            true,
        );
    }
    let missing = client.get(bff.url("/no-such-page")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_private("the 404 page", missing.headers(), true);

    // The answer that sets the session cookie.
    let pending = bff.authorize("ada").await;
    let login = bff.complete(&pending).await;
    assert_eq!(login.status(), StatusCode::OK);
    assert!(session_set_cookie(login.headers()).is_some());
    assert_private("POST /bff/login", login.headers(), true);

    // The upstream says `max-age=60`: through the BFF, its personal answer is not stored.
    let api = fetch(
        client
            .get(bff.url("/api/eggs"))
            .header("cookie", &cookie)
            .header("x-csrf", "1"),
    )
    .await;
    assert_eq!(api.status(), StatusCode::OK);
    assert_private("/api/eggs", api.headers(), true);
    assert!(
        header_values(api.headers(), "vary").contains(&"accept-encoding".to_owned()),
        "the upstream's own Vary is kept: {:?}",
        api.headers()
    );
}

#[tokio::test]
async fn static_assets_stay_cacheable_unless_they_set_a_cookie() {
    let app = Router::new()
        .route(
            "/pkg/topcluck.wasm",
            get(|| async { ([(header::CONTENT_TYPE, "application/wasm")], "wasm") }),
        )
        .route(
            "/pkg/with-cookie.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript"),
                        (header::SET_COOKIE, "a=b"),
                    ],
                    "js",
                )
            }),
        )
        .layer(edges::outside_session());
    let get = |path: &'static str| {
        app.clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
    };
    let asset = get("/pkg/topcluck.wasm").await.unwrap();
    assert!(
        asset.headers().get(header::CACHE_CONTROL).is_none(),
        "{:?}",
        asset.headers()
    );
    assert!(
        asset.headers().get(header::VARY).is_none(),
        "{:?}",
        asset.headers()
    );
    let with_cookie = get("/pkg/with-cookie.js").await.unwrap();
    assert_eq!(with_cookie.headers()[header::CACHE_CONTROL], "no-store");
}

// ---------------------------------------------------------------------------------------------
// Timeouts, in-process with short ones.

async fn json_of(response: axum::response::Response) -> Value {
    serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

#[tokio::test]
async fn slow_bodies_and_slow_answers_are_json_timeouts_but_upstream_answers_pass() {
    let app = Router::new()
        .route(
            "/upload",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route("/stall", get(std::future::pending::<&'static str>))
        .route(
            "/upstream-504",
            get(|| async { (StatusCode::GATEWAY_TIMEOUT, "the upstream's own 504").into_response() }),
        )
        .layer(edges::inside_session_with(
            Duration::from_millis(500),
            Duration::from_millis(50),
        ));

    // One chunk, then nothing: the body timeout.
    let stalled = futures_util::StreamExt::chain(
        futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"partial"))]),
        futures_util::stream::pending(),
    );
    let response = app
        .clone()
        .oneshot(Request::post("/upload").body(Body::from_stream(stalled)).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(json_of(response).await["error"], "timeout");

    // No answer: the request timeout.
    let response = app
        .clone()
        .oneshot(Request::get("/stall").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(json_of(response).await["error"], "timeout");

    // A complete body in time is read; a handler's own 504 passes untouched.
    let response = app
        .clone()
        .oneshot(Request::post("/upload").body(Body::from("whole")).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .clone()
        .oneshot(Request::get("/upstream-504").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"the upstream's own 504");
}

#[tokio::test]
async fn an_error_the_session_layer_answers_on_its_own_is_json_too() {
    // tower-sessions answers a save that fails (here: a record too large for a cookie) with a
    // bare, empty 500 of its own, outside the routes.
    let keys = server::cookies::KeyRing::new(&[server::settings::Secret::new(NEW_KEY)]).unwrap();
    let app = Router::new()
        .route(
            "/",
            get(|session: tower_sessions::Session| async move {
                session.insert("big", "x".repeat(10_000)).await.unwrap();
                "kept?"
            }),
        )
        .layer(edges::inside_session())
        .layer(server::cookies::session_layer(keys))
        .layer(edges::outside_session());
    let response = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let error = json_of(response).await;
    assert_eq!(error["error"], "internal", "{error}");
    assert!(error["message"].is_string(), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Logs.

/// Everything every test in this binary logs, at every level, from every crate.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(writer.clone()))
            .init();
        buffer
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_cookie_or_token_value_reaches_the_logs() {
    let logs = logs();
    let (_harness, bff, upstream, cookie) = setup().await;
    let client = http();
    let browser_bearer = "browser-sent-bearer-value-0123456789";
    for path in ["/", "/bff/session", "/api/eggs"] {
        let response = fetch(
            client
                .get(bff.url(path))
                .header("cookie", &cookie)
                .header("x-csrf", "1")
                .header("authorization", format!("Bearer {browser_bearer}")),
        )
        .await;
        assert!(response.status().is_success(), "{path}: {}", response.status());
    }
    let logout = fetch(
        client
            .post(bff.url("/bff/logout"))
            .header("cookie", &cookie)
            .header("x-csrf", "1")
            .json(&json!({})),
    )
    .await;
    assert!(logout.status().is_success(), "logout: {}", logout.status());

    let access_token = upstream.authorizations.lock().unwrap()[0]
        .trim_start_matches("Bearer ")
        .to_owned();
    let cookie_value = cookie.split_once('=').unwrap().1.to_owned();
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    for (what, secret) in [
        ("the session cookie", cookie_value.as_str()),
        ("the access token", access_token.as_str()),
        ("the browser's bearer token", browser_bearer),
    ] {
        assert!(secret.len() > 20, "{what} is too short to search for: {secret}");
        // The whole value, and its last 20 characters (a JWT's signature, the end of the
        // cookie's ciphertext) in case a log printed only part of it.
        assert!(!text.contains(secret), "{what} reached the logs");
        assert!(
            !text.contains(&secret[secret.len() - 20..]),
            "part of {what} reached the logs"
        );
    }
    // …and not because nothing was logged: the headers were (at debug), masked.
    assert!(
        text.contains(r#""cookie": Sensitive"#),
        "no masked Cookie header in the logs"
    );
    assert!(
        text.contains(r#""set-cookie": Sensitive"#),
        "no masked Set-Cookie in the logs"
    );
    assert!(
        text.contains(r#""authorization": Sensitive"#),
        "no masked Authorization in the logs"
    );
}
