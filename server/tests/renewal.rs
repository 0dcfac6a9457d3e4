//! Silent renewal through the `/api` proxy, against a real COOP over HTTP — one suite, run once
//! per refresh-token mode of COOP's client (`rotate`: one-time tokens with reuse detection and
//! no grace period; `reuse`: the same token back on every refresh; `none`: no refresh token at
//! all), the way tower-sessions runs one suite per store.
//!
//! Time moves by [`Harness::advance`] (COOP's clock and the BFF's together), never by sleeping.
//! Each test ends by checking COOP's counters: no reuse detection and no revoked grant that
//! the test did not cause on purpose.

mod support;

use std::sync::Arc;
use std::time::Duration;

use coop::RefreshTokenMode;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

/// One COOP (client `topcluck` in `mode`, access tokens living `ttl`), one BFF with `vars`,
/// and ada logged in.
struct Farm {
    harness: Harness,
    bff: Bff,
    cookie: String,
    mode: RefreshTokenMode,
}

async fn farm(mode: RefreshTokenMode, ttl: u64, vars: &[(&str, &str)]) -> Farm {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::with_mode(&[port], mode, Duration::from_secs(ttl)).await;
    let bff = harness.bff_with(listener, NEW_KEY, vars).await;
    let (cookie, _) = bff.login("ada").await;
    Farm {
        harness,
        bff,
        cookie,
        mode,
    }
}

impl Farm {
    fn renews(&self) -> bool {
        self.mode != RefreshTokenMode::None
    }

    async fn eggs(&self, cookie: &str) -> Answer {
        self.bff.api(Method::GET, "/api/eggs", cookie, None).await
    }

    /// `GET /api/eggs` with the login cookie from a client that gives up after 200 ms: hyper
    /// drops the BFF's handler for that request.
    async fn abandon_eggs(&self) {
        let impatient = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let abandoned = impatient
            .get(self.bff.url("/api/eggs"))
            .header("cookie", &self.cookie)
            .header("x-csrf", "1")
            .send()
            .await;
        assert!(abandoned.is_err(), "the request was abandoned");
    }

    /// No replayed refresh token reached COOP, and no grant was revoked.
    async fn assert_no_replay(&self) {
        let replays = self.harness.replays().await;
        println!(
            "COOP counters [{:?}]: reuse_detections={} grants_revoked={}",
            self.mode, replays.0, replays.1
        );
        assert_eq!(replays, (0, 0), "reuse detections, grants revoked");
    }
}

/// Without a refresh token there is nothing to renew with: the session ends, honestly.
fn assert_session_ended(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(answer.body["error"], "reauthentication_required");
    let cleared = session_set_cookie(&answer.headers).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

macro_rules! suite {
    ($($mode:ident => $value:expr),* $(,)?) => {$(
        mod $mode {
            use super::*;
            const MODE: RefreshTokenMode = $value;

            #[tokio::test]
            async fn renews_before_expiry_and_keeps_renewing() {
                super::renews_before_expiry_and_keeps_renewing(MODE).await
            }
            #[tokio::test]
            async fn renews_and_retries_once_on_401_invalid_token() {
                super::renews_and_retries_once_on_401_invalid_token(MODE).await
            }
            #[tokio::test]
            async fn fifty_parallel_requests_make_one_refresh() {
                super::fifty_parallel_requests_make_one_refresh(MODE).await
            }
            #[tokio::test]
            async fn an_old_cookie_gets_the_new_tokens_not_a_replay() {
                super::an_old_cookie_gets_the_new_tokens_not_a_replay(MODE).await
            }
            #[tokio::test]
            async fn loss_1_an_abandoned_request_does_not_lose_the_rotated_token() {
                super::an_abandoned_request_does_not_lose_the_rotated_token(MODE).await
            }
            #[tokio::test]
            async fn loss_1_a_refresh_slower_than_the_wait_lands_for_the_next_request() {
                super::a_refresh_slower_than_the_wait_lands_for_the_next_request(MODE).await
            }
            #[tokio::test]
            async fn loss_2_a_renewal_reaches_the_browser_on_an_upstream_5xx() {
                super::a_renewal_reaches_the_browser_on_an_upstream_5xx(MODE).await
            }
            #[tokio::test]
            async fn loss_3_a_remembered_token_is_never_handed_out_expired() {
                super::a_remembered_token_is_never_handed_out_expired(MODE).await
            }
            #[tokio::test]
            async fn loss_5_short_lived_tokens_are_not_renewed_on_every_request() {
                super::short_lived_tokens_are_not_renewed_on_every_request(MODE).await
            }
            #[tokio::test]
            async fn a_revoked_grant_ends_the_session() {
                super::a_revoked_grant_ends_the_session(MODE).await
            }
            #[tokio::test]
            async fn an_outage_keeps_the_session_and_recovers() {
                super::an_outage_keeps_the_session_and_recovers(MODE).await
            }
            #[tokio::test]
            async fn a_bare_401_renews_at_most_once_and_never_loops() {
                super::a_bare_401_renews_at_most_once_and_never_loops(MODE).await
            }
        }
    )*};
}

suite!(rotate => RefreshTokenMode::Rotate, reuse => RefreshTokenMode::Reuse, none => RefreshTokenMode::None);

async fn renews_before_expiry_and_keeps_renewing(mode: RefreshTokenMode) {
    let farm = farm(mode, 60, &[]).await;
    let fresh = farm.eggs(&farm.cookie).await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert_eq!(
        farm.harness.refreshes().await,
        0,
        "a fresh token needs no renewal"
    );

    farm.harness.advance(Duration::from_secs(61));
    let first = farm.eggs(&farm.cookie).await;
    if !farm.renews() {
        return assert_session_ended(&first);
    }
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(farm.harness.refreshes().await, 1);
    let renewed = first
        .cookie()
        .expect("the renewed tokens come back in a new cookie");
    let (_, info) = farm.bff.session(Some(&renewed)).await;
    assert!(info["renewed_at"].as_i64().is_some());

    // The new cookie holds the current refresh token: using it is no replay.
    farm.harness.advance(Duration::from_secs(61));
    let second = farm
        .bff
        .api(Method::POST, "/api/eggs", &renewed, Some(json!({ "count": 4 })))
        .await;
    assert_eq!(
        (second.status, second.body["count"].as_i64()),
        (StatusCode::CREATED, Some(4))
    );
    assert_eq!(farm.harness.refreshes().await, 2);
    farm.assert_no_replay().await;
}

async fn renews_and_retries_once_on_401_invalid_token(mode: RefreshTokenMode) {
    let farm = farm(mode, 600, &[]).await;
    // COOP revokes the access tokens (not the grant): the API answers 401 invalid_token.
    farm.harness
        .dev("access-tokens/revoke", json!({ "username": "ada" }))
        .await;
    let retried = farm
        .bff
        .api(
            Method::POST,
            "/api/eggs",
            &farm.cookie,
            Some(json!({ "count": 3 })),
        )
        .await;
    if !farm.renews() {
        return assert_session_ended(&retried);
    }
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.body);
    assert_eq!(retried.body["count"], 3, "the POST reached the API exactly once");
    assert_eq!(farm.harness.refreshes().await, 1);
    assert!(retried.cookie().is_some());
    farm.assert_no_replay().await;
}

async fn fifty_parallel_requests_make_one_refresh(mode: RefreshTokenMode) {
    let farm = Arc::new(farm(mode, 60, &[]).await);
    farm.harness.advance(Duration::from_secs(61));
    let requests = (0..50).map(|_| {
        let farm = farm.clone();
        tokio::spawn(async move { farm.eggs(&farm.cookie).await })
    });
    for answer in futures_util::future::join_all(requests).await {
        let answer = answer.unwrap();
        if !farm.renews() {
            assert_session_ended(&answer);
            continue;
        }
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert!(answer.cookie().is_some(), "every request gets the new cookie");
    }
    let expected = u64::from(farm.renews());
    assert_eq!(
        farm.harness.refreshes().await,
        expected,
        "the provider saw one refresh"
    );
    farm.assert_no_replay().await;
}

async fn an_old_cookie_gets_the_new_tokens_not_a_replay(mode: RefreshTokenMode) {
    let farm = farm(mode, 60, &[]).await;
    farm.harness.advance(Duration::from_secs(61));
    let first = farm.eggs(&farm.cookie).await;
    if !farm.renews() {
        return assert_session_ended(&first);
    }
    assert_eq!(first.status, StatusCode::OK);
    // A tab still sending the cookie from before the rotation.
    let late = farm.eggs(&farm.cookie).await;
    assert_eq!(late.status, StatusCode::OK, "{}", late.body);
    assert!(late.cookie().is_some(), "and it is given the new cookie");
    assert_eq!(farm.harness.refreshes().await, 1, "no second refresh");
    farm.assert_no_replay().await;
}

/// Waits (bounded) until COOP has answered `n` refreshes.
async fn until_refreshes(harness: &Harness, n: u64) {
    for _ in 0..200 {
        if harness.refreshes().await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("COOP never answered {n} refreshes");
}

/// Loss 1: the browser goes away while COOP holds back the answer of a refresh it has done.
async fn an_abandoned_request_does_not_lose_the_rotated_token(mode: RefreshTokenMode) {
    let farm = farm(mode, 60, &[]).await;
    farm.harness.advance(Duration::from_secs(61));
    if !farm.renews() {
        return assert_session_ended(&farm.eggs(&farm.cookie).await);
    }
    farm.harness.faults(json!({ "answer_delay_ms": 1500 })).await;
    farm.abandon_eggs().await;
    // COOP has rotated (its counters count before the held-back answer).
    until_refreshes(&farm.harness, 1).await;
    farm.harness.clear_faults().await;
    // The browser comes back with the only cookie it has: the old one.
    let back = farm.eggs(&farm.cookie).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert!(back.cookie().is_some(), "it is given the rotated tokens");
    assert_eq!(farm.harness.refreshes().await, 1, "no second refresh");
    farm.assert_no_replay().await;
    let with_new = farm.eggs(&back.cookie().unwrap()).await;
    assert_eq!(with_new.status, StatusCode::OK);
}

/// Loss 1, the timeout shape: the request stops waiting (503, retry) but the refresh goes on.
async fn a_refresh_slower_than_the_wait_lands_for_the_next_request(mode: RefreshTokenMode) {
    let farm = farm(mode, 60, &[("TOPCLUCK_REFRESH_WAIT_MS", "200")]).await;
    farm.harness.advance(Duration::from_secs(61));
    farm.harness.faults(json!({ "answer_delay_ms": 1500 })).await;
    let waited = farm.eggs(&farm.cookie).await;
    if !farm.renews() {
        return assert_session_ended(&waited);
    }
    assert_eq!(waited.status, StatusCode::SERVICE_UNAVAILABLE, "{}", waited.body);
    assert_eq!(waited.body["error"], "temporarily_unavailable");
    assert!(waited.headers.get("retry-after").is_some());
    assert!(
        session_set_cookie(&waited.headers).is_none(),
        "the session is kept"
    );
    until_refreshes(&farm.harness, 1).await;
    farm.harness.clear_faults().await;
    // The retry joins the refresh still in flight (or finds its answer remembered).
    let mut answer = farm.eggs(&farm.cookie).await;
    for _ in 0..20 {
        if answer.status != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        answer = farm.eggs(&farm.cookie).await;
    }
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.cookie().is_some());
    assert_eq!(farm.harness.refreshes().await, 1, "no second refresh");
    farm.assert_no_replay().await;
}

/// An upstream that fails every request with this status.
async fn failing_upstream(status: u16) -> String {
    let listener = listener().await;
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move || async move {
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            "the egg API is down",
        )
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/api")
}

/// Loss 2: the session layer skips 5xx responses; the renewed cookie must not be skipped.
async fn a_renewal_reaches_the_browser_on_an_upstream_5xx(mode: RefreshTokenMode) {
    for status in [500u16, 502, 503] {
        let upstream = failing_upstream(status).await;
        let farm = farm(mode, 60, &[("TOPCLUCK_API_URL", &upstream)]).await;
        farm.harness.advance(Duration::from_secs(61));
        let failed = farm.eggs(&farm.cookie).await;
        if !farm.renews() {
            return assert_session_ended(&failed);
        }
        assert_eq!(failed.status.as_u16(), status);
        let renewed = failed.cookie().expect("the renewed cookie arrives with the 5xx");
        // Past the successor window, only the new cookie's refresh token is usable.
        farm.harness.advance(Duration::from_secs(181));
        let next = farm.eggs(&renewed).await;
        assert_eq!(next.status.as_u16(), status);
        assert_eq!(farm.harness.refreshes().await, 2);
        farm.assert_no_replay().await;
    }
    // The BFF's own 502 (upstream unreachable) after a renewal carries the cookie too.
    let closed = listener().await.local_addr().unwrap().port();
    let farm = farm(
        mode,
        60,
        &[("TOPCLUCK_API_URL", &format!("http://127.0.0.1:{closed}/api"))],
    )
    .await;
    farm.harness.advance(Duration::from_secs(61));
    let unreachable = farm.eggs(&farm.cookie).await;
    assert_eq!(unreachable.status, StatusCode::BAD_GATEWAY);
    assert_eq!(unreachable.body["error"], "bad_gateway");
    assert!(
        unreachable.cookie().is_some(),
        "the renewed cookie arrives with the 502"
    );
}

/// Loss 3: a remembered result whose access token has since expired.
async fn a_remembered_token_is_never_handed_out_expired(mode: RefreshTokenMode) {
    let farm = farm(mode, 10, &[("TOPCLUCK_REFRESH_SKEW", "2")]).await;
    farm.harness.advance(Duration::from_secs(11));
    let first = farm.eggs(&farm.cookie).await;
    if !farm.renews() {
        return assert_session_ended(&first);
    }
    assert_eq!(first.status, StatusCode::OK);
    // Within the successor window, the remembered access token expires too.
    farm.harness.advance(Duration::from_secs(11));
    for round in 0..3 {
        let old = farm.eggs(&farm.cookie).await;
        assert_eq!(old.status, StatusCode::OK, "round {round}: {}", old.body);
    }
    assert_eq!(
        farm.harness.refreshes().await,
        2,
        "one more refresh, then remembered"
    );
    farm.assert_no_replay().await;
}

/// Loss 5: access tokens shorter-lived than the skew.
async fn short_lived_tokens_are_not_renewed_on_every_request(mode: RefreshTokenMode) {
    // 4-second tokens, the default 30-second skew.
    let farm = farm(mode, 4, &[]).await;
    for _ in 0..5 {
        assert_eq!(farm.eggs(&farm.cookie).await.status, StatusCode::OK);
    }
    assert_eq!(
        farm.harness.refreshes().await,
        0,
        "a 4-second token is fresh for 3 seconds"
    );
    farm.harness.advance(Duration::from_secs(4));
    let mut cookie = farm.cookie.clone();
    for _ in 0..3 {
        let answer = farm.eggs(&cookie).await;
        if !farm.renews() {
            return assert_session_ended(&answer);
        }
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        cookie = answer.cookie().unwrap_or(cookie);
    }
    assert_eq!(
        farm.harness.refreshes().await,
        1,
        "one refresh per expiry, not per request"
    );
    // Past the second expiry (a non-rotating provider used to fail every request from here).
    farm.harness.advance(Duration::from_secs(4));
    for _ in 0..3 {
        let answer = farm.eggs(&cookie).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        cookie = answer.cookie().unwrap_or(cookie);
    }
    assert_eq!(farm.harness.refreshes().await, 2);
    farm.assert_no_replay().await;
}

async fn a_revoked_grant_ends_the_session(mode: RefreshTokenMode) {
    let farm = farm(mode, 60, &[]).await;
    farm.harness
        .dev("grants/revoke", json!({ "username": "ada" }))
        .await;
    // Reactive: the API refuses the revoked grant's token; the refresh is refused too.
    let answer = farm.eggs(&farm.cookie).await;
    assert_session_ended(&answer);
    if farm.renews() {
        assert_eq!(farm.harness.refreshes().await, 0, "the refresh was refused");
    }
    // The one grant revoked is the test's own (/dev/grants/revoke); no reuse detection.
    let replays = farm.harness.replays().await;
    println!(
        "COOP counters [{:?}] (grant revoked on purpose): reuse_detections={} grants_revoked={}",
        farm.mode, replays.0, replays.1
    );
    assert_eq!(replays, (0, 1));
}

async fn an_outage_keeps_the_session_and_recovers(mode: RefreshTokenMode) {
    let farm = farm(mode, 60, &[]).await;
    farm.harness.advance(Duration::from_secs(61));
    farm.harness.faults(json!({ "unavailable_seconds": 60 })).await;
    let down = farm.eggs(&farm.cookie).await;
    if !farm.renews() {
        return assert_session_ended(&down);
    }
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.body["error"], "temporarily_unavailable");
    assert!(down.headers.get("retry-after").is_some());
    assert!(
        session_set_cookie(&down.headers).is_none(),
        "the cookie is untouched"
    );
    assert_eq!(farm.bff.session(Some(&farm.cookie)).await.0, StatusCode::OK);
    farm.harness.clear_faults().await;
    let up = farm.eggs(&farm.cookie).await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    farm.assert_no_replay().await;
}

/// An upstream answering bare 401s (no `WWW-Authenticate: … invalid_token`), counting them.
async fn bare_401_upstream() -> (String, Arc<std::sync::atomic::AtomicU64>) {
    let hits = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let listener = listener().await;
    let addr = listener.local_addr().unwrap();
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async { (axum::http::StatusCode::UNAUTHORIZED, "no") }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/api"), hits)
}

/// A bare 401 is passed through; it renews (and retries once) only for a token in use for
/// 30 seconds or more, so it never loops and costs at most one refresh per 30 seconds.
async fn a_bare_401_renews_at_most_once_and_never_loops(mode: RefreshTokenMode) {
    let (upstream, hits) = bare_401_upstream().await;
    let farm = farm(mode, 600, &[("TOPCLUCK_API_URL", &upstream)]).await;
    let young = farm.eggs(&farm.cookie).await;
    assert_eq!(young.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "passed through, not retried"
    );
    assert_eq!(farm.harness.refreshes().await, 0);

    farm.harness.advance(Duration::from_secs(31));
    let old = farm.eggs(&farm.cookie).await;
    if !farm.renews() {
        return assert_session_ended(&old);
    }
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    assert_eq!(hits.load(std::sync::atomic::Ordering::Relaxed), 3, "one retry");
    assert_eq!(farm.harness.refreshes().await, 1);
    let renewed = old
        .cookie()
        .expect("the renewal reaches the browser with the 401");
    let again = farm.eggs(&renewed).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert_eq!(hits.load(std::sync::atomic::Ordering::Relaxed), 4);
    assert_eq!(
        farm.harness.refreshes().await,
        1,
        "no refresh for a token just renewed"
    );
    farm.assert_no_replay().await;
}

#[tokio::test]
async fn refuses_path_escapes_missing_csrf_and_anonymous_calls() {
    let farm = farm(RefreshTokenMode::Rotate, 60, &[]).await;
    let (bff, cookie) = (&farm.bff, &farm.cookie);
    for target in [
        "/api/../dev/counters",
        "/api/%2e%2e/dev/counters",
        "/api/eggs%2f..%2f..%2fdev%2fcounters",
        "/api/.%2E/jwks.json",
    ] {
        assert_eq!(raw_get(&bff.base, target, cookie).await, 400, "{target}");
    }
    let no_csrf = fetch(http().get(bff.url("/api/eggs")).header("cookie", cookie)).await;
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let cross_origin = fetch(
        http()
            .post(bff.url("/api/eggs"))
            .header("cookie", cookie)
            .header("x-csrf", "1")
            .header("origin", "https://evil.example")
            .json(&json!({ "count": 1 })),
    )
    .await;
    assert_eq!(
        cross_origin.status(),
        StatusCode::FORBIDDEN,
        "the proxy checks Origin like /bff does"
    );
    let anonymous = fetch(http().get(bff.url("/api/eggs")).header("x-csrf", "1")).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.json::<serde_json::Value>().await.unwrap()["error"],
        "unauthenticated"
    );
    // Upstream statuses pass through: the egg API's own 400.
    let bad = bff
        .api(Method::POST, "/api/eggs", cookie, Some(json!({ "count": -1 })))
        .await;
    assert_eq!(
        (bad.status, bad.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502() {
    let closed = listener().await.local_addr().unwrap().port();
    let api = format!("http://127.0.0.1:{closed}/api");
    let farm = farm(RefreshTokenMode::Rotate, 60, &[("TOPCLUCK_API_URL", &api)]).await;
    let answer = farm.eggs(&farm.cookie).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    assert_eq!(answer.body["error"], "bad_gateway");
}

/// Loss 4: a session too large for a browser cookie is refused with a clear error — and what
/// the provider issued for it is revoked — instead of a cookie the browser silently drops.
#[tokio::test]
async fn loss_4_an_oversized_session_is_refused_and_revoked_never_sent() {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let sizes = [1000usize, 1500, 2000, 2500, 3000];
    let mut harness = Harness::start_with(&[port], |config| {
        for size in sizes {
            config.users.push(coop::User {
                username: format!("big{size}"),
                name: "N".repeat(size),
                email: format!("big{size}@coop.example"),
            });
        }
    })
    .await;
    let bff = harness.bff(listener, NEW_KEY).await;
    let (mut kept, mut refused) = (Vec::new(), Vec::new());
    for size in sizes {
        let farmer = format!("big{size}");
        let pending = bff.authorize(&farmer).await;
        let answer = bff.complete(&pending).await;
        let status = answer.status();
        let set_cookie = session_set_cookie(answer.headers());
        let body: serde_json::Value = answer.json().await.unwrap();
        if status == StatusCode::OK {
            let line = set_cookie.expect("a kept session has a cookie");
            println!("name of {size} bytes: Set-Cookie {} bytes", line.len());
            assert!(line.len() <= 4096, "a browser would drop {} bytes", line.len());
            kept.push(size);
        } else {
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
            assert_eq!(body["error"], "session_too_large");
            assert!(
                set_cookie.is_none_or(|c| c.contains("Max-Age=0")),
                "no session cookie"
            );
            let grants = harness.grants(&farmer).await;
            assert!(
                grants["grants"][0]["revoked_reason"].is_string(),
                "what was issued is revoked: {grants}"
            );
            refused.push(size);
        }
    }
    println!("kept: {kept:?}, refused: {refused:?}");
    assert!(
        !kept.is_empty() && !refused.is_empty(),
        "kept {kept:?}, refused {refused:?}"
    );
}

/// `invalid_client` is our misconfiguration: 500 with a clear message, and the farmer's session
/// (and grant) survive it.
#[tokio::test]
async fn a_refused_client_is_a_500_that_keeps_the_session() {
    let ([good_listener, bad_listener], ports) = listeners().await;
    let mut harness = Harness::with_mode(&ports, RefreshTokenMode::Rotate, Duration::from_secs(60)).await;
    let good = harness.bff(good_listener, NEW_KEY).await;
    let misconfigured = harness
        .bff_with(
            bad_listener,
            NEW_KEY,
            &[("TOPCLUCK_CLIENT_SECRET", "not-the-secret")],
        )
        .await;
    let (cookie, _) = good.login("ada").await;
    harness.advance(Duration::from_secs(61));
    let refused = misconfigured.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(
        refused.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["error"], "client_misconfigured");
    assert!(
        session_set_cookie(&refused.headers).is_none(),
        "the cookie is kept"
    );
    let fine = good.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.body);
    assert_eq!(harness.replays().await, (0, 0));
}

/// A session ends when its refresh token does (`refresh_expires_in`), and the session
/// endpoint, `/api` and server rendering agree on it — without asking the provider.
#[tokio::test]
async fn a_session_ends_with_its_refresh_token_and_every_view_agrees() {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::start_with(&[port], |config| {
        config.access_token_ttl = Duration::from_secs(60);
        config.refresh_token_ttl = Duration::from_secs(600);
    })
    .await;
    let bff = harness.bff(listener, NEW_KEY).await;
    let (cookie, set_cookie) = bff.login("ada").await;
    let (_, info) = bff.session(Some(&cookie)).await;
    let refresh_expires = info["refresh_token_expires_at"].as_i64().expect("COOP says when");
    let session_expires = info["session_expires_at"].as_i64().unwrap();
    assert_eq!(
        session_expires, refresh_expires,
        "the session never outlives its refresh token"
    );
    let max_age: i64 = set_cookie
        .split("Max-Age=")
        .nth(1)
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.parse().ok())
        .expect("a Max-Age");
    assert!(
        (595..=600).contains(&max_age),
        "the cookie ends with the session: {max_age}"
    );

    harness.advance(Duration::from_secs(601));
    let (status, body) = bff.session(Some(&cookie)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("reauthentication_required"))
    );
    let answer = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(answer.body["error"], "reauthentication_required");
    assert!(session_set_cookie(&answer.headers).is_some_and(|c| c.contains("Max-Age=0")));
    let page = fetch(http().get(bff.url("/")).header("cookie", &cookie)).await;
    assert!(session_set_cookie(page.headers()).is_some_and(|c| c.contains("Max-Age=0")));
    let page = page.text().await.unwrap();
    assert!(page.contains("Log in") && !page.contains("Log out"), "{page}");
    assert_eq!(harness.refreshes().await, 0, "a dead refresh token is not sent");
}

/// A token endpoint that answers something other than OAuth (a proxy's login page) is a 502,
/// not an endless "retry later"; the session is kept and recovers when the provider does.
#[tokio::test]
async fn an_unreadable_token_answer_is_a_502_that_keeps_the_session() {
    let farm = farm(RefreshTokenMode::Rotate, 60, &[]).await;
    farm.harness.advance(Duration::from_secs(61));
    farm.harness.faults(json!({ "unreadable_answer": true })).await;
    let answer = farm.eggs(&farm.cookie).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.body);
    assert_eq!(answer.body["error"], "bad_gateway");
    assert!(answer.headers.get("retry-after").is_none());
    assert!(
        session_set_cookie(&answer.headers).is_none(),
        "the cookie is kept"
    );
    farm.harness.clear_faults().await;
    let recovered = farm.eggs(&farm.cookie).await;
    assert_eq!(recovered.status, StatusCode::OK, "{}", recovered.body);
    farm.assert_no_replay().await;
}

/// A cookie from two rotations ago is answered with the newest tokens, never with an
/// intermediate refresh token that is already used (found in review: the browser was handed
/// R1 after R1→R2, and replayed it once the cache forgot).
#[tokio::test]
async fn a_cookie_two_rotations_old_is_given_the_newest_tokens() {
    let farm = farm(RefreshTokenMode::Rotate, 600, &[]).await;
    let (harness, c0) = (&farm.harness, farm.cookie.clone());
    harness
        .dev("access-tokens/revoke", json!({ "username": "ada" }))
        .await;
    let c1 = farm.eggs(&c0).await.cookie().expect("R0 -> R1");
    harness
        .dev("access-tokens/revoke", json!({ "username": "ada" }))
        .await;
    let c2 = farm.eggs(&c1).await.cookie().expect("R1 -> R2");
    assert_eq!(harness.refreshes().await, 2);
    // A request sent before the browser had C1 arrives now, with C0.
    let late = farm.eggs(&c0).await;
    assert_eq!(late.status, StatusCode::OK, "{}", late.body);
    let kept = late.cookie().expect("a cookie");
    let (_, newest) = farm.bff.session(Some(&c2)).await;
    let (_, given) = farm.bff.session(Some(&kept)).await;
    assert_eq!(
        given["access_token_expires_at"],
        newest["access_token_expires_at"]
    );
    // Long after every remembered outcome is gone, the cookie the browser kept still renews.
    harness.advance(Duration::from_secs(601));
    let later = farm.eggs(&kept).await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.body);
    assert_eq!(harness.refreshes().await, 3);
    farm.assert_no_replay().await;
}

/// Logging out while a refresh of the same session is in flight: the refresh's late answer
/// must not bring the session back, and what it brought is revoked.
#[tokio::test]
async fn a_logout_during_a_refresh_is_not_undone_by_its_answer() {
    let farm = farm(RefreshTokenMode::Rotate, 60, &[]).await;
    farm.harness.advance(Duration::from_secs(61));
    farm.harness.faults(json!({ "answer_delay_ms": 1500 })).await;
    let (url, cookie) = (farm.bff.url("/api/eggs"), farm.cookie.clone());
    let in_flight =
        tokio::spawn(
            async move { fetch(http().get(url).header("cookie", cookie).header("x-csrf", "1")).await },
        );
    until_refreshes(&farm.harness, 1).await;
    let out = fetch(
        http()
            .post(farm.bff.url("/bff/logout"))
            .header("cookie", &farm.cookie)
            .header("x-csrf", "1"),
    )
    .await;
    assert_eq!(out.status(), StatusCode::OK);
    let answer = in_flight.await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let set = session_set_cookie(answer.headers());
    assert!(
        set.as_deref().is_none_or(|c| c.contains("Max-Age=0")),
        "no live cookie after logout: {set:?}"
    );
    let again = farm.eggs(&farm.cookie).await;
    assert_eq!(again.body["error"], "reauthentication_required");
    // The grant is over at COOP: the refresh token the late answer carried was revoked.
    let grants = farm.harness.grants("ada").await;
    assert!(grants["grants"][0]["revoked_reason"].is_string(), "{grants}");
    assert_eq!(farm.harness.replays().await.0, 0, "no reuse detection");
}

/// A request that follows a remembered rotation and then cannot refresh (COOP down) still
/// stores the successor it followed: the browser is never left holding only a used token.
#[tokio::test]
async fn a_followed_successor_is_stored_even_when_the_next_refresh_fails() {
    let farm = farm(RefreshTokenMode::Rotate, 60, &[]).await;
    farm.harness.advance(Duration::from_secs(61));
    farm.harness.faults(json!({ "answer_delay_ms": 1000 })).await;
    farm.abandon_eggs().await;
    until_refreshes(&farm.harness, 1).await;
    // Wait (bounded) until the late answer is remembered: one outcome, not a bare slot.
    let renewer = farm.bff.renewer.as_ref().unwrap();
    for _ in 0..100 {
        if let (1, bytes, _) = renewer.cache_usage()
            && bytes > 200
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    farm.harness.advance(Duration::from_secs(50)); // the successor's access token is now stale
    farm.harness.faults(json!({ "unavailable_seconds": 300 })).await;
    let down = farm.eggs(&farm.cookie).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE, "{}", down.body);
    let followed = down
        .cookie()
        .expect("the followed successor is stored with the 503");
    farm.harness.clear_faults().await;
    farm.harness.advance(Duration::from_secs(130)); // every remembered outcome is gone
    let back = farm.eggs(&followed).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    farm.assert_no_replay().await;
}
