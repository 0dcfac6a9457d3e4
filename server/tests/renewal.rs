//! Silent renewal through the `/api` proxy, against a real COOP over HTTP: before expiry and on
//! a 401, rotation stored, a refresh storm collapsing into one refresh, an old cookie replayed
//! after rotation, a revoked grant ending the session, an outage keeping it, and refusals.

mod support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

/// COOP with this access-token TTL and a BFF with this refresh skew, logged in as ada.
async fn setup(ttl_seconds: u64, skew_seconds: &str) -> (Harness, Bff, String) {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::start_with(&[port], |config| {
        config.access_token_ttl = Duration::from_secs(ttl_seconds)
    })
    .await;
    let bff = harness
        .bff_with(listener, NEW_KEY, &[("TOPCLUCK_REFRESH_SKEW", skew_seconds)])
        .await;
    let (cookie, _) = bff.login("ada").await;
    (harness, bff, cookie)
}

#[tokio::test]
async fn renews_before_expiry_and_stores_the_rotated_refresh_token() {
    // A skew longer than the TTL: every call finds the token about to expire.
    let (harness, bff, cookie) = setup(60, "120").await;
    let (_, before) = bff.session(Some(&cookie)).await;
    assert_eq!(before["renewed_at"], serde_json::Value::Null);

    let first = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["count"], 0);
    assert_eq!(harness.refreshes().await, 1);
    let renewed = first
        .cookie()
        .expect("the renewed tokens come back in a new cookie");

    let (_, after) = bff.session(Some(&renewed)).await;
    assert!(after["renewed_at"].as_i64().is_some());
    assert!(after["access_token_expires_at"].as_i64() >= before["access_token_expires_at"].as_i64());

    // The new cookie holds the rotated refresh token: using it is no replay.
    let second = bff
        .api(Method::POST, "/api/eggs", &renewed, Some(json!({ "count": 4 })))
        .await;
    assert_eq!(
        (second.status, second.body["count"].as_i64()),
        (StatusCode::CREATED, Some(4))
    );
    assert_eq!(harness.refreshes().await, 2);
    assert_eq!(harness.counters().await["reuse_detections"], 0);
}

#[tokio::test]
async fn renews_and_retries_once_when_the_api_answers_401_invalid_token() {
    let (harness, bff, cookie) = setup(60, "0").await;
    let ok = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(harness.refreshes().await, 0, "a fresh token needs no renewal");

    // COOP revokes the access tokens (not the grant): the API answers 401 invalid_token.
    harness
        .dev("access-tokens/revoke", json!({ "username": "ada" }))
        .await;
    let retried = bff
        .api(Method::POST, "/api/eggs", &cookie, Some(json!({ "count": 3 })))
        .await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.body);
    assert_eq!(retried.body["count"], 3, "the POST reached the API exactly once");
    assert_eq!(harness.refreshes().await, 1);
    assert!(retried.cookie().is_some());
}

#[tokio::test]
async fn fifty_parallel_requests_with_an_expired_token_make_one_refresh() {
    let (harness, bff, cookie) = setup(1, "0").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let bff = std::sync::Arc::new(bff);
    let requests = (0..50).map(|_| {
        let (bff, cookie) = (bff.clone(), cookie.clone());
        tokio::spawn(async move { bff.api(Method::GET, "/api/eggs", &cookie, None).await })
    });
    let answers = futures_util::future::join_all(requests).await;
    for answer in &answers {
        let answer = answer.as_ref().unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert!(answer.cookie().is_some(), "every request gets the new cookie");
    }
    assert_eq!(harness.refreshes().await, 1, "the provider saw one refresh");
    let counters = harness.counters().await;
    assert_eq!(counters["reuse_detections"], 0);
    assert_eq!(counters["grants_revoked"], 0);
}

#[tokio::test]
async fn an_old_cookie_after_a_rotation_gets_the_new_tokens_instead_of_a_replay() {
    let (harness, bff, old_cookie) = setup(1, "0").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let first = bff.api(Method::GET, "/api/eggs", &old_cookie, None).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(harness.refreshes().await, 1);

    // A tab still sending the cookie from before the rotation (its refresh token is used).
    let late = bff.api(Method::GET, "/api/eggs", &old_cookie, None).await;
    assert_eq!(late.status, StatusCode::OK, "{}", late.body);
    assert!(late.cookie().is_some(), "and it is given the new cookie");
    assert_eq!(harness.refreshes().await, 1, "no second refresh");
    assert_eq!(
        harness.counters().await["reuse_detections"],
        0,
        "no replay reached COOP"
    );
    assert_eq!(
        harness.grants("ada").await["grants"][0]["revoked_reason"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn a_revoked_grant_ends_the_session_and_clears_the_cookie() {
    let (harness, bff, cookie) = setup(60, "120").await;
    harness.dev("grants/revoke", json!({ "username": "ada" })).await;
    let answer = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body["error"], "reauthentication_required");
    let cleared = session_set_cookie(&answer.headers).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The same happens on the reactive path (the API refuses the revoked grant's token).
    let (harness, bff, cookie) = setup(60, "0").await;
    harness.dev("grants/revoke", json!({ "username": "ada" })).await;
    let answer = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(answer.body["error"], "reauthentication_required");
}

#[tokio::test]
async fn a_provider_outage_answers_503_keeps_the_session_and_recovers() {
    let (harness, bff, cookie) = setup(60, "120").await;
    harness.dev("faults", json!({ "unavailable_seconds": 60 })).await;
    let down = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.body["error"], "temporarily_unavailable");
    assert!(down.headers.get("retry-after").is_some());
    assert!(
        session_set_cookie(&down.headers).is_none(),
        "the cookie is untouched"
    );
    assert_eq!(bff.session(Some(&cookie)).await.0, StatusCode::OK);

    let cleared = reqwest::Client::new()
        .delete(format!("{}/dev/faults", harness.coop.issuer))
        .send()
        .await
        .unwrap();
    assert!(cleared.status().is_success());
    let up = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    assert_eq!(harness.counters().await["reuse_detections"], 0);
}

#[tokio::test]
async fn refuses_path_escapes_missing_csrf_and_anonymous_calls() {
    let (_harness, bff, cookie) = setup(60, "0").await;
    for target in [
        "/api/../dev/counters",
        "/api/%2e%2e/dev/counters",
        "/api/eggs%2f..%2f..%2fdev%2fcounters",
        "/api/.%2E/jwks.json",
    ] {
        assert_eq!(raw_get(&bff.base, target, &cookie).await, 400, "{target}");
    }
    let no_csrf = http()
        .get(bff.url("/api/eggs"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let cross_origin = http()
        .post(bff.url("/api/eggs"))
        .header("cookie", &cookie)
        .header("x-csrf", "1")
        .header("origin", "https://evil.example")
        .json(&json!({ "count": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        cross_origin.status(),
        StatusCode::FORBIDDEN,
        "the proxy checks Origin like /bff does"
    );
    let anonymous = http()
        .get(bff.url("/api/eggs"))
        .header("x-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.json::<serde_json::Value>().await.unwrap()["error"],
        "unauthenticated"
    );
    // Upstream statuses pass through: the egg API's own 400.
    let bad = bff
        .api(Method::POST, "/api/eggs", &cookie, Some(json!({ "count": -1 })))
        .await;
    assert_eq!(
        (bad.status, bad.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502() {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::start(&[port]).await;
    let closed = listener_port_closed().await;
    let api = format!("http://127.0.0.1:{closed}/api");
    let bff = harness
        .bff_with(listener, NEW_KEY, &[("TOPCLUCK_API_URL", &api)])
        .await;
    let (cookie, _) = bff.login("ada").await;
    let answer = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    assert_eq!(answer.body["error"], "bad_gateway");
}

/// A loopback port nothing listens on.
async fn listener_port_closed() -> u16 {
    let listener = listener().await;
    listener.local_addr().unwrap().port()
}
