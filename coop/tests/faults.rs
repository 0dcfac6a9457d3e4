//! The token endpoint's answer delay (`POST /dev/faults` `{"answer_delay_ms"}`): the work is
//! done and committed before the wait, so a client that gives up has lost a rotated refresh
//! token, the failure a client must survive.

use std::time::{Duration, Instant};

use coop::testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A refresh by a client that waits at most `timeout` for the answer.
fn refresh_request(coop: &TestCoop, refresh_token: &str, timeout: Duration) -> reqwest::RequestBuilder {
    backend()
        .post(coop.url("/token"))
        .basic_auth("topcluck", Some(SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
        .timeout(timeout)
}

/// The counters once `done` holds of them (polled: the server's work and the client's
/// timeout race), or the last ones at `deadline`.
async fn counters_once(coop: &TestCoop, done: impl Fn(&Value) -> bool, deadline: Instant) -> Value {
    loop {
        let counters = coop.counters().await;
        if done(&counters) || Instant::now() > deadline {
            return counters;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn refreshes_ok(counters: &Value) -> bool {
    counters["token_requests"]["refresh_token"]["ok"] == 1
}

#[tokio::test]
async fn a_refresh_whose_answer_is_lost_has_still_rotated_the_refresh_token() {
    let coop = TestCoop::start().await;
    let old = coop.login("topcluck", ALL_SCOPES).await.refresh_token.unwrap();
    let delay = Duration::from_secs(5);
    coop.set_faults(json!({ "answer_delay_ms": delay.as_millis() as u64 }))
        .await;

    let started = Instant::now();
    let gave_up = refresh_request(&coop, &old, Duration::from_millis(500))
        .send()
        .await
        .expect_err("the answer comes after the client's timeout");
    assert!(gave_up.is_timeout(), "{gave_up}");

    // The refresh was done and counted although nobody got its answer, and before the delay
    // was over: the wait comes after the work.
    let counters = counters_once(&coop, refreshes_ok, started + delay).await;
    assert_eq!(counters["token_requests"]["refresh_token"]["ok"], 1, "{counters}");
    assert!(started.elapsed() < delay, "counted only after the delay");
    assert_eq!(counters["reuse_detections"], 0);

    // So the client's only refresh token is now a used one: presenting it again is a replay.
    coop.clear_faults().await;
    let replay = coop.refresh("topcluck", &old, None).await;
    replay.expect_invalid_grant();
    assert_eq!(
        replay.body["error_description"],
        "the refresh token was already used"
    );
    let counters = coop.counters().await;
    assert_eq!(counters["reuse_detections"], 1);
    assert_eq!(counters["grants_revoked"], 1);
    assert_eq!(counters["token_requests"]["refresh_token"]["invalid_grant"], 1);
}

#[tokio::test]
async fn the_answer_waits_after_the_work_and_delete_clears_the_delay() {
    let coop = TestCoop::start().await;
    let refresh_token = coop.login("topcluck", ALL_SCOPES).await.refresh_token.unwrap();
    let delay = Duration::from_secs(3);
    coop.set_faults(json!({ "answer_delay_ms": delay.as_millis() as u64 }))
        .await;

    let started = Instant::now();
    let patient = tokio::spawn(refresh_request(&coop, &refresh_token, Duration::from_secs(10)).send());
    // Counted (so committed) while the answer is still held back.
    let counters = counters_once(&coop, refreshes_ok, started + delay).await;
    assert!(
        refreshes_ok(&counters),
        "not counted before the delay was over: {counters}"
    );
    assert!(started.elapsed() < delay, "counted only after the delay");
    assert!(
        !patient.is_finished(),
        "the answer came before the delay was over"
    );
    let answer = patient.await.unwrap().unwrap();
    assert!(started.elapsed() >= delay);
    assert_eq!(answer.status(), StatusCode::OK);
    let rotated: Value = answer.json().await.unwrap();
    let rotated = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(rotated, refresh_token);

    // Cleared: an answer well within a timeout shorter than the old delay.
    coop.clear_faults().await;
    let answer = refresh_request(&coop, rotated, Duration::from_millis(1000))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}
