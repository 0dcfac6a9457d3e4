//! OpenID Connect Back-Channel Logout 1.0, COOP's side, over HTTP: ID tokens carry the COOP
//! session's `sid`; discovery says so; logging out of COOP posts a signed logout token (with
//! `sub` and that `sid`) to each client of the session that registered a back-channel logout URI
//! — a real endpoint here, [`receiver`] —; revoking a farmer's grants posts one with `sub` alone;
//! every delivery's outcome is counted.

use coop::testkit::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// COOP whose `topcluck` client registered `uri` as its back-channel logout URI (`reuser`
/// registered none).
async fn coop_posting_to(uri: &str) -> TestCoop {
    let uri = uri.to_owned();
    TestCoop::start_with(move |config| {
        config.backchannel_logout_uris.insert("topcluck".into(), uri);
    })
    .await
}

/// `token` checked as a client would: COOP's signature (its JWKS), `typ`, `iss`, `aud`; its
/// header and claims.
async fn verified(coop: &TestCoop, token: &str) -> (jsonwebtoken::Header, Value) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwks: JwkSet = get_json(&coop.url("/jwks.json"))
        .await
        .as_object()
        .map(|o| serde_json::from_value(Value::Object(o.clone())).unwrap())
        .unwrap();
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[&coop.base]);
    validation.set_audience(&["topcluck"]);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud", "iat", "exp"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims;
    (header, claims)
}

/// A logout token as §2.4 has it: typed, fresh, short-lived, the event, no nonce.
fn assert_logout_token(coop: &TestCoop, header: &jsonwebtoken::Header, claims: &Value) {
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(header.alg, Algorithm::ES256);
    let now = coop.clock().now_s();
    let iat = claims["iat"].as_i64().unwrap();
    assert!((now - 5..=now).contains(&iat), "iat {iat}, now {now}");
    assert_eq!(claims["exp"].as_i64().unwrap(), iat + 120);
    assert!(
        claims["jti"].as_str().is_some_and(|jti| jti.len() >= 32),
        "{claims}"
    );
    assert_eq!(claims["events"], json!({ LOGOUT_EVENT: {} }));
    assert!(claims.get("nonce").is_none(), "{claims}");
}

#[tokio::test]
async fn id_tokens_carry_the_coop_sessions_sid_and_discovery_advertises_back_channel_logout() {
    let coop = TestCoop::start().await;
    let discovery = coop.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["backchannel_logout_supported"], true);
    assert_eq!(discovery["backchannel_logout_session_supported"], true);
    assert!(
        discovery["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("sid"))
    );

    let (browser, first) = coop.browser_login("topcluck", "openid", "ada").await;
    let sid = claims(first.id_token.as_deref().unwrap())["sid"].clone();
    assert!(sid.as_str().is_some_and(|s| s.len() >= 20), "{sid}");
    // The same COOP session, another client: the same sid.
    let code = coop
        .authorize_with_form(&browser, "reuser", "openid", &Pkce::of("v".repeat(43)), "ada")
        .await;
    let again = coop.redeem("reuser", &code, &"v".repeat(43)).await.expect_ok();
    assert_eq!(claims(again.id_token.as_deref().unwrap())["sid"], sid);
    // Another browser, another COOP session: another sid; neither is a cookie value.
    let (other, second) = coop.browser_login("topcluck", "openid", "ada").await;
    let other_sid = claims(second.id_token.as_deref().unwrap())["sid"].clone();
    assert_ne!(other_sid, sid);
    let cookies = format!("{:?}{:?}", browser, other);
    assert!(!cookies.contains(sid.as_str().unwrap()));
}

#[tokio::test]
async fn logging_out_of_coop_posts_a_signed_logout_token_with_sub_and_sid_to_each_registered_client() {
    let (uri, received) = receiver().await;
    let coop = coop_posting_to(&uri).await;
    let (browser, tokens) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
    let sid = claims(tokens.id_token.as_deref().unwrap())["sid"].clone();
    // `reuser` has a grant of the same session but no back-channel logout URI: not told.
    let code = coop
        .authorize_with_form(&browser, "reuser", "openid", &Pkce::of("w".repeat(43)), "ada")
        .await;
    coop.redeem("reuser", &code, &"w".repeat(43)).await.expect_ok();

    let answer = coop.end_session_confirmed(&browser).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(!coop.session_alive(&browser).await);

    let requests = received.all();
    assert_eq!(requests.len(), 1, "one logout token, to topcluck only");
    let content_type = requests[0].0["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    let token = &received.tokens()[0];
    let (header, logout) = verified(&coop, token).await;
    assert_logout_token(&coop, &header, &logout);
    assert_eq!(header.kid.as_deref(), Some(coop.key_id().as_str()));
    assert_eq!(
        (logout["sub"].clone(), logout["sid"].clone()),
        (json!("ada"), sid)
    );
    println!("logout token claims: {logout}");
    assert_eq!(
        coop.backchannel_logouts().await,
        json!({ "topcluck": { "200": 1 } })
    );

    // Logging out again (no COOP session left) tells nobody anything.
    let again = fetch(browser.get(coop.end_session_url(&[]))).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(received.all().len(), 1);
}

#[tokio::test]
async fn revoking_a_farmers_grants_posts_a_logout_token_with_sub_alone_to_their_clients() {
    let (uri, received) = receiver().await;
    let coop = coop_posting_to(&uri).await;
    coop.login("topcluck", ALL_SCOPES).await;
    coop.login("reuser", "openid").await;

    // Only reuser's grants: reuser registered no URI, nothing is sent.
    let (status, body) = coop
        .revoke_grants(json!({ "username": "ada", "client_id": "reuser" }))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "revoked": 1 })));
    assert!(received.all().is_empty());
    assert_eq!(
        coop.grants("ada")
            .await
            .iter()
            .filter(|g| g["revoked"] == false)
            .count(),
        1
    );

    let (status, body) = coop
        .revoke_grants(json!({ "username": "ada", "client_id": "topcluck" }))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "revoked": 1 })));
    let tokens = received.tokens();
    assert_eq!(tokens.len(), 1);
    let (header, logout) = verified(&coop, &tokens[0]).await;
    assert_logout_token(&coop, &header, &logout);
    assert_eq!(logout["sub"], "ada");
    assert!(
        logout.get("sid").is_none(),
        "grant revocation names no session: {logout}"
    );

    // Nothing left to revoke: nobody is told again.
    let (_, body) = coop.revoke_grants(json!({ "username": "ada" })).await;
    assert_eq!(body, json!({ "revoked": 0 }));
    assert_eq!(received.all().len(), 1);
    assert_eq!(
        coop.backchannel_logouts().await,
        json!({ "topcluck": { "200": 1 } })
    );
}

#[tokio::test]
async fn a_client_that_cannot_be_reached_is_counted_and_the_logout_still_completes() {
    let closed = {
        let listener = listener().await;
        listener.local_addr().unwrap()
    };
    let coop = coop_posting_to(&format!("http://{closed}/backchannel-logout")).await;
    let (browser, tokens) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
    let answer = coop.end_session_confirmed(&browser).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(!coop.session_alive(&browser).await);
    assert!(
        !coop.token_alive(&tokens.access_token).await,
        "the online grant is revoked"
    );
    assert_eq!(
        coop.backchannel_logouts().await,
        json!({ "topcluck": { "unreachable": 1 } })
    );
}

/// The logout tokens `received` holds once there are `n` (COOP sends these in the
/// background, after its answer), each checked as a client would.
async fn tokens_eventually(coop: &TestCoop, received: &Received, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while received.tokens().len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{} logout tokens, not {n}",
            received.tokens().len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut claims = Vec::new();
    for token in received.tokens() {
        let (header, logout) = verified(coop, &token).await;
        assert_logout_token(coop, &header, &logout);
        claims.push(logout);
    }
    claims
}

/// COOP revoking a grant on its own tells the client too, with a `sub`-only logout token: a
/// refresh token reused, an authorization code replayed, an RFC 7009 revocation of a refresh
/// token (cascading to its grant). Each once: a second reuse revokes nothing new, and tells
/// nobody again. `reuser` (no URI registered) is never told.
#[tokio::test]
async fn grants_coop_revokes_itself_post_a_logout_token_with_sub_alone() {
    let (uri, received) = receiver().await;
    let coop = coop_posting_to(&uri).await;

    // A refresh token used twice.
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    let first = tokens.refresh_token.clone().unwrap();
    coop.refresh("topcluck", &first, None).await.expect_ok();
    coop.refresh("topcluck", &first, None).await;
    let sent = tokens_eventually(&coop, &received, 1).await;
    assert_eq!((sent[0]["sub"].clone(), sent[0].get("sid")), (json!("ada"), None));

    // An authorization code redeemed twice.
    let (browser, _) = coop.browser_login("topcluck", "openid", "ada").await;
    let verifier = "c".repeat(43);
    let code = coop
        .authorize_with_form(&browser, "topcluck", "openid", &Pkce::of(verifier.clone()), "ada")
        .await;
    coop.redeem("topcluck", &code, &verifier).await.expect_ok();
    coop.redeem("topcluck", &code, &verifier).await;
    let sent = tokens_eventually(&coop, &received, 2).await;
    assert_eq!(sent[1]["sub"], "ada");

    // A refresh token revoked at /revoke: its grant goes with it.
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    let (status, _) = coop
        .revoke("topcluck", tokens.refresh_token.as_deref().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let sent = tokens_eventually(&coop, &received, 3).await;
    assert_eq!(sent[2]["sub"], "ada");

    // Revoking what is revoked already tells nobody again; reuser's grant, nobody at all.
    coop.revoke("topcluck", tokens.refresh_token.as_deref().unwrap())
        .await;
    let reuser = coop.login("reuser", "openid").await;
    let reused = reuser.refresh_token.clone().unwrap();
    coop.refresh("reuser", &reused, None).await;
    coop.refresh("reuser", &reused, None).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(received.tokens().len(), 3);
    assert_eq!(
        coop.backchannel_logouts().await,
        json!({ "topcluck": { "200": 3 } })
    );
}
