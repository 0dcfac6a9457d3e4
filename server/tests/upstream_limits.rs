//! The BFF's bounds on the API (`server::admission`, `server::upstream`), against real upstream
//! servers over TCP: at most `TOPCLUCK_API_MAX_IN_FLIGHT` `/api` requests worked on and
//! `TOPCLUCK_API_MAX_CONNECTIONS` requests in flight and connections held, the rest waiting
//! their turn or told to retry (503, `Retry-After`, nothing sent); and the one resend: a
//! GET whose connection could not be made goes once more on a new connection, a POST never,
//! and nothing whose bytes were sent.

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use coop::RefreshTokenMode;
use support::*;

/// An API that takes `delay` to answer `GET /eggs` and `POST /eggs`, counting requests, the
/// most in flight at once, and the connections they came on.
#[derive(Clone, Default)]
struct SlowApi {
    requests: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    connections: Arc<Mutex<BTreeSet<SocketAddr>>>,
}

impl SlowApi {
    fn router(&self, delay: Duration) -> Router {
        let api = self.clone();
        let answer = move |ConnectInfo(peer): ConnectInfo<SocketAddr>| {
            let api = api.clone();
            async move {
                api.requests.fetch_add(1, Ordering::SeqCst);
                api.connections.lock().unwrap().insert(peer);
                let now = api.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                api.most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                api.in_flight.fetch_sub(1, Ordering::SeqCst);
                axum::Json(serde_json::json!({ "count": 1 }))
            }
        };
        Router::new().route("/eggs", get(answer.clone()).post(answer))
    }

    fn serve(&self, listener: tokio::net::TcpListener, delay: Duration) {
        let app = self
            .router(delay)
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
}

/// A logged-in BFF whose API is `api_base`, with `extra` settings.
async fn bff_for(api_base: &str, extra: &[(&str, &str)]) -> (Harness, Bff, String) {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::with_mode(&[port], RefreshTokenMode::Rotate, Duration::from_secs(600)).await;
    let mut vars = vec![("TOPCLUCK_API_URL", api_base)];
    vars.extend_from_slice(extra);
    let bff = harness.bff_with(listener, NEW_KEY, &vars).await;
    let (cookie, _) = bff.login("ada").await;
    (harness, bff, cookie)
}

/// A [`SlowApi`] answering in 600 ms, and a logged-in BFF in front of it with `extra` settings.
async fn slow_api_and_bff(extra: &[(&str, &str)]) -> (SlowApi, Harness, Bff, String) {
    let api = SlowApi::default();
    let upstream = listener().await;
    let base = format!("http://{}", upstream.local_addr().unwrap());
    api.serve(upstream, Duration::from_millis(600));
    let (harness, bff, cookie) = bff_for(&base, extra).await;
    (api, harness, bff, cookie)
}

async fn eggs(bff: &Bff, method: reqwest::Method, cookie: &str) -> reqwest::Response {
    let mut request = http()
        .request(method.clone(), bff.url("/api/eggs"))
        .header("cookie", cookie)
        .header("x-csrf", "1");
    if method == reqwest::Method::POST {
        request = request.json(&serde_json::json!({ "count": 3 }));
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_gets_at_most_its_limit_at_once_and_the_rest_wait_or_are_told_to_retry() {
    // Each answer takes 600 ms; two at a time; a request waits at most 900 ms for its turn.
    let (api, _harness, bff, cookie) = slow_api_and_bff(&[
        ("TOPCLUCK_API_MAX_CONNECTIONS", "2"),
        ("TOPCLUCK_UPSTREAM_QUEUE_MS", "900"),
    ])
    .await;

    // Six at once: two now, two after 600 ms (waited less than 900), two would wait 1,200 ms.
    let burst = (0..6).map(|_| eggs(&bff, reqwest::Method::GET, &cookie));
    let answers = futures_util::future::join_all(burst).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 503, 503], "{statuses:?}");
    for answer in answers.into_iter().filter(|a| a.status() == 503) {
        assert_eq!(answer.headers()["retry-after"], "1");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    }
    assert_eq!(
        api.requests.load(Ordering::SeqCst),
        4,
        "the refused two were never sent"
    );
    assert_eq!(
        api.most.load(Ordering::SeqCst),
        2,
        "never more than the limit at once"
    );

    // More waves: the connections are reused, never more than two of them.
    for _ in 0..3 {
        let wave = (0..2).map(|_| eggs(&bff, reqwest::Method::GET, &cookie));
        for answer in futures_util::future::join_all(wave).await {
            assert_eq!(answer.status(), 200);
        }
    }
    let connections = api.connections.lock().unwrap().len();
    assert!(connections <= 2, "{connections} connections to the API, limit 2");
    println!("10 answers over {connections} connections; at most 2 in flight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_requests_beyond_the_edge_limit_wait_unread_and_the_bff_s_own_endpoints_never_do() {
    // Each answer takes 600 ms. The API could take 32 at once, but the BFF works on one `/api`
    // request at a time; a request waits at most 900 ms in all.
    let (api, _harness, bff, cookie) = slow_api_and_bff(&[
        ("TOPCLUCK_API_MAX_IN_FLIGHT", "1"),
        ("TOPCLUCK_API_MAX_CONNECTIONS", "32"),
        ("TOPCLUCK_UPSTREAM_QUEUE_MS", "900"),
    ])
    .await;

    // Three at once: one now, one let in after 600 ms, one still waiting at 900 ms.
    let started = Instant::now();
    let burst = futures_util::future::join_all((0..3).map(|_| eggs(&bff, reqwest::Method::GET, &cookie)));
    // Meanwhile the BFF's own endpoint answers at once: it never waits behind the API.
    let session = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let asked = Instant::now();
        let (status, _) = bff.session(Some(&cookie)).await;
        (status, asked.elapsed())
    };
    let (answers, (session_status, session_took)) = tokio::join!(burst, session);
    assert_eq!(session_status, 200);
    assert!(
        session_took < Duration::from_millis(400),
        "/bff/session took {session_took:?} behind a busy API"
    );
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 503], "{statuses:?}");
    let refused = answers.into_iter().find(|a| a.status() == 503).unwrap();
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(refused.headers()["cache-control"], "no-store");
    assert!(
        refused.headers().get("set-cookie").is_none(),
        "a request that waited at the edge never opened its session"
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert_eq!(
        api.requests.load(Ordering::SeqCst),
        2,
        "the refused one was never sent"
    );
    assert_eq!(api.most.load(Ordering::SeqCst), 1, "one at a time at the API");
    println!(
        "3 requests at once, 1 worked on at a time: 2 answered, 1 refused unread; all in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_waiting_for_a_slow_refresh_gives_its_place_to_fresh_sessions() {
    // COOP's egg API; one `/api` request worked on at a time; access tokens of 60 s.
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::with_mode(&[port], RefreshTokenMode::Rotate, Duration::from_secs(60)).await;
    let bff = harness
        .bff_with(
            listener,
            NEW_KEY,
            &[
                ("TOPCLUCK_API_MAX_IN_FLIGHT", "1"),
                ("TOPCLUCK_UPSTREAM_QUEUE_MS", "900"),
            ],
        )
        .await;
    // Ada's token expires; Bert logs in after that, with a fresh one.
    let (ada, _) = bff.login("ada").await;
    harness.advance(Duration::from_secs(61));
    let (bert, _) = bff.login("bert").await;
    // The provider now takes 1.5 s to answer a refresh.
    harness.faults(serde_json::json!({ "latency_ms": 1500 })).await;

    let renewing = eggs(&bff, reqwest::Method::GET, &ada);
    let fresh = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let asked = Instant::now();
        let answer = eggs(&bff, reqwest::Method::GET, &bert).await;
        (answer.status().as_u16(), asked.elapsed())
    };
    let (renewed, (fresh_status, fresh_took)) = tokio::join!(renewing, fresh);
    assert_eq!(renewed.status(), 200, "Ada's request, after its refresh");
    assert_eq!(
        fresh_status, 200,
        "Bert's request waited {fresh_took:?} behind Ada's refresh (the queue wait is 900 ms)"
    );
    assert!(fresh_took < Duration::from_millis(800), "{fresh_took:?}");
    harness.clear_faults().await;
    println!("a fresh session's request took {fresh_took:?} while another waited 1.5 s for its refresh");
}

/// A listener whose accept queue is full: a new connection's SYN is dropped, so connecting to
/// it hangs until the connect timeout — not one byte of a request reaches it. `open` starts
/// serving it (and so takes the queued connections).
struct FullQueue {
    listener: tokio::net::TcpListener,
    _queued: Vec<std::net::TcpStream>,
}

impl FullQueue {
    fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(1).unwrap();
        let address = listener.local_addr().unwrap();
        // Linux queues backlog + 1 connections; then drops SYNs.
        let mut queued = Vec::new();
        while let Ok(stream) = std::net::TcpStream::connect_timeout(&address, Duration::from_millis(300)) {
            queued.push(stream);
            assert!(queued.len() < 16, "the accept queue never filled");
        }
        Self {
            listener,
            _queued: queued,
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.listener.local_addr().unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_get_whose_connection_could_not_be_made_is_sent_once_more_and_a_post_never() {
    for (method, expected, sent) in [(reqwest::Method::GET, 200, 1), (reqwest::Method::POST, 502, 0)] {
        let gate = FullQueue::new();
        let (_harness, bff, cookie) =
            bff_for(&gate.base(), &[("TOPCLUCK_UPSTREAM_CONNECT_TIMEOUT_MS", "800")]).await;
        let api = SlowApi::default();
        let started = Instant::now();
        let request = tokio::spawn({
            let (bff, cookie, method) = (bff, cookie.clone(), method.clone());
            async move {
                let answer = eggs(&bff, method, &cookie).await;
                (answer.status().as_u16(), bff)
            }
        });
        // The first connection attempt is under way (its SYN dropped); the API opens now, long
        // before that attempt's 800 ms timeout and its SYN's first retransmission (1 s).
        tokio::time::sleep(Duration::from_millis(250)).await;
        let FullQueue { listener, _queued } = gate;
        api.serve(listener, Duration::ZERO);
        let (status, _bff) = request.await.unwrap();
        let took = started.elapsed();
        assert_eq!(status, expected, "{method}");
        assert_eq!(
            api.requests.load(Ordering::SeqCst),
            sent,
            "{method}: requests the API received"
        );
        assert!(
            took >= Duration::from_millis(750),
            "{method}: the first attempt timed out first ({took:?})"
        );
        println!("{method}: {status} after {took:?}, {sent} request(s) at the API");
    }
}

#[tokio::test]
async fn a_get_whose_bytes_were_sent_is_never_sent_again() {
    // Takes each connection, reads the request, and closes without answering.
    let cut = listener().await;
    let base = format!("http://{}", cut.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn({
        let connections = connections.clone();
        async move {
            while let Ok((mut socket, _)) = cut.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                let mut buffer = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buffer).await;
            }
        }
    });
    let (_harness, bff, cookie) = bff_for(&base, &[]).await;
    let answer = eggs(&bff, reqwest::Method::GET, &cookie).await;
    assert_eq!(answer.status(), 502);
    assert_eq!(connections.load(Ordering::SeqCst), 1, "sent once, never again");
}
