//! The fault switch's answers that leave a refresh's outcome uncertain to the client
//! (`POST /dev/faults`): `reset_after_rotate` (the rotation committed, then the connection cut
//! mid-answer), `html_after_rotate` (the rotation committed, then a proxy's HTML page) and
//! `gateway_5xx_html` (a gateway's HTML 5xx, nothing done). Each applies to refreshes only;
//! `DELETE /dev/faults` clears them.

use coop::testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn refresh_token(tokens: &Tokens) -> &str {
    tokens.refresh_token.as_deref().unwrap()
}

/// A refresh as a client backend sends it.
fn refresh_request(coop: &TestCoop, refresh_token: &str) -> reqwest::RequestBuilder {
    backend()
        .post(coop.url("/token"))
        .basic_auth("topcluck", Some(SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
}

/// The rotation of `old` was committed: it is used (inactive at introspection), the refresh
/// was counted, the grant marked used, and no reuse detected.
async fn assert_rotated(coop: &TestCoop, old: &str) {
    assert!(!coop.active("topcluck", old).await, "not rotated");
    let counters = coop.counters().await;
    assert_eq!(counters["token_requests"]["refresh_token"]["ok"], 1, "{counters}");
    assert_eq!(counters["reuse_detections"], 0);
    let grants = coop.grants("ada").await;
    assert!(grants[0]["last_used_at"].is_string(), "{grants:?}");
    assert_eq!(grants[0]["revoked"], false);
}

/// While the faults are on, a code is still redeemed as usual, and a refresh that fails is
/// answered as usual.
async fn assert_only_successful_refreshes_are_hit(coop: &TestCoop) {
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    assert!(coop.token_alive(&tokens.access_token).await);
    let refused = coop.refresh("topcluck", "no-such-token", None).await;
    refused.expect_invalid_grant();
    assert_eq!(refused.headers["content-type"], "application/json");
}

#[tokio::test]
async fn reset_after_rotate_commits_the_rotation_then_cuts_the_connection() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    coop.set_faults(json!({ "reset_after_rotate": true })).await;

    // What the BFF does: send, then read the JSON. It must fail, at one step or the other.
    let answer = async {
        let response = refresh_request(&coop, refresh_token(&tokens)).send().await?;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        response.json::<Value>().await
    }
    .await;
    let error = answer.expect_err("a cut-off answer must not parse");
    assert!(!error.is_timeout(), "{error}");
    assert!(
        error.is_body() || error.is_decode() || error.is_request(),
        "{error:?}"
    );

    assert_rotated(&coop, refresh_token(&tokens)).await;
    assert_only_successful_refreshes_are_hit(&coop).await;

    // Cleared: a refresh answers in full.
    coop.clear_faults().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    let answer = fetch(refresh_request(&coop, refresh_token(&tokens))).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let body: Value = answer.json().await.unwrap();
    assert!(body["refresh_token"].is_string(), "{body}");
}

#[tokio::test]
async fn a_cut_off_answer_shows_a_few_bytes_of_json_then_fails() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    coop.set_faults(json!({ "reset_after_rotate": true })).await;
    let response = refresh_request(&coop, refresh_token(&tokens))
        .send()
        .await
        .expect("the status line and headers arrive");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let length = response.content_length().expect("a Content-Length");
    let mut response = response;
    let mut seen = Vec::new();
    let error = loop {
        match response.chunk().await {
            Ok(Some(bytes)) => seen.extend_from_slice(&bytes),
            Ok(None) => panic!("the body ended cleanly after {seen:?}"),
            Err(error) => break error,
        }
    };
    assert!(error.is_body() || error.is_decode(), "{error:?}");
    // The first 16 bytes of the answer, of a Content-Length far beyond them.
    assert_eq!(String::from_utf8_lossy(&seen), r#"{"access_token":"#);
    assert!(length > 100, "Content-Length {length}");
    assert_rotated(&coop, refresh_token(&tokens)).await;
}

/// Asserts an HTML page (not JSON) answered with `status`; the page.
async fn html_page(answer: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(answer.status(), status);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = answer.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&page).is_err());
    page
}

#[tokio::test]
async fn html_after_rotate_commits_the_rotation_then_answers_a_proxy_page() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    coop.set_faults(json!({ "html_after_rotate": true })).await;

    let answer = fetch(refresh_request(&coop, refresh_token(&tokens))).await;
    let page = html_page(answer, StatusCode::OK).await;
    assert!(page.starts_with("<html>"), "{page}");

    assert_rotated(&coop, refresh_token(&tokens)).await;
    assert_only_successful_refreshes_are_hit(&coop).await;

    // The token it rotated away is a used one now: presented again, it is reuse.
    coop.clear_faults().await;
    coop.refresh("topcluck", refresh_token(&tokens), None)
        .await
        .expect_invalid_grant();
    assert_eq!(coop.counters().await["reuse_detections"], 1);
}

#[tokio::test]
async fn gateway_5xx_html_answers_refreshes_with_an_html_error_and_does_nothing() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    coop.set_faults(json!({ "gateway_5xx_html": 502 })).await;

    for _ in 0..2 {
        let answer = fetch(refresh_request(&coop, refresh_token(&tokens))).await;
        let page = html_page(answer, StatusCode::BAD_GATEWAY).await;
        assert!(page.contains("<html>"), "{page}");
    }
    // Nothing done: the refresh token is as it was.
    assert!(coop.active("topcluck", refresh_token(&tokens)).await);
    let counters = coop.counters().await;
    assert_eq!(
        counters["token_requests"]["refresh_token"],
        json!({ "gateway_5xx_html": 2 })
    );
    assert!(coop.grants("ada").await[0]["last_used_at"].is_null());
    // The code grant is not behind that gateway.
    let other = coop.login("topcluck", ALL_SCOPES).await;
    assert!(coop.token_alive(&other.access_token).await);

    // Another 5xx; a status that is not one switches it off.
    coop.set_faults(json!({ "gateway_5xx_html": 504 })).await;
    let answer = fetch(refresh_request(&coop, refresh_token(&tokens))).await;
    assert_eq!(answer.status(), StatusCode::GATEWAY_TIMEOUT);
    coop.set_faults(json!({ "gateway_5xx_html": 404 })).await;
    coop.refresh("topcluck", refresh_token(&tokens), None)
        .await
        .expect_ok();
}

#[tokio::test]
async fn delete_clears_every_fault_after_rotation() {
    let coop = TestCoop::start().await;
    let mut refresh = coop.login("topcluck", ALL_SCOPES).await.refresh_token.unwrap();
    coop.set_faults(json!({
        "reset_after_rotate": true,
        "html_after_rotate": true,
        "gateway_5xx_html": 503,
    }))
    .await;
    let answer = refresh_request(&coop, &refresh).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    coop.clear_faults().await;
    for _ in 0..2 {
        refresh = coop
            .refresh("topcluck", &refresh, None)
            .await
            .expect_ok()
            .refresh_token
            .unwrap();
    }
}
