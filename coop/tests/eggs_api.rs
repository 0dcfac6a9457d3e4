//! The egg API over HTTP: bearer validation (RFC 6750), scopes, counting and bad input.

use std::time::Duration;

use coop::testkit::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn counts_eggs_per_farmer_per_day() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    let (status, body, _) = coop
        .api(Method::GET, "/api/eggs", &tokens.access_token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let today: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(today["count"], 0);
    assert_eq!(today["date"].as_str().unwrap().len(), 10);

    let (status, body, _) = coop.lay_eggs(&tokens.access_token, 5).await;
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["count"].clone()
        ),
        (StatusCode::CREATED, 5.into())
    );
    let (_, body, _) = coop.lay_eggs(&tokens.access_token, 3).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["count"], 8);

    let (status, body, _) = coop.api(Method::GET, "/api/me", &tokens.access_token, None).await;
    assert_eq!(status, StatusCode::OK);
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (me["sub"].as_str(), me["client_id"].as_str()),
        (Some("ada"), Some("topcluck"))
    );
}

#[tokio::test]
async fn bad_bodies_are_400_and_missing_scopes_403() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    for body in [
        "not json",
        r#"{"count": "five"}"#,
        r#"{"count": 0}"#,
        r#"{"count": -3}"#,
        r#"{"eggs": 1}"#,
        r#"{"count": 1e99}"#,
    ] {
        let (status, text, _) = coop
            .api(Method::POST, "/api/eggs", &tokens.access_token, Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap()["error"],
            "invalid_request"
        );
    }
    let read_only = coop.login("topcluck", "openid eggs:read").await;
    let (status, _, challenge) = coop.lay_eggs(&read_only.access_token, 1).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge.unwrap().contains(r#"scope="eggs:write""#));
    let profile_only = coop.login("topcluck", "openid profile").await;
    let (status, _, _) = coop
        .api(Method::GET, "/api/eggs", &profile_only.access_token, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn missing_forged_and_expired_tokens_are_401_invalid_token() {
    let coop = TestCoop::start_with(|config| config.access_token_ttl = Duration::from_secs(60)).await;
    let missing = backend().get(coop.url("/api/eggs")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert!(
        missing
            .headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );

    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    let mut forged = tokens.access_token.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    // An ID token is signed by the same key but is not an access token.
    for token in [forged.as_str(), "garbage", tokens.id_token.as_deref().unwrap()] {
        let (status, _, challenge) = coop.api(Method::GET, "/api/eggs", token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
        assert!(challenge.unwrap().contains(r#"error="invalid_token""#));
    }

    let (status, _, _) = coop
        .api(Method::GET, "/api/eggs", &tokens.access_token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // Expiry is on COOP's clock: still valid 55 s later, expired at 65 s, with no sleep.
    coop.clock().advance(Duration::from_secs(55));
    let (status, _, _) = coop
        .api(Method::GET, "/api/eggs", &tokens.access_token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    coop.clock().advance(Duration::from_secs(10));
    let (status, body, challenge) = coop
        .api(Method::GET, "/api/eggs", &tokens.access_token, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().contains(r#"error="invalid_token""#));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "invalid_token"
    );
}
