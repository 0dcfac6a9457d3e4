//! Login, session, CSRF and logout against a real COOP and a real BFF, both on loopback
//! sockets, driven over HTTP the way the SPA and a browser would.

mod support;

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn login_seals_tokens_into_a_host_only_httponly_cookie_and_the_session_shows_no_token() {
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let bff = harness.bff(listener, NEW_KEY).await;

    let (unauthenticated, body) = bff.session(None).await;
    assert_eq!(unauthenticated, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "unauthenticated");

    let (cookie, set_cookie) = bff.login("ada").await;
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
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
    let page = http()
        .get(bff.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Ada Henhouse") && page.contains("Log out"),
        "{page}"
    );
    assert!(!page.contains("eyJ"), "a JWT in the HTML");
    let anonymous = http()
        .get(bff.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(anonymous.contains("Log in") && !anonymous.contains("Ada Henhouse"));
}

#[tokio::test]
async fn a_wrong_nonce_or_a_foreign_redirect_uri_fails_the_login_and_sets_no_cookie() {
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let bff = harness.bff(listener, NEW_KEY).await;

    let pending = bff.authorize("ada").await;
    let response = bff.complete(&pending, "another-nonce").await;
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
    assert_eq!(
        bff.complete(&foreign, "n1").await.status(),
        StatusCode::BAD_REQUEST
    );

    let bad_json = http()
        .post(bff.url("/bff/login"))
        .header("x-csrf", "1")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad_json.json::<Value>().await.unwrap()["error"], "bad_request");
}

#[tokio::test]
async fn an_unavailable_provider_answers_503_with_retry_after() {
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let bff = harness.bff(listener, NEW_KEY).await;
    let pending = bff.authorize("ada").await;
    http()
        .post(format!("{}/dev/faults", harness.coop.issuer))
        .json(&json!({ "unavailable_seconds": 30 }))
        .send()
        .await
        .unwrap();
    let response = bff.complete(&pending, &pending.nonce).await;
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
        let page = http()
            .get(old.url("/"))
            .header("cookie", &bad)
            .send()
            .await
            .unwrap();
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "a bad cookie must not break the page"
        );
    }
}

#[tokio::test]
async fn state_changing_endpoints_refuse_requests_without_the_csrf_header_or_from_another_origin() {
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let bff = harness.bff(listener, NEW_KEY).await;
    let (cookie, _) = bff.login("ada").await;

    let no_header = http()
        .post(bff.url("/bff/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), StatusCode::FORBIDDEN);
    assert_eq!(no_header.json::<Value>().await.unwrap()["error"], "csrf_rejected");
    let cross_origin = http()
        .post(bff.url("/bff/logout"))
        .header("cookie", &cookie)
        .header("x-csrf", "1")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_origin.status(), StatusCode::FORBIDDEN);
    let login_without_header = http()
        .post(bff.url("/bff/login"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(login_without_header.status(), StatusCode::FORBIDDEN);
    // Still logged in: nothing above did anything.
    assert_eq!(bff.session(Some(&cookie)).await.0, StatusCode::OK);
    // No CORS for other origins.
    let preflight = http()
        .request(reqwest::Method::OPTIONS, bff.url("/bff/logout"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
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

    let response = http()
        .post(bff.url("/bff/logout"))
        .header("cookie", &cookie)
        .header("x-csrf", "1")
        .header("origin", bff.base.clone())
        .send()
        .await
        .unwrap();
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
    let body: Value = response.json().await.unwrap();
    let redirect = url::Url::parse(body["redirect_to"].as_str().unwrap()).unwrap();
    assert_eq!(redirect.path(), "/end-session");
    let query: BTreeMap<String, String> = redirect.query_pairs().into_owned().collect();
    assert_eq!(
        query["post_logout_redirect_uri"],
        format!("http://127.0.0.1:{port}/")
    );
    assert_eq!(query["client_id"], "topcluck");

    assert_eq!(
        harness.grants("ada").await["grants"][0]["revoked_reason"],
        "refresh token revoked"
    );
}
