//! The authorization endpoint and the code grant, over HTTP: login form, state, nonce, PKCE,
//! prompt, implicit refused, code replay, client authentication, ID and access tokens.

use coop::testkit::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn code_flow_issues_signed_tokens_that_verify_with_the_jwks() {
    let coop = TestCoop::start().await;
    let discovery: Value = json_of(backend().get(coop.url("/.well-known/openid-configuration"))).await;
    assert_eq!(discovery["issuer"], coop.base);
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(discovery["response_types_supported"], serde_json::json!(["code"]));

    let browser = browser();
    let pkce = Pkce::new();
    let page = fetch(browser.get(coop.authorize_url("topcluck", ALL_SCOPES, &pkce, &[]))).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Log in to COOP"));
    let redirect = coop.submit(&browser, &page, Form::Login("ada")).await;
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    let location = location(&redirect);
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let query = query_of(&location);
    assert_eq!(query["state"], "state-123");
    assert_eq!(query["iss"], coop.base);

    let tokens = coop
        .redeem("topcluck", &query["code"], &pkce.verifier)
        .await
        .expect_ok();
    assert_eq!(tokens.token_type, "Bearer");
    assert!(tokens.refresh_token.is_some());

    let jwks: JwkSet = json_of(backend().get(discovery["jwks_uri"].as_str().unwrap())).await;
    let header = jsonwebtoken::decode_header(&tokens.access_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[format!("{}/api", coop.base)]);
    validation.set_issuer(&[&coop.base]);
    let access: Value = jsonwebtoken::decode(&tokens.access_token, &key, &validation)
        .unwrap()
        .claims;
    for claim in ["iss", "sub", "aud", "scope", "exp", "iat", "jti", "client_id"] {
        assert!(
            access.get(claim).is_some(),
            "access token lacks {claim}: {access}"
        );
    }
    assert_eq!(access["sub"], "ada");
    assert_eq!(access["scope"], "eggs:read eggs:write email openid profile");

    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["topcluck"]);
    validation.set_issuer(&[&coop.base]);
    let id: Value = jsonwebtoken::decode(tokens.id_token.as_deref().unwrap(), &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(
        (id["sub"].as_str(), id["nonce"].as_str()),
        (Some("ada"), Some("nonce-456"))
    );
    assert_eq!(
        (id["name"].as_str(), id["email"].as_str()),
        (Some("Ada Henhouse"), Some("ada@coop.example"))
    );

    let userinfo: Value = json_of(
        backend()
            .get(coop.url("/userinfo"))
            .bearer_auth(&tokens.access_token),
    )
    .await;
    assert_eq!(userinfo["name"], "Ada Henhouse");
}

#[tokio::test]
async fn login_form_refuses_unknown_farmers_and_a_missing_csrf_token() {
    let coop = TestCoop::start().await;
    let browser = browser();
    let pkce = Pkce::new();
    let page =
        text_of(browser.get(coop.authorize_url("topcluck", "openid", &pkce, &[("login_hint", "bert")])))
            .await;
    assert!(
        page.contains(r#"value="bert""#),
        "login_hint does not pre-fill the form"
    );
    let refused = coop.submit(&browser, &page, Form::Login("nobody")).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains("COOP has no farmer named"));

    let form = [
        ("request", hidden(&page, "request")),
        ("csrf", "forged".to_owned()),
        ("username", "ada".to_owned()),
    ];
    let forged = fetch(browser.post(coop.url("/authorize/login")).form(&form)).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn only_the_code_flow_with_pkce_s256_is_accepted() {
    let coop = TestCoop::start().await;
    let browser = browser();
    let pkce = Pkce::new();
    let cases: [(&[(&str, &str)], &str); 2] = [
        (&[("response_type", "token")], "unsupported_response_type"),
        (
            &[("response_type", "id_token token")],
            "unsupported_response_type",
        ),
    ];
    for (extra, error) in cases {
        let mut url = url::Url::parse(&coop.authorize_url("topcluck", "openid", &pkce, &[])).unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .filter(|(k, _)| k != "response_type")
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(pairs)
            .extend_pairs(extra.iter());
        let response = browser.get(url).send().await.unwrap();
        let query = query_of(&location(&response));
        assert_eq!(query["error"], error);
        assert_eq!(query["state"], "state-123");
    }

    for (challenge_method, error) in [(Some("plain"), "invalid_request"), (None, "invalid_request")] {
        let mut url = url::Url::parse(&coop.url("/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", "topcluck")
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", "openid")
            .append_pair("code_challenge", &pkce.challenge);
        if let Some(method) = challenge_method {
            url.query_pairs_mut().append_pair("code_challenge_method", method);
        }
        let query = query_of(&location(&browser.get(url).send().await.unwrap()));
        assert_eq!(query["error"], error, "method {challenge_method:?}");
    }
    let no_pkce = coop
        .authorize_url("topcluck", "openid", &pkce, &[])
        .replace(&format!("code_challenge={}", pkce.challenge), "x=1");
    let query = query_of(&location(&browser.get(no_pkce).send().await.unwrap()));
    assert_eq!(query["error"], "invalid_request");
    assert!(query["error_description"].contains("PKCE"));

    // An unknown client or unregistered redirect_uri is shown, never redirected to.
    let unregistered = coop
        .authorize_url("topcluck", "openid", &pkce, &[])
        .replace("127.0.0.1%3A3000", "evil.example");
    let response = browser.get(unregistered).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    let unknown = coop.authorize_url("stranger", "openid", &pkce, &[]);
    assert_eq!(
        browser.get(unknown).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused_and_leaves_the_code_usable() {
    let coop = TestCoop::start().await;
    let pkce = Pkce::new();
    let code = coop
        .authorize_with_form(&browser(), "topcluck", "openid", &pkce, "ada")
        .await;
    coop.redeem("topcluck", &code, &Pkce::new().verifier)
        .await
        .expect_invalid_grant();
    coop.redeem("topcluck", &code, "too-short")
        .await
        .expect_invalid_grant();
    coop.redeem("reuser", &code, &pkce.verifier)
        .await
        .expect_invalid_grant();
    coop.redeem("topcluck", &code, &pkce.verifier).await.expect_ok();
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let coop = TestCoop::start().await;
    let pkce = Pkce::new();
    let code = coop
        .authorize_with_form(&browser(), "topcluck", ALL_SCOPES, &pkce, "ada")
        .await;
    let tokens = coop.redeem("topcluck", &code, &pkce.verifier).await.expect_ok();
    coop.redeem("topcluck", &code, &pkce.verifier)
        .await
        .expect_invalid_grant();

    let (status, _, challenge) = coop
        .api(reqwest::Method::GET, "/api/eggs", &tokens.access_token, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().contains(r#"error="invalid_token""#));
    coop.refresh_from("topcluck", &tokens)
        .await
        .expect_invalid_grant();
    assert_eq!(coop.counters().await["grants_revoked"], 1);
}

#[tokio::test]
async fn prompt_none_answers_login_required_without_a_session_and_a_code_with_one() {
    let coop = TestCoop::start().await;
    let browser = browser();
    let pkce = Pkce::new();
    let silent = coop.authorize_url("topcluck", "openid", &pkce, &[("prompt", "none")]);
    let query = query_of(&location(&browser.get(&silent).send().await.unwrap()));
    assert_eq!(query["error"], "login_required");
    assert_eq!(query["state"], "state-123");

    coop.authorize_with_form(&browser, "topcluck", "openid", &pkce, "clara")
        .await;
    let query = query_of(&location(&browser.get(&silent).send().await.unwrap()));
    let tokens = coop
        .redeem("topcluck", &query["code"], &pkce.verifier)
        .await
        .expect_ok();
    assert_eq!(claims(&tokens.access_token)["sub"], "clara");

    // With a session, no prompt gives a code at once; prompt=login shows the form again.
    let again = fetch(browser.get(coop.authorize_url("topcluck", "openid", &pkce, &[]))).await;
    assert!(query_of(&location(&again)).contains_key("code"));
    let forced =
        fetch(browser.get(coop.authorize_url("topcluck", "openid", &pkce, &[("prompt", "login")]))).await;
    assert_eq!(forced.status(), StatusCode::OK);
    assert!(forced.text().await.unwrap().contains("Farmer name"));
}

#[tokio::test]
async fn auto_login_issues_a_code_with_no_form() {
    let coop = TestCoop::start_with(|config| config.auto_login = Some("bert".into())).await;
    let pkce = Pkce::new();
    let response = fetch(browser().get(coop.authorize_url("topcluck", "openid", &pkce, &[]))).await;
    let code = &query_of(&location(&response))["code"];
    let tokens = coop.redeem("topcluck", code, &pkce.verifier).await.expect_ok();
    assert_eq!(claims(&tokens.access_token)["sub"], "bert");
}

#[tokio::test]
async fn client_authentication_failures_answer_401_invalid_client() {
    let coop = TestCoop::start().await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    let cases = [
        backend().post(coop.url("/token")).form(&form),
        backend()
            .post(coop.url("/token"))
            .basic_auth("topcluck", Some("wrong"))
            .form(&form),
        backend()
            .post(coop.url("/token"))
            .basic_auth("stranger", Some(SECRET))
            .form(&form),
        backend().post(coop.url("/token")).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", "topcluck"),
            ("client_secret", "wrong"),
        ]),
        backend()
            .post(coop.url("/token"))
            .header("authorization", "Basic !!!")
            .form(&form),
    ];
    for request in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get("www-authenticate").is_some());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
    // client_secret_post works; two methods at once are refused.
    let post = backend()
        .post(coop.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", "topcluck"),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(post.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let both = backend()
        .post(coop.url("/token"))
        .basic_auth("topcluck", Some(SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    assert_eq!(both.json::<Value>().await.unwrap()["error"], "invalid_request");
}
