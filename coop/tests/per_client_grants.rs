//! Per-client grants (`COOP_GRANT_MODEL=per_client`, as node-oidc-provider and Google keep
//! them) over HTTP: every login of a client for a farmer shares one grant, whose scope is the
//! union of what each asked for; revoking any of its refresh or access tokens, or reusing a
//! rotated refresh token, ends all of them; another client's grant lives on; an offline grant
//! survives COOP logout.

use coop::testkit::*;
use coop::{COUNTING_CLIENT_ID, GrantModel};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const ONLINE_READ: &str = "openid eggs:read";
const ONLINE_WRITE: &str = "openid eggs:write";
const OFFLINE: &str = "openid offline_access eggs:read";

async fn per_client() -> TestCoop {
    TestCoop::start_with(|config| config.grant_model = GrantModel::PerClient).await
}

/// Another authorization of `client_id` for `scope` in `browser` (logged in already), redeemed.
async fn log_in_again(coop: &TestCoop, browser: &reqwest::Client, client_id: &str, scope: &str) -> Tokens {
    let pkce = Pkce::new();
    let code = coop
        .authorize_with_form(browser, client_id, scope, &pkce, "ada")
        .await;
    coop.redeem(client_id, &code, &pkce.verifier).await.expect_ok()
}

/// ada logs in twice with `topcluck` in one browser: first `openid eggs:read`, then
/// `openid eggs:write`.
async fn two_logins(coop: &TestCoop) -> (reqwest::Client, Tokens, Tokens) {
    let (browser, first) = coop.browser_login("topcluck", ONLINE_READ, "ada").await;
    let second = log_in_again(coop, &browser, "topcluck", ONLINE_WRITE).await;
    (browser, first, second)
}

fn refresh_token(tokens: &Tokens) -> &str {
    tokens.refresh_token.as_deref().unwrap()
}

/// The status of `GET path` with `access_token`.
async fn status_at(coop: &TestCoop, path: &str, access_token: &str) -> StatusCode {
    coop.api(Method::GET, path, access_token, None).await.0
}

/// Every token of `tokens` is dead: refreshes answer `invalid_grant`, the egg API and userinfo
/// answer 401.
async fn assert_dead(coop: &TestCoop, tokens: &[&Tokens]) {
    for tokens in tokens {
        coop.refresh("topcluck", refresh_token(tokens), None)
            .await
            .expect_invalid_grant();
        for path in ["/api/eggs", "/api/me", "/userinfo"] {
            assert_eq!(
                status_at(coop, path, &tokens.access_token).await,
                StatusCode::UNAUTHORIZED,
                "{path}"
            );
        }
    }
}

/// ada's only grant.
async fn only_grant(coop: &TestCoop) -> Value {
    let grants = coop.grants("ada").await;
    assert_eq!(grants.len(), 1, "{grants:?}");
    grants[0].clone()
}

#[tokio::test]
async fn two_logins_of_a_client_share_one_grant_with_the_union_of_their_scopes() {
    let coop = per_client().await;
    let (browser, first) = coop.browser_login("topcluck", ONLINE_READ, "ada").await;
    let id = only_grant(&coop).await["id"].clone();
    let second = log_in_again(&coop, &browser, "topcluck", ONLINE_WRITE).await;

    let grant = only_grant(&coop).await;
    assert_eq!(grant["id"], id);
    assert_eq!(grant["client_id"], "topcluck");
    assert_eq!(grant["scope"], "eggs:read eggs:write openid");
    assert_eq!(grant["offline"], false);
    assert_eq!(grant["revoked"], false);
    // The answer is the code's; the grant's refresh tokens get the union.
    assert_eq!(second.scope, "eggs:write openid");
    assert_ne!(refresh_token(&first), refresh_token(&second));
    let widened = coop
        .refresh("topcluck", refresh_token(&second), None)
        .await
        .expect_ok();
    assert_eq!(widened.scope, "eggs:read eggs:write openid");
    // The first login's refresh token still works, and rotates on its own.
    let rotated = coop
        .refresh("topcluck", refresh_token(&first), None)
        .await
        .expect_ok();
    assert_eq!(rotated.scope, "eggs:read eggs:write openid");
    for tokens in [&first, &second, &widened, &rotated] {
        assert!(coop.token_alive(&tokens.access_token).await);
    }
    assert_eq!(coop.counters().await["reuse_detections"], 0);
}

#[tokio::test]
async fn revoking_the_second_logins_refresh_token_ends_the_first_logins_tokens_too() {
    let coop = per_client().await;
    let (_, first, second) = two_logins(&coop).await;
    let (status, _) = coop.revoke("topcluck", refresh_token(&second)).await;
    assert_eq!(status, StatusCode::OK);

    assert_dead(&coop, &[&first, &second]).await;
    let grant = only_grant(&coop).await;
    assert_eq!(grant["revoked"], true);
    assert_eq!(grant["revoked_reason"], "refresh token revoked");
    assert_eq!(coop.counters().await["grants_revoked"], 1);
}

#[tokio::test]
async fn revoking_an_access_token_revokes_the_whole_grant() {
    let coop = per_client().await;
    let (_, first, second) = two_logins(&coop).await;
    let (status, _) = coop.revoke("topcluck", &first.access_token).await;
    assert_eq!(status, StatusCode::OK);

    assert_dead(&coop, &[&first, &second]).await;
    assert_eq!(only_grant(&coop).await["revoked_reason"], "access token revoked");
}

#[tokio::test]
async fn two_clients_get_two_grants_and_revoking_one_leaves_the_other_working() {
    let coop = per_client().await;
    let (browser, login) = coop.browser_login("topcluck", ONLINE_READ, "ada").await;
    let counting = coop
        .consented_login(&browser, COUNTING_CLIENT_ID, OFFLINE, "ada")
        .await;
    let counted_again = coop
        .consented_login(&browser, COUNTING_CLIENT_ID, OFFLINE, "ada")
        .await;

    let grants = coop.grants("ada").await;
    let mut clients: Vec<&str> = grants.iter().map(|g| g["client_id"].as_str().unwrap()).collect();
    clients.sort_unstable();
    assert_eq!(clients, ["topcluck", COUNTING_CLIENT_ID]);
    assert_ne!(grants[0]["id"], grants[1]["id"]);

    let (status, _) = coop.revoke("topcluck", refresh_token(&login)).await;
    assert_eq!(status, StatusCode::OK);
    assert_dead(&coop, &[&login]).await;
    for tokens in [&counting, &counted_again] {
        assert!(coop.token_alive(&tokens.access_token).await);
        coop.refresh(COUNTING_CLIENT_ID, refresh_token(tokens), None)
            .await
            .expect_ok();
    }
    let live: Vec<Value> = coop
        .grants("ada")
        .await
        .into_iter()
        .filter(|g| g["revoked"] == false)
        .collect();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["client_id"], COUNTING_CLIENT_ID);
    assert_eq!(live[0]["offline"], true);
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_kills_the_shared_grant() {
    let coop = per_client().await;
    let (_, first, second) = two_logins(&coop).await;
    let rotated = coop
        .refresh("topcluck", refresh_token(&first), None)
        .await
        .expect_ok();
    coop.refresh("topcluck", refresh_token(&first), None)
        .await
        .expect_invalid_grant();

    assert_dead(&coop, &[&second, &rotated]).await;
    assert_eq!(only_grant(&coop).await["revoked_reason"], "refresh token reused");
    let counters = coop.counters().await;
    assert_eq!(counters["reuse_detections"], 1);
    assert_eq!(counters["grants_revoked"], 1);
}

#[tokio::test]
async fn a_grant_made_offline_by_a_later_consent_survives_coop_logout() {
    let coop = per_client().await;
    let (browser, online) = coop.browser_login("topcluck", ONLINE_READ, "ada").await;
    let offline = coop.consented_login(&browser, "topcluck", OFFLINE, "ada").await;
    let grant = only_grant(&coop).await;
    assert_eq!(grant["offline"], true);
    assert_eq!(grant["scope"], "eggs:read offline_access openid");
    // bert's grant, made in another browser, stays online.
    let (bert_browser, bert) = coop.browser_login("topcluck", ONLINE_READ, "bert").await;

    for (browser, tokens) in [(&browser, &online), (&bert_browser, &bert)] {
        let response = fetch(
            browser.get(coop.end_session_url(&[("id_token_hint", tokens.id_token.as_deref().unwrap())])),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(!coop.session_alive(browser).await);
    }

    // The online login's refresh token is one of the offline grant's now: it survives.
    for tokens in [&online, &offline] {
        coop.refresh("topcluck", refresh_token(tokens), None)
            .await
            .expect_ok();
    }
    assert_dead(&coop, &[&bert]).await;
    assert_eq!(
        coop.grants("bert").await[0]["revoked_reason"],
        "logged out of COOP"
    );
}
