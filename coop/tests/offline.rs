//! `offline_access` (OpenID Connect Core §11) over HTTP: granted only on COOP's consent page
//! (`prompt=consent`), ignored without it; offline grants survive COOP logout, are listed and
//! revocable at `/dev/grants`, rotate with reuse detection, narrow on refresh, and expire on
//! COOP's clock by their own, longer lifetimes.

use std::time::Duration;

use coop::testkit::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OFFLINE: &str = "openid offline_access eggs:read";
const DAY: u64 = 24 * 3600;

fn grant_of(grants: &[Value], offline: bool) -> &Value {
    grants
        .iter()
        .find(|g| g["offline"] == offline)
        .unwrap_or_else(|| panic!("no grant with offline={offline}: {grants:?}"))
}

#[tokio::test]
async fn the_consent_page_names_the_client_and_the_scopes_and_allow_grants_offline_access() {
    let coop = TestCoop::start().await;
    let browser = browser();
    let pkce = Pkce::new();
    let page = coop
        .consent_page(&browser, "topcluck", OFFLINE, &pkce, "ada")
        .await;
    for words in [
        "TopCluck wants to count your eggs while you are away",
        "as ada",
        "<li>count your eggs</li>",
        "<li>know who you are on COOP</li>",
        "keep this access while you are away",
        r#"value="allow">Allow</button>"#,
        r#"value="deny">Deny</button>"#,
    ] {
        assert!(page.contains(words), "{words:?} not in {page}");
    }
    assert!(
        coop.grants("ada").await.is_empty(),
        "showing the page grants nothing"
    );

    // Asked again with the session alive, the page comes at once, with COOP's page headers.
    let again =
        fetch(browser.get(coop.authorize_url("topcluck", OFFLINE, &pkce, &[("prompt", "consent")]))).await;
    assert_eq!(again.status(), StatusCode::OK);
    let header = |name: &str| again.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(header("content-security-policy").contains("form-action 'self'"));

    let allowed = coop.submit(&browser, &page, Form::Consent("allow")).await;
    assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
    let back = query_of(&location(&allowed));
    assert_eq!(back["state"], "state-123");
    assert_eq!(back["iss"], coop.base);
    let tokens = coop
        .redeem("topcluck", &back["code"], &pkce.verifier)
        .await
        .expect_ok();
    assert_eq!(tokens.scope, "eggs:read offline_access openid");
    assert_eq!(
        claims(&tokens.access_token)["scope"],
        "eggs:read offline_access openid"
    );
    assert!(tokens.refresh_token.is_some());

    let grants = coop.grants("ada").await;
    assert_eq!(grants.len(), 1);
    let grant = &grants[0];
    assert_eq!(grant["offline"], true);
    assert_eq!(grant["scope"], "eggs:read offline_access openid");
    assert!(grant["created_at"].as_str().unwrap().ends_with('Z'), "{grant}");
    assert_eq!(grant["last_used_at"], Value::Null);
    assert_eq!(grant["revoked_reason"], Value::Null);

    coop.refresh_from("topcluck", &tokens).await.expect_ok();
    assert!(coop.grants("ada").await[0]["last_used_at"].is_string());
}

#[tokio::test]
async fn deny_sends_the_browser_back_with_access_denied_and_grants_nothing() {
    let coop = TestCoop::start().await;
    let browser = browser();
    let page = coop
        .consent_page(&browser, "topcluck", OFFLINE, &Pkce::new(), "bert")
        .await;
    let denied = coop.submit(&browser, &page, Form::Consent("deny")).await;
    assert_eq!(denied.status(), StatusCode::SEE_OTHER);
    let back = location(&denied);
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    let query = query_of(&back);
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["state"], "state-123");
    assert!(!query.contains_key("code"));
    assert!(coop.grants("bert").await.is_empty());
    assert_eq!(coop.rows().await["codes"], 0);
    assert!(coop.session_alive(&browser).await, "denying does not log out");
}

#[tokio::test]
async fn prompt_consent_without_offline_access_asks_too_and_grants_an_online_grant() {
    let coop = TestCoop::start().await;
    let browser = browser();
    let pkce = Pkce::new();
    let page = coop
        .consent_page(&browser, "topcluck", "openid eggs:read", &pkce, "ada")
        .await;
    assert!(page.contains("TopCluck wants to use your COOP account"), "{page}");
    assert!(!page.contains("while you are away"), "{page}");
    let allowed = coop.submit(&browser, &page, Form::Consent("allow")).await;
    let code = query_of(&location(&allowed))["code"].clone();
    let tokens = coop.redeem("topcluck", &code, &pkce.verifier).await.expect_ok();
    assert_eq!(tokens.scope, "eggs:read openid");
    assert_eq!(coop.grants("ada").await[0]["offline"], false);
}

#[tokio::test]
async fn without_prompt_consent_offline_access_is_ignored_and_the_grant_dies_at_logout() {
    let coop = TestCoop::start().await;
    let (browser, tokens) = coop.browser_login("topcluck", OFFLINE, "ada").await;
    assert_eq!(
        tokens.scope, "eggs:read openid",
        "offline_access is not granted silently"
    );
    assert!(
        !claims(&tokens.access_token)["scope"]
            .as_str()
            .unwrap()
            .contains("offline_access")
    );
    let grants = coop.grants("ada").await;
    assert_eq!(
        (grants[0]["offline"].clone(), grants[0]["scope"].clone()),
        (json!(false), json!("eggs:read openid"))
    );

    let response =
        fetch(browser.get(coop.end_session_url(&[("id_token_hint", tokens.id_token.as_deref().unwrap())])))
            .await;
    assert_eq!(response.status(), StatusCode::OK);
    coop.refresh_from("topcluck", &tokens)
        .await
        .expect_invalid_grant();
}

#[tokio::test]
async fn an_offline_grant_survives_end_session_an_online_one_does_not_and_both_are_listed() {
    let coop = TestCoop::start().await;
    let (browser, online) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
    let offline = coop.consented_login(&browser, "topcluck", OFFLINE, "ada").await;

    let response = browser
        .get(coop.end_session_url(&[
            ("id_token_hint", online.id_token.as_deref().unwrap()),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(!coop.session_alive(&browser).await);

    coop.refresh_from("topcluck", &online)
        .await
        .expect_invalid_grant();
    assert!(!coop.token_alive(&online.access_token).await);
    assert!(
        coop.token_alive(&offline.access_token).await,
        "the offline grant's access token lives on"
    );
    let renewed = coop
        .refresh(
            "topcluck",
            offline.refresh_token.as_deref().unwrap(),
            Some("eggs:read"),
        )
        .await
        .expect_ok();
    let (status, body, _) = coop
        .api(Method::GET, "/api/eggs", &renewed.access_token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let grants = coop.grants("ada").await;
    assert_eq!(grants.len(), 2);
    let (kept, ended) = (grant_of(&grants, true), grant_of(&grants, false));
    assert_eq!(kept["revoked_reason"], Value::Null);
    assert_eq!(kept["scope"], "eggs:read offline_access openid");
    assert!(kept["last_used_at"].is_string());
    assert_eq!(ended["revoked_reason"], "logged out of COOP");
    assert_eq!(ended["scope"], "eggs:read eggs:write email openid profile");
    for grant in [kept, ended] {
        for field in [
            "id",
            "client_id",
            "username",
            "created_ms",
            "expires_ms",
            "created_at",
            "expires_at",
        ] {
            assert!(!grant[field].is_null(), "{field} missing in {grant}");
        }
    }
    assert_eq!(coop.counters().await["reuse_detections"], 0);
}

#[tokio::test]
async fn dev_grants_revoke_can_target_offline_or_online_grants_only() {
    let coop = TestCoop::start().await;
    let (browser, online) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
    let offline = coop.consented_login(&browser, "topcluck", OFFLINE, "ada").await;
    let (_, bert) = coop.browser_login("topcluck", ALL_SCOPES, "bert").await;

    let (status, body) = coop
        .revoke_grants(json!({ "username": "ada", "offline": true }))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "revoked": 1 })));
    coop.refresh_from("topcluck", &offline)
        .await
        .expect_invalid_grant();
    assert!(!coop.token_alive(&offline.access_token).await);
    let online = coop
        .refresh("topcluck", online.refresh_token.as_deref().unwrap(), None)
        .await
        .expect_ok();
    assert_eq!(
        grant_of(&coop.grants("ada").await, true)["revoked_reason"],
        "revoked by an administrator"
    );

    let (status, body) = coop
        .revoke_grants(json!({ "username": "ada", "offline": false }))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "revoked": 1 })));
    coop.refresh_from("topcluck", &online)
        .await
        .expect_invalid_grant();
    // Another farmer's grant is untouched; without a filter every live grant goes.
    let (status, body) = coop.revoke_grants(json!({ "username": "bert" })).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "revoked": 1 })));
    coop.refresh_from("topcluck", &bert).await.expect_invalid_grant();
    assert_eq!(coop.counters().await["grants_revoked"], 3);
}

#[tokio::test]
async fn offline_refresh_tokens_live_longer_slide_and_expire_on_coops_clock() {
    let coop = TestCoop::start().await;
    let (browser, online) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
    let first = coop.consented_login(&browser, "topcluck", OFFLINE, "ada").await;
    let idle = coop.consented_login(&browser, "topcluck", OFFLINE, "ada").await;

    // Past the online sliding lifetime (8 h): the online token is dead, offline ones are not.
    coop.clock().advance(Duration::from_secs(8 * 3600 + 1));
    coop.refresh_from("topcluck", &online)
        .await
        .expect_invalid_grant();
    let answer = coop
        .refresh("topcluck", first.refresh_token.as_deref().unwrap(), None)
        .await;
    assert_eq!(answer.body["refresh_expires_in"], 90 * DAY, "{}", answer.body);
    let mut token = answer.expect_ok().refresh_token.unwrap();

    // Used every 80 days, it slides on, but never past a year after consent.
    let mut elapsed = 8 * 3600 + 1;
    for _ in 0..4 {
        coop.clock().advance(Duration::from_secs(80 * DAY));
        elapsed += 80 * DAY;
        let answer = coop.refresh("topcluck", &token, None).await;
        let left = answer.body["refresh_expires_in"].as_u64().unwrap();
        // Seconds of wall time pass between the grant and this refresh: allow two.
        let expected = (90 * DAY).min(365 * DAY - elapsed);
        assert!(
            left.abs_diff(expected) <= 2,
            "{left} ≠ {expected}: {}",
            answer.body
        );
        token = answer.expect_ok().refresh_token.unwrap();
    }
    // 320 days and 8 hours in: the token lives until the year is over, not one day more.
    coop.clock().advance(Duration::from_secs(365 * DAY - elapsed + 1));
    coop.refresh("topcluck", &token, None)
        .await
        .expect_invalid_grant();

    // The grant left alone died 90 days after its last use.
    coop.refresh_from("topcluck", &idle).await.expect_invalid_grant();
    assert_eq!(coop.counters().await["reuse_detections"], 0);
}

#[tokio::test]
async fn an_idle_offline_refresh_token_dies_after_its_sliding_lifetime() {
    let coop = TestCoop::start_with(|config| {
        config.offline_token_ttl = Duration::from_secs(10 * DAY);
    })
    .await;
    let browser = browser();
    let tokens = coop.consented_login(&browser, "topcluck", OFFLINE, "clara").await;
    let alive = coop.consented_login(&browser, "topcluck", OFFLINE, "clara").await;
    coop.clock().advance(Duration::from_secs(10 * DAY - 60));
    coop.refresh_from("topcluck", &alive).await.expect_ok();
    coop.clock().advance(Duration::from_secs(61));
    coop.refresh_from("topcluck", &tokens)
        .await
        .expect_invalid_grant();
}

#[tokio::test]
async fn offline_refresh_tokens_rotate_and_a_reused_one_revokes_the_offline_grant() {
    let coop = TestCoop::start().await;
    let browser = browser();
    let tokens = coop.consented_login(&browser, "topcluck", OFFLINE, "ada").await;
    let old = tokens.refresh_token.unwrap();
    let narrow = coop
        .refresh("topcluck", &old, Some("eggs:read"))
        .await
        .expect_ok();
    let new = narrow.refresh_token.unwrap();
    assert_ne!(new, old, "rotated");
    assert_eq!(narrow.scope, "eggs:read");
    assert_eq!(claims(&narrow.access_token)["scope"], "eggs:read");

    coop.refresh("topcluck", &old, None).await.expect_invalid_grant();
    coop.refresh("topcluck", &new, None).await.expect_invalid_grant();
    assert!(!coop.token_alive(&narrow.access_token).await);
    let counters = coop.counters().await;
    assert_eq!(counters["reuse_detections"], 1);
    assert_eq!(
        coop.grants("ada").await[0]["revoked_reason"],
        "refresh token reused"
    );

    // A client in reuse mode keeps its one offline refresh token; narrowing works there too.
    let reused = coop.consented_login(&browser, "reuser", OFFLINE, "bert").await;
    let token = reused.refresh_token.unwrap();
    let again = coop
        .refresh("reuser", &token, Some("eggs:read"))
        .await
        .expect_ok();
    assert_eq!(again.refresh_token.as_deref(), Some(token.as_str()));
    let full = coop.refresh("reuser", &token, None).await.expect_ok();
    assert_eq!(
        full.scope, "eggs:read offline_access openid",
        "narrowing once leaves the grant whole"
    );
}
