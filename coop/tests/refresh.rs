//! The refresh-token grant over HTTP: rotation and reuse detection, reuse mode, no-refresh
//! mode, sliding and absolute expiry, down-scoping, and what does not consume a token.

use std::time::Duration;

use coop::testkit::*;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn rotation_issues_a_new_refresh_token_and_a_replay_revokes_the_grant() {
    let coop = TestCoop::start().await;
    let first = coop.login("topcluck", ALL_SCOPES).await;
    let old = first.refresh_token.unwrap();
    let second = coop.refresh("topcluck", &old, None).await.expect_ok();
    let new = second.refresh_token.clone().unwrap();
    assert_ne!(old, new);
    let third = coop.refresh("topcluck", &new, None).await.expect_ok();
    let newest = third.refresh_token.unwrap();

    // Replaying a used refresh token (no grace period) kills the whole grant.
    coop.refresh("topcluck", &old, None).await.expect_invalid_grant();
    coop.refresh("topcluck", &newest, None)
        .await
        .expect_invalid_grant();
    let (status, _, _) = coop
        .api(Method::GET, "/api/eggs", &third.access_token, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let counters = coop.counters().await;
    assert_eq!(counters["reuse_detections"], 1);
    assert_eq!(counters["grants_revoked"], 1);
    assert_eq!(counters["token_requests"]["refresh_token"]["ok"], 2);
    assert_eq!(counters["token_requests"]["refresh_token"]["invalid_grant"], 2);
}

#[tokio::test]
async fn reuse_mode_returns_the_same_refresh_token_every_time() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("reuser", ALL_SCOPES).await;
    let refresh_token = tokens.refresh_token.unwrap();
    for _ in 0..3 {
        let again = coop.refresh("reuser", &refresh_token, None).await.expect_ok();
        assert_eq!(again.refresh_token.as_deref(), Some(refresh_token.as_str()));
    }
    assert_eq!(coop.counters().await["reuse_detections"], 0);
}

#[tokio::test]
async fn no_refresh_mode_issues_none_and_refuses_the_grant() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("norefresh", ALL_SCOPES).await;
    assert!(tokens.refresh_token.is_none());
    coop.refresh("norefresh", "anything", None)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn refresh_tokens_slide_but_not_past_the_absolute_maximum() {
    // Minutes of COOP's clock, moved with POST /dev/clock: no test sleeps.
    let coop = TestCoop::start_with(|config| {
        config.refresh_token_ttl = Duration::from_secs(100);
        config.refresh_token_max_lifetime = Duration::from_secs(300);
    })
    .await;
    let mut refresh_token = coop.login("topcluck", ALL_SCOPES).await.refresh_token.unwrap();
    // Each use within the sliding window extends it: 3 × 90 s outlives the 100 s TTL.
    for _ in 0..3 {
        assert_eq!(coop.advance_clock(90).await.0, StatusCode::OK);
        refresh_token = coop
            .refresh("topcluck", &refresh_token, None)
            .await
            .expect_ok()
            .refresh_token
            .unwrap();
    }
    // 310 s in: the sliding window would reach 370 s, but the grant ended at 300 s.
    coop.advance_clock(40).await;
    let late = coop.refresh("topcluck", &refresh_token, None).await;
    late.expect_invalid_grant();
    assert_eq!(late.body["error_description"], "the refresh token has expired");

    // An idle token lives its sliding window and no longer.
    let idle = coop.login("topcluck", ALL_SCOPES).await.refresh_token.unwrap();
    let expired = coop.login("topcluck", ALL_SCOPES).await.refresh_token.unwrap();
    coop.advance_clock(95).await;
    coop.refresh("topcluck", &idle, None).await.expect_ok();
    coop.advance_clock(10).await;
    let idle_too_long = coop.refresh("topcluck", &expired, None).await;
    idle_too_long.expect_invalid_grant();
    assert_eq!(
        idle_too_long.body["error_description"],
        "the refresh token has expired"
    );
    let counters = coop.counters().await;
    assert_eq!(counters["token_requests"]["refresh_token"]["ok"], 4);
    assert_eq!(counters["token_requests"]["refresh_token"]["invalid_grant"], 2);
    assert_eq!(counters["reuse_detections"], 0);
}

#[tokio::test]
async fn scope_on_refresh_may_only_narrow_and_a_refused_widening_consumes_nothing() {
    let coop = TestCoop::start().await;
    let refresh_token = coop.login("topcluck", ALL_SCOPES).await.refresh_token.unwrap();

    coop.refresh("topcluck", &refresh_token, Some("eggs:read eggs:admin"))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_scope");
    coop.refresh("topcluck", &refresh_token, Some("offline_access"))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_scope");

    let narrow = coop
        .refresh("topcluck", &refresh_token, Some("eggs:read"))
        .await
        .expect_ok();
    assert_eq!(narrow.scope, "eggs:read");
    assert_eq!(claims(&narrow.access_token)["scope"], "eggs:read");
    let (status, _, challenge) = coop.lay_eggs(&narrow.access_token, 1).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge.unwrap().contains("insufficient_scope"));

    // The grant keeps its full scope.
    let full = coop
        .refresh("topcluck", narrow.refresh_token.as_deref().unwrap(), None)
        .await
        .expect_ok();
    assert_eq!(full.scope, "eggs:read eggs:write email openid profile");
    assert_eq!(coop.counters().await["reuse_detections"], 0);
}

#[tokio::test]
async fn failures_other_than_reuse_or_expiry_do_not_consume_the_refresh_token() {
    let coop = TestCoop::start().await;
    let refresh_token = coop.login("topcluck", ALL_SCOPES).await.refresh_token.unwrap();

    let wrong_secret = backend()
        .post(coop.url("/token"))
        .basic_auth("topcluck", Some("wrong"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    coop.refresh("reuser", &refresh_token, None)
        .await
        .expect_invalid_grant();

    // An outage: 503 temporarily_unavailable with Retry-After, token untouched.
    let faults = fetch(
        backend()
            .post(coop.url("/dev/faults"))
            .json(&serde_json::json!({ "unavailable_seconds": 30 })),
    )
    .await;
    assert_eq!(faults.status(), StatusCode::NO_CONTENT);
    let down = coop.refresh("topcluck", &refresh_token, None).await;
    down.expect_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    let retry_after: u64 = down
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "Retry-After {retry_after}");
    backend().delete(coop.url("/dev/faults")).send().await.unwrap();

    coop.refresh("topcluck", &refresh_token, None).await.expect_ok();
    let counters = coop.counters().await;
    assert_eq!(counters["reuse_detections"], 0);
    assert_eq!(
        counters["token_requests"]["refresh_token"]["temporarily_unavailable"],
        1
    );
}

#[tokio::test]
async fn the_fault_switch_can_add_latency() {
    let coop = TestCoop::start().await;
    let refresh_token = coop.login("topcluck", ALL_SCOPES).await.refresh_token.unwrap();
    fetch(
        backend()
            .post(coop.url("/dev/faults"))
            .json(&serde_json::json!({ "latency_ms": 400 })),
    )
    .await;
    let started = std::time::Instant::now();
    coop.refresh("topcluck", &refresh_token, None).await.expect_ok();
    assert!(started.elapsed() >= Duration::from_millis(400));
}
