//! The authorization response's `iss` (RFC 9207 §2.4) at `POST /bff/login`, through the real
//! BFF and a real COOP over HTTP: COOP says in discovery that it sends `iss`, so a response
//! naming another issuer, or none, is refused before the code reaches COOP's token endpoint
//! (COOP's redemption counter stays 0) and the transaction is used up; against a COOP that does
//! not send it, a login without `iss` works and a wrong one is still refused. The counting
//! consent callback is checked the same way.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

/// `POST /bff/login` for `pending` with `iss` in place of the callback's: the status and error.
async fn complete_with_iss(bff: &Bff, pending: &Pending, iss: Option<&str>) -> (StatusCode, Value) {
    let mut exchange = pending.exchange();
    exchange["iss"] = json!(iss);
    let response = bff.post_login(&exchange, Some(&pending.login_cookie)).await;
    let status = response.status();
    assert!(session_set_cookie(response.headers()).is_none() || status == StatusCode::OK);
    (status, response.json::<Value>().await.unwrap()["error"].clone())
}

#[tokio::test]
async fn a_response_from_another_issuer_or_without_one_is_refused_before_any_code_is_redeemed() {
    let (harness, bff) = Harness::with_one_bff().await;
    let discovery = harness.coop.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["authorization_response_iss_parameter_supported"], true);

    let mixed_up = bff.authorize("ada").await;
    assert_eq!(
        mixed_up.iss.as_deref(),
        Some(harness.coop.base.as_str()),
        "COOP sends it"
    );
    for iss in [
        Some("https://evil.example"),
        Some(&format!("{}/", harness.coop.base)[..]),
        None,
    ] {
        let pending = bff.authorize("ada").await;
        let refused = complete_with_iss(&bff, &pending, iss).await;
        assert_eq!(
            refused,
            (StatusCode::BAD_REQUEST, json!("login_failed")),
            "iss {iss:?}"
        );
        // The transaction is used up: the right iss afterwards finds none.
        let again = complete_with_iss(&bff, &pending, pending.iss.as_deref()).await;
        assert_eq!(again, (StatusCode::BAD_REQUEST, json!("login_not_started")));
    }
    assert_eq!(
        harness.coop.code_redemptions().await,
        0,
        "no code reached COOP's token endpoint"
    );

    // The response COOP really sent logs in.
    let response = bff.complete(&mixed_up).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(harness.coop.code_redemptions().await, 1);
}

#[tokio::test]
async fn without_iss_in_discovery_a_response_without_it_logs_in_and_a_wrong_one_is_refused() {
    let (harness, bff) = Harness::with_one_bff_and(|coop| coop.iss_parameter = false).await;
    let pending = bff.authorize("ada").await;
    assert_eq!(pending.iss, None, "COOP sends no iss");
    assert_eq!(bff.complete(&pending).await.status(), StatusCode::OK);

    let pending = bff.authorize("ada").await;
    let refused = complete_with_iss(&bff, &pending, Some("https://evil.example")).await;
    assert_eq!(refused, (StatusCode::BAD_REQUEST, json!("login_failed")));
    let pending = bff.authorize("ada").await;
    let accepted = complete_with_iss(&bff, &pending, Some(&harness.coop.base)).await;
    assert_eq!(accepted.0, StatusCode::OK);
    assert_eq!(harness.coop.code_redemptions().await, 2);
}

#[tokio::test]
async fn the_counting_consent_callback_checks_iss_the_same_way() {
    let (harness, bff) = Harness::with_one_bff().await;
    let (session, _) = bff.login("ada").await;
    let redeemed = harness.coop.code_redemptions().await;
    let (mut exchange, cookies) = bff.enrol_exchange(&session, "ada").await;
    exchange["iss"] = json!("https://evil.example");
    let response = bff.post_login(&exchange, Some(&cookies)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "login_failed");
    assert_eq!(harness.coop.code_redemptions().await, redeemed);
    assert!(
        harness
            .coop
            .grants("ada")
            .await
            .iter()
            .all(|g| g["offline"] == false)
    );
}
