//! Token introspection (RFC 7662) at `POST /introspect`, over HTTP: refresh tokens are active
//! until rotated, revoked or expired, access tokens while the egg API would accept them; a
//! client sees only its own tokens (another client's answer `{"active": false}`); client
//! authentication as at `/token`; the outage fault takes it down; counted in `/dev/counters`;
//! advertised in discovery, and absent (404) with `Config::introspection` off.

use std::time::{SystemTime, UNIX_EPOCH};

use coop::COUNTING_CLIENT_ID;
use coop::testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const GRANT_SCOPE: &str = "eggs:read eggs:write email openid profile";

fn refresh_token(tokens: &Tokens) -> &str {
    tokens.refresh_token.as_deref().unwrap()
}

fn wall_clock_s() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Asserts the answer for a token that is not active: 200 and nothing but `active: false`.
fn assert_inactive((status, body): (StatusCode, Value)) {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "active": false }));
}

#[tokio::test]
async fn a_refresh_token_is_active_with_its_grants_claims_until_it_is_rotated() {
    let coop = TestCoop::start().await;
    let before = wall_clock_s();
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    let after = wall_clock_s();

    let response = fetch(
        backend()
            .post(coop.url("/introspect"))
            .basic_auth("topcluck", Some(SECRET))
            .form(&[("token", refresh_token(&tokens))]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], "topcluck");
    assert_eq!(body["sub"], "ada");
    assert_eq!(body["scope"], GRANT_SCOPE);
    assert_eq!(body["token_type"], "refresh_token");
    let iat = body["iat"].as_i64().unwrap();
    assert!((before..=after).contains(&iat), "iat {iat}");
    // The sliding lifetime: 8 hours by default.
    assert_eq!(body["exp"].as_i64().unwrap() - iat, 8 * 3600, "{body}");

    // The hint is not needed, and a wrong one changes nothing (RFC 7662 §2.1).
    let (_, hinted) = coop
        .introspect_with(
            "topcluck",
            &[
                ("token", refresh_token(&tokens)),
                ("token_type_hint", "access_token"),
            ],
        )
        .await;
    assert_eq!(hinted, body);

    // Rotated away: the old one is inactive, its successor active.
    let rotated = coop
        .refresh("topcluck", refresh_token(&tokens), None)
        .await
        .expect_ok();
    assert_inactive(coop.introspect("topcluck", refresh_token(&tokens)).await);
    assert!(coop.active("topcluck", refresh_token(&rotated)).await);
    // Asking consumes nothing and detects no reuse.
    assert!(coop.active("topcluck", refresh_token(&rotated)).await);
    coop.refresh("topcluck", refresh_token(&rotated), None)
        .await
        .expect_ok();
    let counters = coop.counters().await;
    assert_eq!(counters["reuse_detections"], 0);
    assert_eq!(counters["introspections"], 5, "{counters}");
    assert_eq!(counters["introspection_outcomes"]["active"], 4);
    assert_eq!(counters["introspection_outcomes"]["inactive"], 1);
}

#[tokio::test]
async fn an_access_token_is_active_while_the_egg_api_accepts_it() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    let (status, body) = coop
        .introspect_with(
            "topcluck",
            &[
                ("token", tokens.access_token.as_str()),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let jwt = claims(&tokens.access_token);
    assert_eq!(
        body,
        json!({
            "active": true,
            "client_id": "topcluck",
            "sub": "ada",
            "scope": jwt["scope"],
            "exp": jwt["exp"],
            "iat": jwt["iat"],
            "token_type": "access_token",
        })
    );

    // Revoked on its own: inactive, and the refresh token lives on.
    assert_eq!(
        coop.revoke("topcluck", &tokens.access_token).await.0,
        StatusCode::OK
    );
    assert_inactive(coop.introspect("topcluck", &tokens.access_token).await);
    assert!(coop.active("topcluck", refresh_token(&tokens)).await);

    // Expired on COOP's clock (60 s access tokens): inactive; the refresh token is not.
    let refreshed = coop
        .refresh("topcluck", refresh_token(&tokens), None)
        .await
        .expect_ok();
    assert!(coop.active("topcluck", &refreshed.access_token).await);
    coop.advance_clock(61).await;
    assert!(!coop.token_alive(&refreshed.access_token).await);
    assert_inactive(coop.introspect("topcluck", &refreshed.access_token).await);
    assert!(coop.active("topcluck", refresh_token(&refreshed)).await);

    // The grant revoked: its refresh token and its newest access token are inactive.
    let fresh = coop
        .refresh("topcluck", refresh_token(&refreshed), None)
        .await
        .expect_ok();
    assert!(coop.active("topcluck", &fresh.access_token).await);
    let (status, _) = coop.revoke_grants(json!({ "username": "ada" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_inactive(coop.introspect("topcluck", &fresh.access_token).await);
    assert_inactive(coop.introspect("topcluck", refresh_token(&fresh)).await);

    // An ID token is no token introspection knows.
    assert_inactive(
        coop.introspect("topcluck", tokens.id_token.as_deref().unwrap())
            .await,
    );
}

#[tokio::test]
async fn another_clients_tokens_are_inactive_to_a_client_and_stay_alive() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    for token in [refresh_token(&tokens), tokens.access_token.as_str()] {
        assert_inactive(coop.introspect(COUNTING_CLIENT_ID, token).await);
        assert_inactive(coop.introspect("reuser", token).await);
        assert!(coop.active("topcluck", token).await);
    }
    assert!(coop.token_alive(&tokens.access_token).await);
    coop.refresh("topcluck", refresh_token(&tokens), None)
        .await
        .expect_ok();
}

#[tokio::test]
async fn unknown_expired_and_malformed_tokens_are_inactive() {
    let coop = TestCoop::start_with(|config| {
        config.refresh_token_ttl = std::time::Duration::from_secs(100);
    })
    .await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    for token in [
        "not-a-token",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEifQ.",
        "%00",
    ] {
        assert_inactive(coop.introspect("topcluck", token).await);
    }
    // A refresh token idle past its sliding lifetime.
    assert!(coop.active("topcluck", refresh_token(&tokens)).await);
    coop.advance_clock(101).await;
    assert_inactive(coop.introspect("topcluck", refresh_token(&tokens)).await);
    let counters = coop.counters().await;
    assert_eq!(counters["introspection_outcomes"]["inactive"], 5, "{counters}");
}

#[tokio::test]
async fn introspection_authenticates_clients_as_the_token_endpoint_does() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    let token = refresh_token(&tokens);
    let post = |form: Vec<(&'static str, String)>| backend().post(coop.url("/introspect")).form(&form).send();

    // client_secret_post.
    let answer = post(vec![
        ("client_id", "topcluck".into()),
        ("client_secret", SECRET.into()),
        ("token", token.into()),
    ])
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.json::<Value>().await.unwrap()["active"], true);

    // No client authentication, a wrong secret, an unknown client: 401 invalid_client.
    for form in [
        vec![("token", token.to_owned())],
        vec![
            ("client_id", "topcluck".into()),
            ("client_secret", "wrong".into()),
            ("token", token.into()),
        ],
        vec![
            ("client_id", "stranger".into()),
            ("client_secret", SECRET.into()),
            ("token", token.into()),
        ],
    ] {
        let answer = post(form).await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(answer.headers()["www-authenticate"], r#"Basic realm="coop""#);
        assert_eq!(answer.json::<Value>().await.unwrap()["error"], "invalid_client");
    }
    let wrong_basic = fetch(
        backend()
            .post(coop.url("/introspect"))
            .basic_auth("topcluck", Some("wrong"))
            .form(&[("token", token)]),
    )
    .await;
    assert_eq!(wrong_basic.status(), StatusCode::UNAUTHORIZED);

    // No token, or an empty one: 400 invalid_request.
    for form in [
        &[][..],
        &[("token", "")][..],
        &[("token_type_hint", "refresh_token")][..],
    ] {
        let (status, body) = coop.introspect_with("topcluck", form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_request");
    }
    // The token sent twice: 400 invalid_request.
    let (status, body) = coop
        .introspect_with("topcluck", &[("token", token), ("token", token)])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    let outcomes = coop.counters().await["introspection_outcomes"].clone();
    assert_eq!(
        outcomes,
        json!({ "active": 1, "invalid_client": 4, "invalid_request": 4 })
    );
    // Nothing was consumed.
    coop.refresh("topcluck", token, None).await.expect_ok();
}

#[tokio::test]
async fn an_outage_takes_introspection_down_until_it_ends() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    coop.set_faults(json!({ "unavailable_seconds": 30 })).await;
    let down = fetch(
        backend()
            .post(coop.url("/introspect"))
            .basic_auth("topcluck", Some(SECRET))
            .form(&[("token", refresh_token(&tokens))]),
    )
    .await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after: u64 = down.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        down.json::<Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );

    // The outage is timed on COOP's clock.
    coop.advance_clock(31).await;
    assert!(coop.active("topcluck", refresh_token(&tokens)).await);
    coop.set_faults(json!({ "unavailable_seconds": 30 })).await;
    coop.clear_faults().await;
    assert!(coop.active("topcluck", refresh_token(&tokens)).await);
    let counters = coop.counters().await;
    assert_eq!(counters["introspections"], 3);
    assert_eq!(counters["introspection_outcomes"]["temporarily_unavailable"], 1);
}

#[tokio::test]
async fn discovery_names_the_introspection_endpoint_and_a_coop_without_it_answers_404() {
    let coop = TestCoop::start().await;
    let discovery = coop.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        discovery["introspection_endpoint"],
        coop.url("/introspect").as_str()
    );
    assert_eq!(
        discovery["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );

    let without = TestCoop::start_with(|config| config.introspection = false).await;
    let discovery = without.get_json("/.well-known/openid-configuration").await;
    assert!(discovery.get("introspection_endpoint").is_none(), "{discovery}");
    assert!(
        discovery
            .get("introspection_endpoint_auth_methods_supported")
            .is_none()
    );
    assert!(discovery.get("revocation_endpoint").is_some());
    let tokens = without.login("topcluck", ALL_SCOPES).await;
    let (status, _) = without.introspect("topcluck", refresh_token(&tokens)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(without.counters().await["introspections"], 0);
}
