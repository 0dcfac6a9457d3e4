//! Bad inputs to login, CSRF, cookies and logout, one row each, against a real COOP and a real
//! BFF over HTTP. Every row states the answer expected and prints the answer seen
//! (`ROW|area|request|expected|seen`, visible with `--nocapture`); none may be a 5xx.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::*;

fn post_login(bff: &Bff, cookie: Option<&str>) -> reqwest::RequestBuilder {
    let request = http().post(bff.url("/bff/login")).header("x-csrf", "1");
    match cookie {
        Some(cookie) => request.header("cookie", cookie),
        None => request,
    }
}

/// Which cookie a row's `POST /bff/login` carries.
enum Jar<'a> {
    None,
    /// The login-transaction cookie of the login being finished.
    Own,
    Other(&'a str),
}

#[tokio::test]
async fn bad_logins_csrf_and_cookies_are_refused_with_the_right_answer_and_never_a_5xx() {
    let ([listener_a, listener_b], ports) = listeners().await;
    let mut harness = Harness::start(&ports).await;
    // Failures are rate-limited per address, and every row comes from 127.0.0.1: this BFF
    // allows many; the second one shows the limit.
    let bff = harness
        .bff_with(listener_a, NEW_KEY, &[("TOPCLUCK_LOGIN_ATTEMPT_BURST", "1000")])
        .await;
    let strict = harness
        .bff_with(listener_b, OLD_KEY, &[("TOPCLUCK_LOGIN_ATTEMPT_BURST", "2")])
        .await;
    let mut table = BadInputs::default();

    // --- Opening a login transaction.
    let (_, challenge) = pkce();
    for (request, query) in [
        ("GET /bff/login (no challenge)", String::new()),
        (
            "GET /bff/login, code_challenge_method=plain",
            format!("?code_challenge={challenge}&code_challenge_method=plain"),
        ),
        (
            "GET /bff/login, a challenge that is not 32 bytes",
            "?code_challenge=abc&code_challenge_method=S256".to_owned(),
        ),
    ] {
        let response = fetch(
            http()
                .get(bff.url(&format!("/bff/login{query}")))
                .header("x-csrf", "1"),
        )
        .await;
        table.answer("login", request, "400 bad_request", response).await;
    }
    let response = http()
        .get(bff.url(&format!(
            "/bff/login?code_challenge={challenge}&code_challenge_method=S256"
        )))
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("set-cookie").is_none());
    table
        .answer(
            "csrf",
            "GET /bff/login without X-CSRF (a link from another site replacing the farmer's logins)",
            "403 csrf_rejected",
            response,
        )
        .await;

    // --- The code exchange's body.
    for (request, content_type, body) in [
        ("POST /bff/login, body `{`", "application/json", "{".to_owned()),
        (
            "POST /bff/login, fields missing",
            "application/json",
            r#"{"code":"x"}"#.to_owned(),
        ),
        ("POST /bff/login, text/plain body", "text/plain", "{}".to_owned()),
        (
            "POST /bff/login, fields of the wrong type",
            "application/json",
            r#"{"code":1,"code_verifier":[],"state":null,"redirect_uri":{}}"#.to_owned(),
        ),
    ] {
        let response = post_login(&bff, None)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        table.answer("login", request, "400 bad_request", response).await;
    }
    // --- The transaction: the XSS-extraction scenario and its relatives. Each row finishes
    // the login with this cookie and this field of the exchange changed; the first four share
    // one login, the others start their own.
    let (_, other_cookie) = bff.begin_login(&challenge).await;
    let mut pending = bff.authorize("ada").await;
    for (own_login, request, cookie, change, expected) in [
        (
            false,
            "a real code from another machine (no transaction cookie)",
            Jar::None,
            None,
            "400 login_not_started",
        ),
        (
            false,
            "a forged transaction cookie",
            Jar::Other("__Host-topcluck-login=garbage"),
            None,
            "400 login_not_started",
        ),
        (
            false,
            "another transaction's cookie (state not in it)",
            Jar::Other(&other_cookie),
            None,
            "400 login_not_started",
        ),
        (
            false,
            "the wrong PKCE verifier",
            Jar::Own,
            Some(("code_verifier", "a-verifier-of-another-login-aaaaaaaaaaaaaaaaaa")),
            "400 login_failed",
        ),
        (
            true,
            "a foreign redirect_uri",
            Jar::Own,
            Some(("redirect_uri", "https://evil.example/callback")),
            "400 bad_request",
        ),
        (
            true,
            "an empty code",
            Jar::Own,
            Some(("code", "")),
            "400 bad_request",
        ),
        (
            true,
            "a code COOP never issued",
            Jar::Own,
            Some(("code", "a-code-coop-never-issued")),
            "400 login_failed",
        ),
    ] {
        if own_login {
            pending = bff.authorize("ada").await;
        }
        let mut exchange = pending.exchange();
        if let Some((field, value)) = change {
            exchange[field] = json!(value);
        }
        let cookie = match cookie {
            Jar::None => None,
            Jar::Own => Some(pending.login_cookie.as_str()),
            Jar::Other(cookie) => Some(cookie),
        };
        let response = bff.post_login(&exchange, cookie).await;
        let request = format!("POST /bff/login, {request}");
        table.answer("login", &request, expected, response).await;
    }

    let pending = bff.authorize("ada").await;
    assert_eq!(bff.complete(&pending).await.status(), StatusCode::OK);
    let response = bff.complete(&pending).await;
    table
        .answer(
            "login",
            "POST /bff/login, the same transaction cookie and code again",
            "400 login_not_started",
            response,
        )
        .await;

    let pending = bff.authorize("ada").await;
    harness.advance(std::time::Duration::from_secs(601));
    let response = bff.complete(&pending).await;
    table
        .answer(
            "login",
            "POST /bff/login, 10 minutes after the login started",
            "400 login_not_started",
            response,
        )
        .await;

    // Sending COOP another nonce takes a request the browser writes: a COOP without PAR.
    let (_plain_harness, plain) = Harness::with_one_bff_and(|coop| coop.par = coop::ParMode::Off).await;
    let pending = plain
        .authorize_with_nonce("ada", Some("a-nonce-the-bff-did-not-choose"))
        .await;
    let response = plain.complete(&pending).await;
    table
        .answer(
            "login",
            "POST /bff/login, an ID token with another nonce (no PAR)",
            "400 login_failed",
            response,
        )
        .await;

    // RFC 9207: COOP sends iss; a response naming another issuer, or none, is refused.
    for (request, iss) in [
        (
            "POST /bff/login, iss of another issuer",
            Some("https://evil.example"),
        ),
        ("POST /bff/login, no iss from a provider that sends it", None),
    ] {
        let mut pending = bff.authorize("ada").await;
        pending.iss = iss.map(str::to_owned);
        let response = bff.complete(&pending).await;
        table.answer("login", request, "400 login_failed", response).await;
    }
    let (_, challenge) = pkce();
    for prompt in ["login", "consent", "none login"] {
        let response = bff
            .start_transaction("/bff/login", &challenge, None, &[("prompt", prompt)])
            .await;
        let request = format!("GET /bff/login, prompt={prompt}");
        table.answer("login", &request, "400 bad_request", response).await;
    }

    harness.faults(json!({ "extra_scope": "offline_access" })).await;
    let pending = bff.authorize("ada").await;
    let response = bff.complete(&pending).await;
    table
        .answer(
            "login",
            "POST /bff/login, COOP grants offline_access that was not asked for",
            "400 login_failed",
            response,
        )
        .await;
    harness.clear_faults().await;

    for _ in 0..2 {
        let mut forged = strict.authorize("ada").await;
        forged.code = "a-code-coop-never-issued".into();
        strict.complete(&forged).await;
    }
    let mut forged = strict.authorize("ada").await;
    forged.code = "a-code-coop-never-issued".into();
    let response = strict.complete(&forged).await;
    table
        .answer(
            "login",
            "POST /bff/login, a third forged code in a row (burst 2)",
            "429 rate_limited",
            response,
        )
        .await;
    let mut verifier = strict.authorize("ada").await;
    verifier.verifier = "short".into();
    let response = strict.complete(&verifier).await;
    table
        .answer(
            "login",
            "POST /bff/login, a verifier that is not RFC 7636's 43-128 characters",
            "400 login_failed",
            response,
        )
        .await;

    // --- CSRF, on a state-changing endpoint and on the proxy.
    let (cookie, _) = bff.login("bert").await;
    let origin = bff.base.clone();
    let other_port = strict.base.clone();
    let https_origin = origin.replace("http://", "https://");
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("POST /bff/logout without X-CSRF", vec![]),
        ("POST /bff/logout, X-CSRF: 0", vec![("x-csrf", "0")]),
        (
            "POST /bff/logout, Origin: http://evil.example",
            vec![("x-csrf", "1"), ("origin", "http://evil.example")],
        ),
        (
            "POST /bff/logout, Origin: the same host on another port",
            vec![("x-csrf", "1"), ("origin", &other_port)],
        ),
        (
            "POST /bff/logout, Origin: https:// of this host",
            vec![("x-csrf", "1"), ("origin", &https_origin)],
        ),
        (
            "POST /bff/logout, Origin: null",
            vec![("x-csrf", "1"), ("origin", "null")],
        ),
        (
            "POST /bff/logout, Origin and Host both evil.example",
            vec![
                ("x-csrf", "1"),
                ("host", "evil.example"),
                ("origin", "http://evil.example"),
            ],
        ),
        (
            "POST /bff/logout, Sec-Fetch-Site: cross-site",
            vec![("x-csrf", "1"), ("sec-fetch-site", "cross-site")],
        ),
        (
            "POST /bff/logout, Sec-Fetch-Site: same-site",
            vec![("x-csrf", "1"), ("sec-fetch-site", "same-site")],
        ),
    ];
    for (request, headers) in cases {
        let mut builder = http().post(bff.url("/bff/logout")).header("cookie", &cookie);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        table
            .answer(
                "csrf",
                request,
                "403 csrf_rejected",
                builder.send().await.unwrap(),
            )
            .await;
    }
    // Two Origin headers, the first one good.
    let (head, _) = raw(
        &bff.base,
        &format!(
            "POST /bff/logout HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nX-CSRF: 1\r\nOrigin: {origin}\r\nOrigin: http://evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            bff.base.trim_start_matches("http://")
        ),
    )
    .await;
    let status = head.split(' ').nth(1).unwrap();
    let request = "POST /bff/logout, two Origin headers (this site's, then evil.example)";
    assert!(table.row("csrf", request, "403", status, status.parse::<u16>().unwrap()));
    let response = fetch(http().get(bff.url("/api/eggs")).header("cookie", &cookie)).await;
    table
        .answer(
            "csrf",
            "GET /api/eggs without X-CSRF (a cross-site <img>)",
            "403 csrf_rejected",
            response,
        )
        .await;
    // The session survived all of the above.
    assert_eq!(bff.session(Some(&cookie)).await.0, StatusCode::OK);

    // --- Cookies.
    let (name, value) = cookie.split_once('=').unwrap();
    let mut flipped = value.as_bytes().to_vec();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    // A cookie this BFF sealed, holding something that is not a session (an older format).
    let foreign_shape = {
        let mut data = std::collections::HashMap::new();
        data.insert("s".to_owned(), json!({ "farmer": "not a session" }));
        let record = tower_sessions::session::Record {
            id: tower_sessions::session::Id::default(),
            data,
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        let value = tower_sessions_cookie_store::encode_record(&record).unwrap();
        let ring = server::cookies::KeyRing::new(&[server::settings::Secret::new(NEW_KEY)]).unwrap();
        ring.seal(tower_cookies::cookie::Cookie::new(name.to_owned(), value))
            .value()
            .to_owned()
    };
    let other_key = {
        harness.advance(std::time::Duration::from_secs(7));
        let (old_cookie, _) = strict.login("ada").await;
        old_cookie.replacen("__Host-topcluck=", "", 1)
    };
    for (request, bad) in [
        (
            "GET /bff/session, a session cookie with one byte changed",
            format!("{name}={}", String::from_utf8(flipped).unwrap()),
        ),
        (
            "GET /bff/session, a truncated session cookie",
            format!("{name}={}", &value[..value.len() - 10]),
        ),
        (
            "GET /bff/session, a session cookie that is not base64",
            format!("{name}=not-a-cookie!!"),
        ),
        (
            "GET /bff/session, an unknown key id",
            format!("{name}=deadbeef.{}", value.split_once('.').unwrap().1),
        ),
        (
            "GET /bff/session, a cookie another BFF sealed",
            format!("{name}={other_key}"),
        ),
        (
            "GET /bff/session, a cookie this BFF sealed holding no session",
            format!("{name}={foreign_shape}"),
        ),
    ] {
        let response = fetch(http().get(bff.url("/bff/session")).header("cookie", bad)).await;
        table
            .answer("cookie", request, "401 unauthenticated", response)
            .await;
    }

    // --- Logout's hint cookie.
    let response = fetch(
        http()
            .get(bff.url("/bff/logout/continue"))
            .header("cookie", "__Host-topcluck-logout=eyJhbGciOiJub25lIn0.e30."),
    )
    .await;
    // Home, never the provider's end-session: the forged cookie does not open.
    let home = |response: &reqwest::Response| {
        let location = response.headers()["location"].to_str().unwrap();
        let home = location.ends_with('/')
            && !location.contains("end-session")
            && !location.contains("id_token_hint");
        format!(
            "{} {}",
            response.status().as_u16(),
            if home { "home" } else { location }
        )
    };
    let request = "GET /bff/logout/continue with a forged logout cookie";
    assert!(table.row("logout", request, "303 home", &home(&response), response.status()));
    let response = http().get(bff.url("/bff/logout/continue")).send().await.unwrap();
    let request = "GET /bff/logout/continue from a link on another site (no logout under way)";
    assert!(table.row("logout", request, "303 home", &home(&response), response.status()));

    table.finish();
}
