//! Login, session, CSRF and logout against a real COOP and a real BFF, both on loopback
//! sockets, driven over HTTP the way the SPA and a browser would.

mod support;

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn login_seals_tokens_into_a_host_only_httponly_cookie_and_the_session_shows_no_token() {
    let (_harness, bff) = Harness::with_one_bff().await;

    let (unauthenticated, body) = bff.session(None).await;
    assert_eq!(unauthenticated, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "unauthenticated");

    let (cookie, set_cookie) = bff.login("ada").await;
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} missing: {set_cookie}"
        );
    }
    assert!(
        !set_cookie.to_lowercase().contains("domain="),
        "__Host- cookies carry no Domain"
    );
    println!(
        "session cookie: {} bytes (Set-Cookie line {} bytes)",
        cookie.len(),
        set_cookie.len()
    );
    assert!(set_cookie.len() < 4096);

    let (status, info) = bff.session(Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        info["farmer"],
        json!({ "sub": "ada", "name": "Ada Henhouse", "email": "ada@coop.example" })
    );
    assert!(info["access_token_expires_at"].as_i64().unwrap() > 0);
    assert!(info["session_expires_at"].as_i64().unwrap() > info["access_token_expires_at"].as_i64().unwrap());
    assert!(info["scopes"].as_array().unwrap().contains(&json!("eggs:write")));
    let text = info.to_string();
    assert!(!text.contains("eyJ") && !text.contains("token\":\""), "{text}");

    // Server rendering knows the farmer: no flash of "logged out" on reload.
    let page = text_of(http().get(bff.url("/")).header("cookie", &cookie)).await;
    assert!(
        page.contains("Ada Henhouse") && page.contains("Log out"),
        "{page}"
    );
    assert!(!page.contains("eyJ"), "a JWT in the HTML");
    let anonymous = text_of(http().get(bff.url("/"))).await;
    assert!(anonymous.contains("Log in") && !anonymous.contains("Ada Henhouse"));
}

#[tokio::test]
async fn a_wrong_nonce_or_a_foreign_redirect_uri_fails_the_login_and_sets_no_cookie() {
    // Sending COOP another nonce takes a request the browser writes: no pushed request.
    let (_harness, bff) = Harness::with_one_bff_and(|coop| coop.par = coop::ParMode::Off).await;

    // COOP sent a nonce other than the one the BFF chose for this transaction.
    let pending = bff.authorize_with_nonce("ada", Some("another-nonce")).await;
    let response = bff.complete(&pending).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(session_set_cookie(response.headers()).is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "login_failed");
    assert!(
        !body["message"].as_str().unwrap().contains("nonce"),
        "details stay in the log"
    );

    let mut foreign = bff.authorize("ada").await;
    foreign.redirect_uri = "https://evil.example/callback".into();
    assert_eq!(bff.complete(&foreign).await.status(), StatusCode::BAD_REQUEST);

    let bad_json = fetch(
        http()
            .post(bff.url("/bff/login"))
            .header("x-csrf", "1")
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad_json.json::<Value>().await.unwrap()["error"], "bad_request");
}

#[tokio::test]
async fn an_unavailable_provider_answers_503_with_retry_after() {
    let (harness, bff) = Harness::with_one_bff().await;
    let pending = bff.authorize("ada").await;
    fetch(
        http()
            .post(format!("{}/dev/faults", harness.coop.base))
            .json(&json!({ "unavailable_seconds": 30 })),
    )
    .await;
    let response = bff.complete(&pending).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
}

#[tokio::test]
async fn tampered_truncated_and_foreign_key_cookies_are_no_session_and_keys_rotate() {
    let (old_listener, new_listener, other_listener) = (listener().await, listener().await, listener().await);
    let ports: Vec<u16> = [&old_listener, &new_listener, &other_listener]
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let mut harness = Harness::start(&ports).await;
    let old = harness.bff(old_listener, OLD_KEY).await;
    let rotated = harness.bff(new_listener, &format!("{NEW_KEY},{OLD_KEY}")).await;
    let stranger = harness.bff(other_listener, NEW_KEY).await;

    let (cookie, _) = old.login("ada").await;
    // Rotation: the new first key seals, the old one still opens.
    assert_eq!(rotated.session(Some(&cookie)).await.0, StatusCode::OK);
    // A server without the old key treats the cookie as no session, not as an error.
    assert_eq!(stranger.session(Some(&cookie)).await.0, StatusCode::UNAUTHORIZED);

    let (name, value) = cookie.split_once('=').unwrap();
    let mut flipped = value.as_bytes().to_vec();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    for bad in [
        format!("{name}={}", String::from_utf8(flipped).unwrap()),
        format!("{name}={}", &value[..value.len() - 10]),
        format!("{name}=not-a-cookie"),
        format!("{name}="),
    ] {
        let (status, body) = old.session(Some(&bad)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(body["error"], "unauthenticated");
        let page = fetch(http().get(old.url("/")).header("cookie", &bad)).await;
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "a bad cookie must not break the page"
        );
    }
}

#[tokio::test]
async fn state_changing_endpoints_refuse_requests_without_the_csrf_header_or_from_another_origin() {
    let (_harness, bff) = Harness::with_one_bff().await;
    let (cookie, _) = bff.login("ada").await;

    let no_header = fetch(http().post(bff.url("/bff/logout")).header("cookie", &cookie)).await;
    assert_eq!(no_header.status(), StatusCode::FORBIDDEN);
    assert_eq!(no_header.json::<Value>().await.unwrap()["error"], "csrf_rejected");
    let cross_origin = fetch(
        http()
            .post(bff.url("/bff/logout"))
            .header("cookie", &cookie)
            .header("x-csrf", "1")
            .header("origin", "https://evil.example"),
    )
    .await;
    assert_eq!(cross_origin.status(), StatusCode::FORBIDDEN);
    let login_without_header = fetch(http().post(bff.url("/bff/login")).json(&json!({}))).await;
    assert_eq!(login_without_header.status(), StatusCode::FORBIDDEN);
    // Still logged in: nothing above did anything.
    assert_eq!(bff.session(Some(&cookie)).await.0, StatusCode::OK);
    // No CORS for other origins.
    let preflight = fetch(
        http()
            .request(reqwest::Method::OPTIONS, bff.url("/bff/logout"))
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "POST"),
    )
    .await;
    assert!(preflight.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn logout_revokes_the_refresh_token_clears_the_cookie_and_goes_through_end_session() {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::start(&[port]).await;
    let bff = harness.bff(listener, NEW_KEY).await;
    let (cookie, _) = bff.login("ada").await;
    assert_eq!(
        harness.grants("ada").await["grants"][0]["revoked_reason"],
        Value::Null
    );

    let response = fetch(
        http()
            .post(bff.url("/bff/logout"))
            .header("cookie", &cookie)
            .header("x-csrf", "1")
            .header("origin", bff.base.clone()),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = session_set_cookie(response.headers()).expect("the cookie is cleared");
    assert!(
        cleared.contains("Max-Age=0") || cleared.to_lowercase().contains("expires=thu, 01 jan 1970"),
        "{cleared}"
    );
    // Browsers ignore a `__Host-` Set-Cookie (even a removal) without Secure and Path=/.
    assert!(
        cleared.contains("; Secure") && cleared.contains("Path=/"),
        "{cleared}"
    );
    let hint_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("__Host-topcluck-logout="))
        .expect("the logout hint cookie");
    assert!(
        hint_cookie.contains("HttpOnly") && hint_cookie.contains("SameSite=Strict"),
        "{hint_cookie}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["revocation"], "revoked");
    // The ID token never reaches script: the SPA only learns where to navigate.
    assert_eq!(body["redirect_to"], "/bff/logout/continue");
    assert!(!body.to_string().contains("eyJ"), "{body}");

    // The navigation: a redirect to COOP's end-session endpoint with the login's ID token.
    let continued = fetch(
        http()
            .get(bff.url("/bff/logout/continue"))
            .header("cookie", hint_cookie.split(';').next().unwrap()),
    )
    .await;
    assert_eq!(continued.status(), StatusCode::SEE_OTHER);
    let redirect = url::Url::parse(continued.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(redirect.path(), "/end-session");
    let query: BTreeMap<String, String> = redirect.query_pairs().into_owned().collect();
    assert_eq!(
        query["post_logout_redirect_uri"],
        format!("http://127.0.0.1:{port}/")
    );
    assert_eq!(query["client_id"], "topcluck");
    let hint_claims = query["id_token_hint"].split('.').nth(1).unwrap();
    let hint_claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(hint_claims).unwrap()).unwrap();
    assert_eq!(
        (hint_claims["aud"].clone(), hint_claims["sub"].clone()),
        (json!("topcluck"), json!("ada"))
    );
    let used_up = continued
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("__Host-topcluck-logout="))
        .expect("the hint cookie is cleared");
    assert!(used_up.contains("Max-Age=0"), "{used_up}");

    // Without the cookie (a link from another site, or a minute later): home, not COOP.
    let bare = http().get(bff.url("/bff/logout/continue")).send().await.unwrap();
    assert_eq!(
        bare.headers()["location"],
        format!("http://127.0.0.1:{port}/").as_str()
    );

    assert_eq!(
        harness.grants("ada").await["grants"][0]["revoked_reason"],
        "refresh token revoked"
    );
}

/// The XSS-extraction scenario (draft-ietf-oauth-browser-based-apps §5.1.3): script injected
/// into the farmer's page opens a login in a hidden frame and carries the code, the verifier and
/// the state to another machine. There, no login transaction of this browser exists: the BFF
/// refuses without calling COOP. An attacker who opens a transaction of its own (with the
/// stolen challenge) fails on the ID token's nonce, which the BFF chose per transaction — and
/// what COOP issued for it is revoked.
#[tokio::test]
async fn a_code_taken_by_injected_script_is_not_redeemed_on_another_machine() {
    let (harness, bff) = Harness::with_one_bff().await;

    // In the farmer's browser: the script's login, up to the code.
    let stolen = bff.authorize("ada").await;
    let before = harness.coop.code_redemptions().await;

    // On the attacker's machine: no transaction cookie.
    let elsewhere = bff.complete_with_cookie(&stolen, None).await;
    assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);
    assert!(session_set_cookie(elsewhere.headers()).is_none());
    assert_eq!(
        elsewhere.json::<Value>().await.unwrap()["error"],
        "login_not_started"
    );
    assert_eq!(
        harness.coop.code_redemptions().await,
        before,
        "COOP was not called"
    );

    // The attacker's own transaction, with the stolen challenge: its state, then the nonce.
    let (_, challenge) = pkce();
    let (parameters, attacker_cookie) = bff.begin_login(&challenge).await;
    let mirrored = bff.complete_with_cookie(&stolen, Some(&attacker_cookie)).await;
    assert_eq!(
        mirrored.json::<Value>().await.unwrap()["error"],
        "login_not_started",
        "the stolen state is not the attacker's transaction's"
    );
    let fresh = bff.authorize("ada").await;
    let forged = Pending {
        state: parameters["state"].as_str().unwrap().to_owned(),
        login_cookie: attacker_cookie,
        ..fresh
    };
    let response = bff.complete(&forged).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(session_set_cookie(response.headers()).is_none());
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "login_failed");
    let revoked = wait_for_revoked_grants(&harness, "ada", 1).await;
    assert_eq!(revoked, 1, "what COOP issued for the refused login is revoked");

    // The farmer's own browser still redeems its code: the attempts above never used it.
    let response = bff.complete(&stolen).await;
    assert_eq!(response.status(), StatusCode::OK);
    // A transaction is used once, even when its old cookie is sent again: the used code never
    // reaches COOP twice (which would revoke the farmer's new grant).
    let redeemed = harness.coop.code_redemptions().await;
    let again = bff.complete(&stolen).await;
    assert_eq!(again.json::<Value>().await.unwrap()["error"], "login_not_started");
    assert_eq!(harness.coop.code_redemptions().await, redeemed);
    assert_eq!(
        revoked_grants(&harness, "ada").await,
        1,
        "the farmer's grant lives"
    );
}

/// Grants of `username` COOP has revoked.
async fn revoked_grants(harness: &Harness, username: &str) -> usize {
    harness.grants(username).await["grants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| !g["revoked_reason"].is_null())
        .count()
}

/// [`revoked_grants`], waiting (bounded) for background revocations to reach `at_least`.
async fn wait_for_revoked_grants(harness: &Harness, username: &str, at_least: usize) -> usize {
    let mut revoked = 0;
    for _ in 0..100 {
        revoked = revoked_grants(harness, username).await;
        if revoked >= at_least {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    revoked
}

#[tokio::test]
async fn a_login_transaction_needs_an_s256_challenge_and_the_matching_verifier() {
    let (harness, bff) = Harness::with_one_bff().await;
    for query in [
        "",
        "?code_challenge_method=S256",
        "?code_challenge=abc&code_challenge_method=S256",
        "?code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=plain",
    ] {
        let response = fetch(
            http()
                .get(bff.url(&format!("/bff/login{query}")))
                .header("x-csrf", "1"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(response.headers().get("set-cookie").is_none(), "{query}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "bad_request");
    }

    let before = harness.coop.code_redemptions().await;
    let mut pending = bff.authorize("ada").await;
    pending.verifier.push('y');
    let response = bff.complete(&pending).await;
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "login_failed");
    assert_eq!(
        harness.coop.code_redemptions().await,
        before,
        "refused before COOP"
    );

    // Ten minutes later the transaction is gone.
    let pending = bff.authorize("ada").await;
    harness.advance(std::time::Duration::from_secs(601));
    let response = bff.complete(&pending).await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "login_not_started"
    );
}

#[tokio::test]
async fn repeated_code_redemptions_from_one_address_are_rate_limited_before_the_provider() {
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let bff = harness
        .bff_with(listener, NEW_KEY, &[("TOPCLUCK_LOGIN_ATTEMPT_BURST", "3")])
        .await;
    // Failures that never reach COOP lock nobody out.
    let mut guess = bff.authorize("ada").await;
    guess.state = "guessed".into();
    for _ in 0..10 {
        let response = bff.complete(&guess).await;
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "login_not_started"
        );
    }
    // Codes COOP never issued: three reach COOP and fail there...
    for _ in 0..3 {
        let mut forged = bff.authorize("ada").await;
        forged.code = "a-code-coop-never-issued".into();
        let response = bff.complete(&forged).await;
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "login_failed");
    }
    // ...then the address waits, without reaching COOP, even with a good code.
    let before = harness.coop.code_redemptions().await;
    let good = bff.authorize("ada").await;
    let refused = bff.complete(&good).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&wait), "{wait}");
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "rate_limited");
    assert_eq!(
        harness.coop.code_redemptions().await,
        before,
        "COOP was not called"
    );

    // After the wait, one more attempt is allowed: the farmer logs in.
    harness.advance(std::time::Duration::from_secs(4));
    let good = bff.authorize("ada").await;
    assert_eq!(bff.complete(&good).await.status(), StatusCode::OK);
}

/// `offline_access` on an interactive login (more than TopCluck asked for) is refused, and the
/// grant revoked at COOP.
#[tokio::test]
async fn a_grant_with_more_scope_than_asked_is_refused_and_revoked() {
    let (harness, bff) = Harness::with_one_bff().await;
    harness.faults(json!({ "extra_scope": "offline_access" })).await;
    let pending = bff.authorize("ada").await;
    let response = bff.complete(&pending).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(session_set_cookie(response.headers()).is_none());
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "login_failed");
    assert_eq!(wait_for_revoked_grants(&harness, "ada", 1).await, 1);

    harness.clear_faults().await;
    let pending = bff.authorize("ada").await;
    assert_eq!(bff.complete(&pending).await.status(), StatusCode::OK);
}

/// `POST /bff/logout` with `cookie`; returns the answer's JSON.
async fn logout(bff: &Bff, cookie: &str) -> Value {
    let response = fetch(
        http()
            .post(bff.url("/bff/logout"))
            .header("cookie", cookie)
            .header("x-csrf", "1"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(session_set_cookie(response.headers()).is_some_and(|c| c.contains("Max-Age=0")));
    response.json().await.unwrap()
}

/// Logout does not depend on the provider: during an outage the farmer is logged out here and
/// told that the revocation is pending; a background retry revokes the grant once COOP is back.
#[tokio::test]
async fn logout_during_an_outage_logs_out_says_so_and_revokes_in_the_background() {
    let (harness, bff) = Harness::with_one_bff().await;
    let (cookie, _) = bff.login("ada").await;
    harness.faults(json!({ "unavailable_seconds": 3600 })).await;
    let answer = logout(&bff, &cookie).await;
    assert_eq!(answer["revocation"], "retrying");
    assert_eq!(revoked_grants(&harness, "ada").await, 0);
    harness.clear_faults().await;
    // The first retry is a second after the logout.
    assert_eq!(wait_for_revoked_grants(&harness, "ada", 1).await, 1);
}

/// With no refresh token (COOP's `none` mode), logout revokes the access token: it stops
/// working at the egg API.
#[tokio::test]
async fn logout_without_a_refresh_token_revokes_the_access_token() {
    let listener = listener().await;
    let mut harness = Harness::with_mode(
        &[listener.local_addr().unwrap().port()],
        coop::RefreshTokenMode::None,
        std::time::Duration::from_secs(300),
    )
    .await;
    let bff = harness.bff(listener, NEW_KEY).await;
    let (cookie, _) = bff.login("ada").await;
    assert_eq!(
        bff.api(reqwest::Method::GET, "/api/eggs", &cookie, None)
            .await
            .status,
        StatusCode::OK
    );
    let answer = logout(&bff, &cookie).await;
    assert_eq!(answer["revocation"], "revoked");
    // The stale cookie still carries the access token: COOP no longer takes it.
    let after = bff.api(reqwest::Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{:?}", after.body);
}

/// A provider whose discovery names no revocation endpoint (django-oauth-toolkit's): logout
/// says truthfully that nothing was revoked — unless `TOPCLUCK_REVOCATION_ENDPOINT` names one,
/// which is then used.
#[tokio::test]
async fn without_a_revocation_endpoint_logout_says_not_revoked_unless_one_is_configured() {
    let ([plain, configured], ports) = listeners().await;
    let mut harness = Harness::start_with(&ports, |config| config.advertise_revocation = false).await;
    let discovery = get_json(&format!("{}/.well-known/openid-configuration", harness.coop.base)).await;
    assert!(discovery.get("revocation_endpoint").is_none());

    let bff = harness.bff(plain, NEW_KEY).await;
    let (cookie, _) = bff.login("ada").await;
    assert_eq!(logout(&bff, &cookie).await["revocation"], "unsupported");
    assert_eq!(
        revoked_grants(&harness, "ada").await,
        0,
        "nothing was revoked, and none said so"
    );

    let revoke = format!("{}/revoke", harness.coop.base);
    let bff = harness
        .bff_with(
            configured,
            NEW_KEY,
            &[("TOPCLUCK_REVOCATION_ENDPOINT", revoke.as_str())],
        )
        .await;
    let (cookie, _) = bff.login("bert").await;
    assert_eq!(logout(&bff, &cookie).await["revocation"], "revoked");
    assert_eq!(revoked_grants(&harness, "bert").await, 1);
}
