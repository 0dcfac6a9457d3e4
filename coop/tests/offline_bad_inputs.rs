//! Issue 11's bad inputs, COOP's part: consent forms that must not grant anything, requests
//! for `offline_access` that must not get it, offline refresh tokens used wrongly, and
//! malformed `/dev/grants/revoke` bodies. Every row prints `ROW|area|request|expected|seen`
//! (`-- --nocapture`); none may be answered with a 5xx. Only HTTP and tolerant set-up (no
//! panics when a page is missing), so the same table runs against a COOP without consent.

use std::time::Duration;

use coop::testkit::*;
use reqwest::StatusCode;
use serde_json::json;

const OFFLINE: &str = "openid offline_access eggs:read";

/// A consent form's fields.
type Fields<'a> = Vec<(&'a str, String)>;
/// Extra parameters of an authorization request.
type Extra<'a> = &'a [(&'a str, &'a str)];

/// The value of a hidden field, or "" when the page has none.
fn field(page: &str, name: &str) -> String {
    if page.contains(&format!(r#"name="{name}" value=""#)) {
        hidden(page, name)
    } else {
        String::new()
    }
}

/// The consent page for `username` in `browser` (logging in through the form first), or ""
/// when COOP shows none.
async fn consent_page(coop: &TestCoop, browser: &reqwest::Client, client_id: &str, username: &str) -> String {
    let url = coop.authorize_url(client_id, OFFLINE, &Pkce::new(), &[("prompt", "consent")]);
    let response = browser.get(url).send().await.unwrap();
    if response.status() != StatusCode::OK {
        return String::new();
    }
    let mut page = response.text().await.unwrap();
    if page.contains("/authorize/login") {
        let response = coop.submit(browser, &page, Form::Login(username)).await;
        if response.status() != StatusCode::OK {
            return String::new();
        }
        page = response.text().await.unwrap();
    }
    if page.contains("/authorize/consent") {
        page
    } else {
        String::new()
    }
}

async fn post_consent(coop: &TestCoop, from: &reqwest::Client, form: &[(&str, String)]) -> reqwest::Response {
    from.post(coop.url("/authorize/consent"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// `"<status>; code issued|none"`, or `"<status> <error>"` for a redirect with an error.
fn consent_outcome(response: &reqwest::Response) -> String {
    let status = response.status().as_u16();
    match response.headers().get("location").and_then(|l| l.to_str().ok()) {
        Some(location) => {
            let query = query_of(location);
            match (query.get("code"), query.get("error")) {
                (Some(_), _) => format!("{status}; code issued"),
                (None, Some(error)) => format!("{status} {error}"),
                _ => format!("{status}; redirect"),
            }
        }
        None => format!("{status}; no code"),
    }
}

/// The authorization request in `request` (a query string) with `name` set to `value`, or
/// removed when `value` is `None`.
fn with_param(request: &str, name: &str, value: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(request.as_bytes())
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    if let Some(value) = value {
        pairs.push((name.to_owned(), value.to_owned()));
    }
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test]
async fn coop_refuses_the_bad_inputs_of_issue_11() {
    let coop = TestCoop::start().await;
    let mut table = BadInputs::default();
    consent_rows(&coop, &mut table).await;
    authorize_rows(&coop, &mut table).await;
    token_and_dev_rows(&coop, &mut table).await;
    table.finish();
}

async fn consent_rows(coop: &TestCoop, table: &mut BadInputs) {
    let area = "COOP consent";
    let browser = browser();
    let page = consent_page(coop, &browser, "topcluck", "ada").await;
    let (request, csrf) = (field(&page, "request"), field(&page, "csrf"));
    let allow = |request: &str, csrf: &str| {
        vec![
            ("request", request.to_owned()),
            ("csrf", csrf.to_owned()),
            ("decision", "allow".to_owned()),
        ]
    };

    let cases: Vec<(&str, Fields, &str)> = vec![
        (
            "POST /authorize/consent allow without csrf",
            vec![("request", request.clone()), ("decision", "allow".into())],
            "403; no code",
        ),
        (
            "POST /authorize/consent allow with a wrong csrf",
            allow(&request, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            "403; no code",
        ),
        (
            "POST /authorize/consent decision=maybe",
            vec![
                ("request", request.clone()),
                ("csrf", csrf.clone()),
                ("decision", "maybe".into()),
            ],
            "400; no code",
        ),
        (
            "POST /authorize/consent without decision",
            vec![("request", request.clone()), ("csrf", csrf.clone())],
            "400; no code",
        ),
        (
            "POST /authorize/consent decision sent twice (allow, deny)",
            vec![
                ("request", request.clone()),
                ("csrf", csrf.clone()),
                ("decision", "allow".into()),
                ("decision", "deny".into()),
            ],
            "400; no code",
        ),
        (
            "POST /authorize/consent request without prompt=consent",
            allow(&with_param(&request, "prompt", None), &csrf),
            "400; no code",
        ),
        (
            "POST /authorize/consent request with an unregistered redirect_uri",
            allow(
                &with_param(&request, "redirect_uri", Some("https://evil.example/cb")),
                &csrf,
            ),
            "400; no code",
        ),
        (
            "POST /authorize/consent request for a client not allowed offline_access",
            allow(&with_param(&request, "client_id", Some("norefresh")), &csrf),
            "303 invalid_scope",
        ),
    ];
    for (label, form, expected) in cases {
        let response = post_consent(coop, &browser, &form).await;
        let status = response.status();
        table.row(area, label, expected, &consent_outcome(&response), status);
    }

    // The right form from a browser without ada's session, and from bert's session.
    let stranger = backend();
    let response = post_consent(coop, &stranger, &allow(&request, &csrf)).await;
    let status = response.status();
    table.row(
        area,
        "POST /authorize/consent allow from a browser without the session",
        "403; no code",
        &consent_outcome(&response),
        status,
    );
    let bert = browser_with_session(coop, "bert").await;
    let response = post_consent(coop, &bert, &allow(&request, &csrf)).await;
    let status = response.status();
    table.row(
        area,
        "POST /authorize/consent ada's form from bert's session",
        "403; no code",
        &consent_outcome(&response),
        status,
    );

    // ada logs in again (prompt=login): the form of her earlier session is dead.
    let old = consent_page(coop, &browser, "topcluck", "ada").await;
    let login_again =
        text_of(browser.get(coop.authorize_url("topcluck", "openid", &Pkce::new(), &[("prompt", "login")])))
            .await;
    coop.submit(&browser, &login_again, Form::Login("ada")).await;
    let response = post_consent(
        coop,
        &browser,
        &allow(&field(&old, "request"), &field(&old, "csrf")),
    )
    .await;
    let status = response.status();
    table.row(
        area,
        "POST /authorize/consent form of an earlier session (logged in again)",
        "403; no code",
        &consent_outcome(&response),
        status,
    );

    // ada logs out of COOP (confirming on the logout page): her open consent form is dead.
    let open = consent_page(coop, &browser, "topcluck", "ada").await;
    let logout_page = text_of(browser.get(coop.end_session_url(&[]))).await;
    fetch(
        browser
            .post(coop.url("/end-session"))
            .form(&[("csrf", field(&logout_page, "csrf"))]),
    )
    .await;
    let response = post_consent(
        coop,
        &browser,
        &allow(&field(&open, "request"), &field(&open, "csrf")),
    )
    .await;
    let status = response.status();
    table.row(
        area,
        "POST /authorize/consent after logging out of COOP",
        "403; no code",
        &consent_outcome(&response),
        status,
    );
    let grants = coop.get_json("/dev/grants?username=ada").await;
    table.row(
        area,
        "(after every refused consent post) ada's grants",
        "0 grants",
        &format!("{} grants", grants["grants"].as_array().map_or(0, Vec::len)),
        StatusCode::OK,
    );
}

/// A browser logged in to COOP as `username` (through the login form, openid only).
async fn browser_with_session(coop: &TestCoop, username: &str) -> reqwest::Client {
    let browser = browser();
    let pkce = Pkce::new();
    let code = coop
        .authorize_with_form(&browser, "topcluck", "openid", &pkce, username)
        .await;
    coop.redeem("topcluck", &code, &pkce.verifier).await;
    browser
}

async fn authorize_rows(coop: &TestCoop, table: &mut BadInputs) {
    let area = "COOP authorize (offline_access)";
    let browser = browser_with_session(coop, "clara").await;
    // (row, client_id, scope, extra parameters, expected)
    let cases: [(&str, &str, &str, Extra, &str); 5] = [
        (
            "prompt=consent offline_access by a client not allowed it",
            "norefresh",
            OFFLINE,
            &[("prompt", "consent")],
            "303 invalid_scope",
        ),
        (
            "prompt=none consent",
            "topcluck",
            OFFLINE,
            &[("prompt", "none consent")],
            "303 invalid_request",
        ),
        (
            "prompt=sometimes",
            "topcluck",
            OFFLINE,
            &[("prompt", "sometimes")],
            "303 invalid_request",
        ),
        (
            "scope=offline_access alone, no prompt=consent",
            "topcluck",
            "offline_access",
            &[],
            "303 invalid_scope",
        ),
        (
            "offline_access with prompt=none (session alive)",
            "topcluck",
            OFFLINE,
            &[("prompt", "none")],
            "303 code; scope eggs:read openid; offline false",
        ),
    ];
    for (label, client_id, scope, extra, expected) in cases {
        let seen = authorize_outcome(coop, &browser, client_id, scope, extra).await;
        table.row(area, label, expected, &seen.0, seen.1);
    }
    let seen = authorize_outcome(coop, &browser, "topcluck", OFFLINE, &[]).await;
    table.row(
        area,
        "offline_access without prompt (session alive)",
        "303 code; scope eggs:read openid; offline false",
        &seen.0,
        seen.1,
    );
}

/// `"<status> <error>"`, or for a code `"<status> code; scope …; offline …"` once redeemed.
async fn authorize_outcome(
    coop: &TestCoop,
    browser: &reqwest::Client,
    client_id: &str,
    scope: &str,
    extra: &[(&str, &str)],
) -> (String, StatusCode) {
    let pkce = Pkce::new();
    let response = fetch(browser.get(coop.authorize_url(client_id, scope, &pkce, extra))).await;
    let status = response.status();
    let Some(location) = response.headers().get("location").and_then(|l| l.to_str().ok()) else {
        return (format!("{}; no redirect", status.as_u16()), status);
    };
    let query = query_of(location);
    if let Some(error) = query.get("error") {
        return (format!("{} {error}", status.as_u16()), status);
    }
    let answer = coop.redeem(client_id, &query["code"], &pkce.verifier).await;
    let grants = coop.get_json("/dev/grants?username=clara").await;
    (
        format!(
            "{} code; scope {}; offline {}",
            status.as_u16(),
            answer.body["scope"].as_str().unwrap_or("-"),
            grants["grants"][0]["offline"]
        ),
        status,
    )
}

async fn token_and_dev_rows(coop: &TestCoop, table: &mut BadInputs) {
    let area = "COOP token (offline grant)";
    let browser = browser();
    let offline = offline_tokens(coop, &browser, "bert").await;

    let widen = coop
        .refresh("topcluck", &offline, Some("eggs:read eggs:write"))
        .await;
    table.token_row(
        area,
        "refresh of an offline token widening to eggs:write",
        "400 invalid_scope",
        &widen,
    );
    let other = coop.refresh("reuser", &offline, None).await;
    table.token_row(
        area,
        "refresh of topcluck's offline token by client reuser",
        "400 invalid_grant",
        &other,
    );
    let rotated = coop.refresh("topcluck", &offline, None).await;
    let reuse = coop.refresh("topcluck", &offline, None).await;
    table.token_row(
        area,
        "refresh with an offline token already rotated (reuse)",
        "400 invalid_grant",
        &reuse,
    );
    let successor = rotated.body["refresh_token"].as_str().unwrap_or("-").to_owned();
    let after = coop.refresh("topcluck", &successor, None).await;
    table.token_row(
        area,
        "refresh with the successor after the reuse revoked the grant",
        "400 invalid_grant",
        &after,
    );

    let area = "COOP dev";
    let mut live = offline_tokens(coop, &browser, "bert").await;
    for (label, body) in [
        (
            r#"POST /dev/grants/revoke {"username":"bert","ofline":true}"#,
            json!({ "username": "bert", "ofline": true }),
        ),
        (
            r#"POST /dev/grants/revoke {"username":"bert","offline":"yes"}"#,
            json!({ "username": "bert", "offline": "yes" }),
        ),
        (r#"POST /dev/grants/revoke {}"#, json!({})),
    ] {
        let (status, answer) = coop.revoke_grants(body).await;
        let alive = coop.refresh("topcluck", &live, Some("eggs:read")).await;
        let seen = format!(
            "{}; offline grant {}",
            status_and_error(status, &answer),
            if alive.status == StatusCode::OK {
                "alive"
            } else {
                "gone"
            }
        );
        table.row(
            area,
            label,
            "400 invalid_request; offline grant alive",
            &seen,
            status,
        );
        if let Some(next) = alive.body["refresh_token"].as_str() {
            live = next.to_owned();
        }
    }

    let area = "COOP token (offline grant)";
    let expiring = offline_tokens(coop, &browser, "bert").await;
    coop.clock().advance(Duration::from_secs(366 * 24 * 3600));
    let expired = coop.refresh("topcluck", &expiring, None).await;
    table.token_row(
        area,
        "refresh of an offline token a year and a day later",
        "400 invalid_grant",
        &expired,
    );
}

/// A consented offline grant for `username` in `browser`: its refresh token ("-" when COOP
/// issued none or refused).
async fn offline_tokens(coop: &TestCoop, browser: &reqwest::Client, username: &str) -> String {
    let pkce = Pkce::new();
    let url = coop.authorize_url("topcluck", OFFLINE, &pkce, &[("prompt", "consent")]);
    let response = browser.get(url).send().await.unwrap();
    let mut location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    if location.is_none() {
        let mut page = response.text().await.unwrap_or_default();
        if page.contains("/authorize/login") {
            let response = coop.submit(browser, &page, Form::Login(username)).await;
            location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            page = response.text().await.unwrap_or_default();
        }
        if page.contains("/authorize/consent") {
            let response = coop.submit(browser, &page, Form::Consent("allow")).await;
            location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
        }
    }
    let Some(code) = location.and_then(|l| query_of(&l).get("code").cloned()) else {
        return "-".into();
    };
    let answer = coop.redeem("topcluck", &code, &pkce.verifier).await;
    answer.body["refresh_token"].as_str().unwrap_or("-").to_owned()
}
