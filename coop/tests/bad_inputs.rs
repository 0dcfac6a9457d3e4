//! Issue 10's table of bad inputs, COOP's part: each row a request COOP must refuse (or, for
//! scheme names in another case, accept), with what must not happen as a side effect (a logout,
//! a revoked grant, a revoked token). Run with `-- --nocapture` to see the `ROW|…` lines.
//! Only HTTP and the test kit, and every row starts from a farmer of its own (so a row that
//! fails cannot spoil the next): the same table runs against older COOPs.

use coop::testkit::*;
use reqwest::StatusCode;
use serde_json::json;

fn alive(yes: bool) -> &'static str {
    if yes { "alive" } else { "gone" }
}

/// `"<status>[ redirect]; session alive|gone"` after an `/end-session` request in `browser`.
async fn logout_outcome(coop: &TestCoop, browser: &reqwest::Client, response: reqwest::Response) -> String {
    let redirected = response.headers().contains_key("location");
    format!(
        "{}{}; session {}",
        response.status().as_u16(),
        if redirected { " redirect" } else { "" },
        alive(coop.session_alive(browser).await)
    )
}

/// The framing protection of an answer: `<status> XFO=<X-Frame-Options>; <frame-ancestors>`.
fn framing(response: &reqwest::Response) -> String {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned()
    };
    let ancestors = header("content-security-policy")
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("frame-ancestors"))
        .unwrap_or("frame-ancestors -")
        .to_owned();
    format!(
        "{} XFO={}; {ancestors}",
        response.status().as_u16(),
        header("x-frame-options")
    )
}

/// The JWT with one character of its signature changed.
fn tamper(jwt: &str) -> String {
    let (rest, signature) = jwt.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    format!("{rest}.{flipped}{}", &signature[1..])
}

#[tokio::test]
async fn coop_refuses_the_bad_inputs_of_issue_10() {
    let coop = TestCoop::start().await;
    let mut table = BadInputs::default();
    end_session_rows(&coop, &mut table).await;
    token_rows(&coop, &mut table).await;
    revoke_and_api_rows(&coop, &mut table).await;
    page_and_dev_rows(&coop, &mut table).await;
    // Last, as it ages every token: a code redeemed after it expired.
    let pkce = Pkce::new();
    let code = coop
        .authorize_with_form(&browser(), "topcluck", "openid", &pkce, "ada")
        .await;
    coop.advance_clock(121).await;
    let answer = coop.redeem("topcluck", &code, &pkce.verifier).await;
    table.token_row(
        "COOP token",
        "code redeemed 121 s after issue (clock moved)",
        "400 invalid_grant",
        &answer,
    );
    table.finish();
}

async fn end_session_rows(coop: &TestCoop, table: &mut BadInputs) {
    let area = "COOP end-session";
    // A forged hint, a hint for another client, an access token as hint: 400, still logged in.
    type Hint = fn(&Tokens, &Tokens) -> String;
    let hints: [(&str, Hint, Option<&str>); 3] = [
        (
            "GET id_token_hint with a forged signature",
            |own, _| tamper(own.id_token.as_deref().unwrap()),
            None,
        ),
        (
            "GET id_token_hint of client reuser, client_id=topcluck",
            |_, other| other.id_token.clone().unwrap(),
            Some("topcluck"),
        ),
        (
            "GET an access token as id_token_hint",
            |own, _| own.access_token.clone(),
            None,
        ),
    ];
    for (request, hint, client_id) in hints {
        let (browser, own) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
        let (_, other_client) = coop.browser_login("reuser", ALL_SCOPES, "ada").await;
        let hint = hint(&own, &other_client);
        let mut pairs = vec![
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ];
        pairs.extend(client_id.map(|id| ("client_id", id)));
        let response = browser.get(coop.end_session_url(&pairs)).send().await.unwrap();
        let status = response.status();
        let seen = logout_outcome(coop, &browser, response).await;
        table.row(area, request, "400; session alive", &seen, status);
    }

    for (request, pairs) in [
        (
            "GET unregistered post_logout_redirect_uri",
            vec![
                ("client_id", "topcluck"),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
        ),
        (
            "GET post_logout_redirect_uri without client_id or hint",
            vec![("post_logout_redirect_uri", POST_LOGOUT_URI)],
        ),
        ("GET unknown client_id", vec![("client_id", "nobody")]),
    ] {
        let (browser, _) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
        let response = browser.get(coop.end_session_url(&pairs)).send().await.unwrap();
        let status = response.status();
        let seen = logout_outcome(coop, &browser, response).await;
        table.row(area, request, "400; session alive", &seen, status);
    }

    // Without a hint, a logged-in farmer is asked first: nothing ends yet.
    let (browser, _) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
    let response = browser
        .get(coop.end_session_url(&[
            ("client_id", "topcluck"),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ]))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let asks = response.text().await.unwrap().contains("Log out of COOP?");
    let seen = format!(
        "{}{}; session {}",
        status.as_u16(),
        if asks { " confirmation" } else { "" },
        alive(coop.session_alive(&browser).await)
    );
    table.row(
        area,
        "GET no id_token_hint, farmer logged in",
        "200 confirmation; session alive",
        &seen,
        status,
    );

    // The confirmation, posted without its CSRF token, or from a browser without the cookie.
    for (request, with_csrf) in [
        ("POST confirmation without CSRF token", false),
        ("POST confirmation, CSRF token without its cookie", true),
    ] {
        let (browser, _) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
        let mut form = vec![
            ("client_id", "topcluck"),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ];
        if with_csrf {
            form.push(("csrf", "guessed-or-stolen-token-value"));
        }
        let response = fetch(browser.post(coop.url("/end-session")).form(&form)).await;
        let status = response.status();
        let seen = format!(
            "{}; session {}",
            status.as_u16(),
            alive(coop.session_alive(&browser).await)
        );
        table.row(area, request, "403; session alive", &seen, status);
    }
}

async fn token_rows(coop: &TestCoop, table: &mut BadInputs) {
    let area = "COOP token";
    // Replays of a redeemed code that fail client authentication or PKCE end nothing.
    for (request, client_id, secret, right_verifier, redirect_uri, expected) in [
        (
            "code replay, wrong client secret",
            "topcluck",
            "wrong",
            true,
            REDIRECT_URI,
            "401 invalid_client; grant alive",
        ),
        (
            "code replay, wrong code_verifier",
            "topcluck",
            SECRET,
            false,
            REDIRECT_URI,
            "400 invalid_grant; grant alive",
        ),
        (
            "code replay, wrong redirect_uri",
            "topcluck",
            SECRET,
            true,
            "http://127.0.0.1:3000/elsewhere",
            "400 invalid_grant; grant alive",
        ),
        (
            "code replay by another client (reuser)",
            "reuser",
            SECRET,
            true,
            REDIRECT_URI,
            "400 invalid_grant; grant alive",
        ),
    ] {
        let pkce = Pkce::new();
        let code = coop
            .authorize_with_form(&browser(), "topcluck", ALL_SCOPES, &pkce, "ada")
            .await;
        let first = coop.redeem("topcluck", &code, &pkce.verifier).await.expect_ok();
        let verifier = if right_verifier {
            pkce.verifier.clone()
        } else {
            Pkce::new().verifier
        };
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", &verifier),
        ];
        let authorization = basic("Basic", client_id, secret);
        let answer = coop.token_with_authorization(Some(&authorization), &form).await;
        let seen = format!(
            "{}; grant {}",
            status_and_error(answer.status, &answer.body),
            alive(coop.token_alive(&first.access_token).await)
        );
        table.row(area, request, expected, &seen, answer.status);
    }

    // Client authentication: scheme names in any case; malformed or wrong credentials refused.
    for (request, authorization, expected) in [
        (
            "Authorization: BASIC (upper case)",
            basic("BASIC", "topcluck", SECRET),
            "200 -",
        ),
        (
            "Authorization: basic (lower case)",
            basic("basic", "topcluck", SECRET),
            "200 -",
        ),
        (
            "Authorization: Basic not-base64!",
            "Basic not-base64!".to_owned(),
            "401 invalid_client",
        ),
        (
            "Authorization: Basic without a colon",
            "Basic dG9wY2x1Y2s=".to_owned(),
            "401 invalid_client",
        ),
        (
            "Authorization: Basic, wrong secret of the same length",
            basic("Basic", "topcluck", &"x".repeat(SECRET.len())),
            "401 invalid_client",
        ),
    ] {
        let refresh_token = coop.login("topcluck", ALL_SCOPES).await.refresh_token.unwrap();
        let form = [("grant_type", "refresh_token"), ("refresh_token", &refresh_token)];
        let answer = coop.token_with_authorization(Some(&authorization), &form).await;
        table.row(
            area,
            request,
            expected,
            &status_and_error(answer.status, &answer.body),
            answer.status,
        );
    }
}

async fn revoke_and_api_rows(coop: &TestCoop, table: &mut BadInputs) {
    let area = "COOP revoke";
    // Another client's tokens: refused, and they keep working.
    let victim = coop.login("topcluck", ALL_SCOPES).await;
    let (status, body) = coop.revoke("reuser", &victim.access_token).await;
    let seen = format!(
        "{}; token {}",
        status_and_error(status, &body),
        alive(coop.token_alive(&victim.access_token).await)
    );
    table.row(
        area,
        "another client's access token",
        "400 invalid_grant; token alive",
        &seen,
        status,
    );
    let victim = coop.login("topcluck", ALL_SCOPES).await;
    let refresh_token = victim.refresh_token.unwrap();
    let (status, body) = coop.revoke("reuser", &refresh_token).await;
    let refreshed = coop.refresh("topcluck", &refresh_token, None).await;
    let seen = format!(
        "{}; refresh token {}",
        status_and_error(status, &body),
        alive(refreshed.status == StatusCode::OK)
    );
    table.row(
        area,
        "another client's refresh token",
        "400 invalid_grant; refresh token alive",
        &seen,
        status,
    );

    let status = backend()
        .get(coop.url("/api/me"))
        .header("authorization", format!("BEARER {}", victim.access_token))
        .send()
        .await
        .unwrap()
        .status();
    table.row(
        "COOP API",
        "Authorization: BEARER (upper case)",
        "200",
        &status.as_u16().to_string(),
        status,
    );
}

async fn page_and_dev_rows(coop: &TestCoop, table: &mut BadInputs) {
    let area = "COOP pages";
    let expected_ok = "200 XFO=DENY; frame-ancestors 'none'";
    let login_page = fetch(backend().get(coop.authorize_url("topcluck", "openid", &Pkce::new(), &[]))).await;
    let status = login_page.status();
    table.row(
        area,
        "login form, framed",
        expected_ok,
        &framing(&login_page),
        status,
    );
    let error_page = fetch(backend().get(coop.url("/authorize?client_id=nobody"))).await;
    let status = error_page.status();
    table.row(
        area,
        "error page (unknown client_id), framed",
        "400 XFO=DENY; frame-ancestors 'none'",
        &framing(&error_page),
        status,
    );
    let (asking, _) = coop.browser_login("topcluck", "openid", "bert").await;
    let confirmation = asking.get(coop.end_session_url(&[])).send().await.unwrap();
    let status = confirmation.status();
    table.row(
        area,
        "logout confirmation, framed",
        expected_ok,
        &framing(&confirmation),
        status,
    );

    let response = fetch(
        backend()
            .post(coop.url("/dev/faults"))
            .json(&json!({ "extra_scope": 5 })),
    )
    .await;
    let status = response.status();
    table.row(
        "COOP dev",
        "POST /dev/faults extra_scope not a string",
        "422",
        &status.as_u16().to_string(),
        status,
    );
}
