//! Pushed authorization requests (RFC 9126) over HTTP: `POST /par` as a confidential client,
//! `/authorize` with `client_id` and `request_uri` only, the request bound to its client, short
//! lived on COOP's clock and used once; `COOP_PAR=required` and `off`.

use std::time::Duration;

use coop::ParMode;
use coop::testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `request_uri` of a request `client_id` pushed for `pkce` (with `extra`), checked to be
/// accepted.
async fn pushed(coop: &TestCoop, client_id: &str, pkce: &Pkce, extra: &[(&str, &str)]) -> String {
    let (status, body) = coop
        .push(
            client_id,
            &authorization_request(client_id, ALL_SCOPES, pkce, extra),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["request_uri"].as_str().unwrap().to_owned()
}

/// A page's status and whether it says `words` (COOP's 400 pages say why).
async fn page_says(response: reqwest::Response, words: &str) -> (StatusCode, bool) {
    let status = response.status();
    (status, response.text().await.unwrap().contains(words))
}

#[tokio::test]
async fn a_pushed_request_logs_in_from_an_authorize_url_of_client_id_and_request_uri() {
    let coop = TestCoop::start().await;
    let discovery = coop.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        discovery["pushed_authorization_request_endpoint"],
        coop.url("/par")
    );
    assert_eq!(discovery["require_pushed_authorization_requests"], false);

    let pkce = Pkce::new();
    let form = authorization_request("topcluck", ALL_SCOPES, &pkce, &[("login_hint", "bert")]);
    let response = fetch(
        backend()
            .post(coop.url("/par"))
            .basic_auth("topcluck", Some(SECRET))
            .form(&form),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 60);
    let request_uri = body["request_uri"].as_str().unwrap();
    assert!(
        request_uri.starts_with("urn:ietf:params:oauth:request_uri:") && request_uri.len() > 70,
        "{request_uri}"
    );

    // The browser carries only the reference; parameters beside it are ignored (§4).
    let url = coop.pushed_authorize_url("topcluck", request_uri) + "&scope=openid&state=forged";
    let browser = browser();
    let page = text_of(browser.get(&url)).await;
    assert!(page.contains(r#"value="bert""#), "the pushed login_hint: {page}");
    let carried = hidden(&page, "request");
    assert!(
        carried.contains("request_uri=") && !carried.contains("code_challenge"),
        "the form carries the reference, not the request: {carried}"
    );
    let redirect = coop.submit(&browser, &page, Form::Login("ada")).await;
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    let query = query_of(&location(&redirect));
    assert_eq!(
        (query["state"].as_str(), query["iss"].as_str()),
        ("state-123", coop.base.as_str())
    );
    let tokens = coop
        .redeem("topcluck", &query["code"], &pkce.verifier)
        .await
        .expect_ok();
    assert_eq!(claims(tokens.id_token.as_deref().unwrap())["nonce"], "nonce-456");
    assert_eq!(
        tokens.scope, "eggs:read eggs:write email openid profile",
        "the pushed scope, not the one beside request_uri"
    );
    assert_eq!(coop.pushed_requests("ok").await, 1);
}

#[tokio::test]
async fn a_request_uri_is_its_clients_used_once_and_short_lived_on_coops_clock() {
    let coop = TestCoop::start().await;
    let browser = browser();
    let pkce = Pkce::new();

    // Another client's request_uri is as unknown as a made-up one, and does not spoil it.
    let request_uri = pushed(&coop, "topcluck", &pkce, &[]).await;
    let foreign = fetch(browser.get(coop.pushed_authorize_url("reuser", &request_uri))).await;
    assert_eq!(
        page_says(foreign, "unknown").await,
        (StatusCode::BAD_REQUEST, true)
    );
    let page = text_of(browser.get(coop.pushed_authorize_url("topcluck", &request_uri))).await;
    // Reloading the page shows it again (§4 allows it).
    let again = text_of(browser.get(coop.pushed_authorize_url("topcluck", &request_uri))).await;
    assert!(page.contains("Log in to COOP") && again.contains("Log in to COOP"));

    // Opened at /authorize, the farmer has ten minutes for the form, not the push's 60 s.
    coop.clock().advance(Duration::from_secs(300));
    let redirect = coop.submit(&browser, &again, Form::Login("ada")).await;
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    let code = query_of(&location(&redirect))["code"].clone();
    coop.redeem("topcluck", &code, &pkce.verifier).await.expect_ok();

    // Used by its authorization response: refused at /authorize and on the form.
    let used = fetch(browser.get(coop.pushed_authorize_url("topcluck", &request_uri))).await;
    assert_eq!(
        page_says(used, "already used").await,
        (StatusCode::BAD_REQUEST, true)
    );
    let replayed_form = coop.submit(&browser, &again, Form::Login("ada")).await;
    assert_eq!(
        page_says(replayed_form, "already used").await,
        (StatusCode::BAD_REQUEST, true)
    );

    // Another client's /authorize does not open it: it still expires 60 s after its push.
    let probed = pushed(&coop, "topcluck", &pkce, &[]).await;
    let foreign = fetch(browser.get(coop.pushed_authorize_url("reuser", &probed))).await;
    assert_eq!(
        page_says(foreign, "unknown").await,
        (StatusCode::BAD_REQUEST, true)
    );

    // Not opened within 60 s of COOP's clock: expired. 59 s is still in time.
    let late = pushed(&coop, "topcluck", &pkce, &[]).await;
    let in_time = pushed(&coop, "topcluck", &pkce, &[]).await;
    coop.clock().advance(Duration::from_secs(59));
    let response = fetch(browser.get(coop.pushed_authorize_url("topcluck", &in_time))).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a COOP session: a code at once"
    );
    coop.clock().advance(Duration::from_secs(2));
    let expired = fetch(browser.get(coop.pushed_authorize_url("topcluck", &late))).await;
    assert_eq!(
        page_says(expired, "expired").await,
        (StatusCode::BAD_REQUEST, true)
    );
    let probed = fetch(browser.get(coop.pushed_authorize_url("topcluck", &probed))).await;
    assert_eq!(
        page_says(probed, "expired").await,
        (StatusCode::BAD_REQUEST, true),
        "opened by another client's /authorize, it would have had ten minutes"
    );

    // Opened, then left longer than ten minutes: expired too.
    let opened = pushed(&coop, "topcluck", &pkce, &[("prompt", "login")]).await;
    let page = text_of(browser.get(coop.pushed_authorize_url("topcluck", &opened))).await;
    coop.clock().advance(Duration::from_secs(601));
    let stale = coop.submit(&browser, &page, Form::Login("ada")).await;
    assert_eq!(page_says(stale, "expired").await, (StatusCode::BAD_REQUEST, true));

    // An error response uses it up as well: prompt=none without a COOP session.
    let silent = pushed(&coop, "topcluck", &pkce, &[("prompt", "none")]).await;
    let url = coop.pushed_authorize_url("topcluck", &silent);
    let query = query_of(&location(&fresh_get(&url).send().await.unwrap()));
    assert_eq!(
        (
            query["error"].as_str(),
            query["state"].as_str(),
            query["iss"].as_str()
        ),
        ("login_required", "state-123", coop.base.as_str())
    );
    let answered = fetch(fresh_get(&url)).await;
    assert_eq!(
        page_says(answered, "already used").await,
        (StatusCode::BAD_REQUEST, true)
    );

    // Expired requests are purged at the next write.
    coop.clock().advance(Duration::from_secs(601));
    pushed(&coop, "topcluck", &pkce, &[]).await;
    assert_eq!(coop.rows().await["pushed_requests"], 1);
}

/// `GET url` in a browser of its own (no COOP session).
fn fresh_get(url: &str) -> reqwest::RequestBuilder {
    browser().get(url)
}

/// A row of the bad-push table: what it is, the `Authorization` header, the form, the answer
/// expected.
type PushRow<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

#[tokio::test]
async fn par_refuses_what_authorize_refuses_and_unauthenticated_clients() {
    let coop = TestCoop::start().await;
    let mut table = BadInputs::default();
    let pkce = Pkce::new();
    let area = "COOP par";
    let good = authorization_request("topcluck", ALL_SCOPES, &pkce, &[]);
    let with = |name: &'static str, value: &'static str| -> Vec<(&str, &str)> {
        let mut form: Vec<(&str, &str)> = good.iter().copied().filter(|(k, _)| *k != name).collect();
        if !value.is_empty() {
            form.push((name, value));
        }
        form
    };
    let basic_own = basic("Basic", "topcluck", SECRET);
    let basic_wrong = basic("Basic", "topcluck", "wrong");
    let rows: Vec<PushRow<'_>> = vec![
        (
            "no client authentication",
            None,
            good.clone(),
            "401 invalid_client",
        ),
        (
            "a wrong client secret",
            Some(&basic_wrong),
            good.clone(),
            "401 invalid_client",
        ),
        (
            "Basic for topcluck, client_id=reuser in the form",
            Some(&basic_own),
            with("client_id", "reuser"),
            "400 invalid_request",
        ),
        (
            "Basic and client_secret both",
            Some(&basic_own),
            with("client_secret", SECRET),
            "400 invalid_request",
        ),
        (
            "request_uri inside the pushed request",
            Some(&basic_own),
            with("request_uri", "urn:ietf:params:oauth:request_uri:x"),
            "400 invalid_request",
        ),
        (
            "an unregistered redirect_uri",
            Some(&basic_own),
            with("redirect_uri", "https://evil.example/callback"),
            "400 invalid_request",
        ),
        (
            "no redirect_uri",
            Some(&basic_own),
            with("redirect_uri", ""),
            "400 invalid_request",
        ),
        (
            "no code_challenge (PKCE)",
            Some(&basic_own),
            with("code_challenge", ""),
            "400 invalid_request",
        ),
        (
            "code_challenge_method=plain",
            Some(&basic_own),
            with("code_challenge_method", "plain"),
            "400 invalid_request",
        ),
        (
            "response_type=token",
            Some(&basic_own),
            with("response_type", "token"),
            "400 unsupported_response_type",
        ),
        (
            "no scope",
            Some(&basic_own),
            with("scope", ""),
            "400 invalid_scope",
        ),
        (
            "an unknown scope",
            Some(&basic_own),
            with("scope", "openid cows:milk"),
            "400 invalid_scope",
        ),
        (
            "prompt=none login",
            Some(&basic_own),
            with("prompt", "none login"),
            "400 invalid_request",
        ),
    ];
    for (request, authorization, form, expected) in rows {
        let (status, body) = coop.push_with_authorization(authorization, &form).await;
        table.row(area, request, expected, &status_and_error(status, &body), status);
    }
    // client_secret_post works, and is not kept with the request.
    let mut post = good.clone();
    post.push(("client_secret", SECRET));
    let (status, body) = coop.push_with_authorization(None, &post).await;
    table.row(
        area,
        "client_secret_post (accepted)",
        "201 -",
        &status_and_error(status, &body),
        status,
    );
    let (status, body) = coop
        .push(
            "norefresh",
            &authorization_request(
                "norefresh",
                "openid offline_access",
                &pkce,
                &[("prompt", "consent")],
            ),
        )
        .await;
    table.row(
        area,
        "offline_access with consent by a client not allowed it",
        "400 invalid_scope",
        &status_and_error(status, &body),
        status,
    );
    let twice = fetch(
        backend()
            .post(coop.url("/par"))
            .basic_auth("topcluck", Some(SECRET))
            .body("scope=openid&scope=email")
            .header("content-type", "application/x-www-form-urlencoded"),
    )
    .await;
    let status = twice.status();
    let body = twice.json().await.unwrap_or(Value::Null);
    table.row(
        area,
        "a parameter sent twice",
        "400 invalid_request",
        &status_and_error(status, &body),
        status,
    );
    let get = fetch(backend().get(coop.url("/par"))).await;
    table.row(
        area,
        "GET /par",
        "405",
        &get.status().as_u16().to_string(),
        get.status(),
    );
    assert_eq!(
        coop.rows().await["pushed_requests"],
        1,
        "only the accepted push is kept"
    );

    // At /authorize: request_uris COOP cannot use are a page, never a redirect.
    let area = "COOP authorize request_uri";
    let request_uri = pushed(&coop, "topcluck", &pkce, &[]).await;
    for (request, url, says) in [
        (
            "a request_uri never pushed",
            coop.pushed_authorize_url("topcluck", "urn:ietf:params:oauth:request_uri:made-up"),
            "unknown",
        ),
        (
            "another client's request_uri",
            coop.pushed_authorize_url("reuser", &request_uri),
            "unknown",
        ),
        (
            "request_uri without client_id",
            coop.url(&format!("/authorize?request_uri={request_uri}")),
            "unknown",
        ),
    ] {
        let response = fetch(browser().get(url)).await;
        let status = response.status();
        let redirected = response.headers().contains_key("location");
        let said = response.text().await.unwrap().contains(says);
        let seen = format!("{} redirect={redirected} says {says}={said}", status.as_u16());
        table.row(
            area,
            request,
            &format!("400 redirect=false says {says}=true"),
            &seen,
            status,
        );
    }
    table.finish();
}

#[tokio::test]
async fn required_refuses_a_request_that_was_not_pushed_even_through_the_login_form() {
    let coop = TestCoop::with_authorization(ParMode::Required, true).await;
    let discovery = coop.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["require_pushed_authorization_requests"], true);
    let pkce = Pkce::new();
    let browser = browser();
    let plain = fetch(browser.get(coop.authorize_url("topcluck", "openid", &pkce, &[]))).await;
    let query = query_of(&location(&plain));
    assert_eq!(
        (
            query["error"].as_str(),
            query["state"].as_str(),
            query["iss"].as_str()
        ),
        ("invalid_request", "state-123", coop.base.as_str())
    );
    assert!(query["error_description"].contains("pushed"));

    // A pushed request logs in; its form, rewritten to carry the plain request, does not.
    let request_uri = pushed(&coop, "topcluck", &pkce, &[]).await;
    let page = text_of(browser.get(coop.pushed_authorize_url("topcluck", &request_uri))).await;
    let plain_request = url::Url::parse(&coop.authorize_url("topcluck", "openid", &pkce, &[]))
        .unwrap()
        .query()
        .unwrap()
        .to_owned();
    let form = [
        ("request", plain_request),
        ("csrf", hidden(&page, "csrf")),
        ("username", "ada".to_owned()),
    ];
    let bypass = fetch(browser.post(coop.url("/authorize/login")).form(&form)).await;
    assert_eq!(query_of(&location(&bypass))["error"], "invalid_request");
    let redirect = coop.submit(&browser, &page, Form::Login("ada")).await;
    let code = query_of(&location(&redirect))["code"].clone();
    coop.redeem("topcluck", &code, &pkce.verifier).await.expect_ok();
}

#[tokio::test]
async fn off_offers_no_endpoint_and_takes_no_request_uri() {
    let coop = TestCoop::with_authorization(ParMode::Off, true).await;
    let discovery = coop.get_json("/.well-known/openid-configuration").await;
    assert!(discovery.get("pushed_authorization_request_endpoint").is_none());
    assert!(discovery.get("require_pushed_authorization_requests").is_none());
    let pkce = Pkce::new();
    let (status, _) = coop
        .push(
            "topcluck",
            &authorization_request("topcluck", "openid", &pkce, &[]),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let url = coop.pushed_authorize_url("topcluck", "urn:ietf:params:oauth:request_uri:x");
    assert_eq!(fetch(browser().get(url)).await.status(), StatusCode::BAD_REQUEST);
    // The plain request works as ever.
    coop.login("topcluck", "openid").await;
    assert_eq!(json!(coop.pushed_requests("ok").await), json!(0));
}
