//! The egg API's fault (`POST /dev/faults` `{"api_status", "api_status_seconds"}`): the API
//! answers that 5xx for a while, or until cleared, while the provider goes on working.

use coop::testkit::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// `GET /api/eggs` with `access_token`: the status and the `error` of the body, if any.
async fn eggs(coop: &TestCoop, access_token: &str) -> (StatusCode, Value) {
    let (status, body, _) = coop.api(Method::GET, "/api/eggs", access_token, None).await;
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    (status, body["error"].clone())
}

#[tokio::test]
async fn the_api_answers_the_status_for_the_seconds_asked_while_tokens_are_still_refreshed() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    assert_eq!(eggs(&coop, &tokens.access_token).await.0, StatusCode::OK);

    coop.set_faults(json!({ "api_status": 503, "api_status_seconds": 10 }))
        .await;
    assert_eq!(
        eggs(&coop, &tokens.access_token).await,
        (StatusCode::SERVICE_UNAVAILABLE, json!("server_error"))
    );
    // Every API route, whatever the token: the fault comes before the bearer is looked at.
    let (status, _, _) = coop.api(Method::GET, "/api/me", "not-a-token", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // The provider is not down: a refresh rotates as usual.
    let refreshed = coop
        .refresh("topcluck", tokens.refresh_token.as_deref().unwrap(), None)
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);

    // Over on COOP's clock.
    assert_eq!(coop.advance_clock(11).await.0, StatusCode::OK);
    let access_token = refreshed.body["access_token"].as_str().unwrap();
    assert_eq!(eggs(&coop, access_token).await.0, StatusCode::OK);
    assert_eq!(coop.counters().await["reuse_detections"], 0);
}

#[tokio::test]
async fn without_seconds_the_api_fails_until_cleared_and_only_a_5xx_is_taken() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;

    coop.set_faults(json!({ "api_status": 502 })).await;
    assert_eq!(coop.advance_clock(3600).await.0, StatusCode::OK);
    assert_eq!(eggs(&coop, &tokens.access_token).await.0, StatusCode::BAD_GATEWAY);
    coop.clear_faults().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    assert_eq!(eggs(&coop, &tokens.access_token).await.0, StatusCode::OK);

    // Not a server error: off.
    coop.set_faults(json!({ "api_status": 404 })).await;
    assert_eq!(eggs(&coop, &tokens.access_token).await.0, StatusCode::OK);
}
