//! What a security review of the back-channel logout found, each proved against the real
//! server and a real COOP over HTTP:
//!
//! - junk logout tokens naming random `kid`s make COOP's JWKS be fetched at most once, and a
//!   farmer's login right after still succeeds (no flood holds the provider's connections);
//! - an address over the route's burst is answered 400 `temporarily_unavailable` with
//!   `Retry-After`, without the token being looked at.

mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

/// COOP posting logout tokens to one in-process BFF (SQLite) started with `extra` variables.
async fn farm(extra: &[(&str, &str)]) -> (Harness, Bff) {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::start_with(&[port], |config| {
        config.backchannel_logout_uris.insert(
            "topcluck".into(),
            format!("http://127.0.0.1:{port}/bff/backchannel-logout"),
        );
    })
    .await;
    let bff = harness.bff_with(listener, NEW_KEY, extra).await;
    (harness, bff)
}

/// `token` posted as the provider posts it: status and JSON body.
async fn post_token(base: &str, token: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let response = http()
        .post(format!("{base}/bff/backchannel-logout"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

/// A token of the right shape, header and all (ES256, `typ: logout+jwt`) naming `kid`, with a
/// signature of nobody's: it can be refused only once the key is looked for.
fn junk(kid: &str) -> String {
    let part = |value: Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap());
    format!(
        "{}.{}.{}",
        part(json!({ "alg": "ES256", "typ": "logout+jwt", "kid": kid })),
        part(json!({ "sub": "ada", "iat": 0 })),
        URL_SAFE_NO_PAD.encode([7u8; 64])
    )
}

fn jwks_fetches(counters: &Value) -> u64 {
    counters["jwks_fetches"]
        .as_u64()
        .expect("COOP counts its JWKS fetches")
}

/// Fifty junk tokens with random kids, ten at a time: at most one JWKS fetch at COOP between
/// them (not one each), every one refused with 400 `invalid_request` (no key), and a farmer's
/// login right after succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_tokens_with_random_kids_fetch_the_jwks_at_most_once_and_logins_go_on() {
    let (harness, bff) = farm(&[("TOPCLUCK_BACKCHANNEL_LOGOUT_BURST", "1000")]).await;
    let first = bff.login_at_coop(&browser(), "ada").await;
    assert!(!first.is_empty());
    let before = jwks_fetches(&harness.coop.counters().await);
    for batch in 0..5 {
        let answers = futures_util::future::join_all((0..10).map(|i| {
            let token = junk(&format!("junk-{batch}-{i}-{}", rand_suffix()));
            let base = bff.base.clone();
            async move { post_token(&base, &token).await }
        }))
        .await;
        for (status, _, body) in answers {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["error"], "invalid_request", "{body}");
        }
    }
    let fetched = jwks_fetches(&harness.coop.counters().await) - before;
    println!("JWKS fetches for 50 junk tokens: {fetched}");
    assert!(fetched <= 1, "{fetched} JWKS fetches for 50 junk tokens");
    let cookie = bff.login_at_coop(&browser(), "bert").await;
    assert_eq!(
        bff.session(Some(&cookie)).await.0,
        StatusCode::OK,
        "a login right after"
    );
}

/// With a burst of 3, the fourth request from one address in a row is answered 400
/// `temporarily_unavailable` with `Retry-After` and `no-store` (§2.8: 400 for a failed logout,
/// no other status), before the token is read: a good one is refused too. After the refill
/// (a tenth of a second on the BFF's clock) a good token is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_over_its_burst_is_answered_temporarily_unavailable() {
    let (harness, bff) = farm(&[("TOPCLUCK_BACKCHANNEL_LOGOUT_BURST", "3")]).await;
    for i in 0..3 {
        let (status, _, body) = post_token(&bff.base, &junk(&format!("k{i}"))).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request"))
        );
    }
    let good = harness
        .coop
        .logout_token(&harness.coop.logout_claims("topcluck", Some("ada"), None));
    let (status, headers, body) = post_token(&bff.base, &good).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(headers.contains_key("retry-after"), "{headers:?}");
    assert_eq!(headers["cache-control"], "no-store");
    harness.advance(std::time::Duration::from_secs(1));
    let (status, _, body) = post_token(&bff.base, &good).await;
    assert_eq!(status, StatusCode::OK, "after the refill: {body}");
}

fn rand_suffix() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    u64::from_le_bytes(bytes)
}

/// The race: ada's code exchange is done at COOP (the ID token issued, naming her COOP
/// session's `sid`) but its answer is slow; meanwhile she logs out of COOP, which posts its
/// logout token (`sub` and that `sid`) to the BFF — no session is registered yet, and it is
/// answered 200. The login, completing after it, is refused (400 `login_failed`, no session
/// cookie) and the grant it was issued is revoked at COOP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_while_its_login_is_completing_refuses_the_login() {
    let (harness, bff) = farm(&[]).await;
    let coop_browser = browser();
    let (exchange, login_cookie) = bff.authorized_at_coop(&coop_browser, "ada").await;
    harness.faults(json!({ "answer_delay_ms": 1500 })).await;
    let login = bff.post_login(&exchange, Some(&login_cookie));
    let logout = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        harness.coop.end_session_confirmed(&coop_browser).await.status()
    };
    let (response, logged_out) = tokio::join!(login, logout);
    harness.clear_faults().await;
    assert_eq!(logged_out, StatusCode::OK);
    assert_eq!(
        harness.coop.backchannel_logouts().await,
        json!({ "topcluck": { "200": 1 } }),
        "the logout token reached the BFF during the login"
    );
    let status = response.status();
    assert!(
        session_set_cookie(response.headers()).is_none(),
        "no session cookie"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "login_failed", "{body}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let grants = harness.coop.grants("ada").await;
        if grants.iter().all(|grant| grant["revoked"] == true) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ada's grant is still live: {grants:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The store's side of a logout token, on PostgreSQL (its rows read with SQL):
/// - the registry matches the issuer: a session of another provider with the same `sub` and
///   `sid` is not ended;
/// - a token with `sid` and `sub` also ends the farmer's session whose ID token had no `sid`,
///   not one of another `sid`;
/// - an existing revocation that lasts longer is not shortened;
/// - the `jti` digest is kept until the token is refused anyway plus both leeways (`exp` + 30 s
///   + 60 s + 30 s), and one watermark is left;
/// - the `jti`, the ended sessions and the watermark are one transaction: with the watermark
///   table gone, the logout fails (400 `temporarily_unavailable`) and nothing is left of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logout_is_one_transaction_that_matches_the_issuer_and_keeps_later_revocations() {
    let cluster = tokio::task::spawn_blocking(support::postgres::Cluster::shared)
        .await
        .unwrap();
    let database_url = cluster.database().await;
    let (harness, bff) = farm(&[("TOPCLUCK_DATABASE_URL", database_url.as_str())]).await;
    let coop = &harness.coop;
    let store = bff.state.as_ref().unwrap().store.clone().unwrap();
    let now = harness.clock.now();
    let long_ago = now - 100;
    for (id, iss, sid) in [
        ("no-sid", coop.base.as_str(), None),
        ("sid-s1", coop.base.as_str(), Some("s1")),
        ("sid-s1-kept", coop.base.as_str(), Some("s1")),
        ("sid-s2", coop.base.as_str(), Some("s2")),
        ("other-iss", "https://elsewhere.example", Some("s1")),
    ] {
        store
            .register_session(id, iss, "ada", sid, long_ago, now + 3600)
            .await
            .unwrap();
    }
    store.revoke_session("sid-s1-kept", now + 999_999).await.unwrap();
    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    let revoked = || async {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT session_id, expires_at FROM revoked_sessions ORDER BY session_id")
                .fetch_all(&pool)
                .await
                .unwrap();
        rows
    };
    let count = |table: &'static str| {
        let pool = pool.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&pool)
                .await
                .unwrap();
            n
        }
    };

    let claims = coop.logout_claims("topcluck", Some("ada"), Some("s1"));
    let iat = claims["iat"].as_i64().unwrap();
    let (status, _, body) = post_token(&bff.base, &coop.logout_token(&claims)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        revoked().await,
        vec![
            ("no-sid".to_owned(), now + 3600),
            ("sid-s1".to_owned(), now + 3600),
            ("sid-s1-kept".to_owned(), now + 999_999)
        ],
        "no-sid (the farmer's, without sid) too; not sid-s2 (another sid), not other-iss \
         (another provider); sid-s1-kept's later end kept"
    );
    let (kept_until,): (i64,) = sqlx::query_as("SELECT expires_at FROM used_logout_tokens")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept_until, iat + 120 + 30 + 60 + 30);
    assert_eq!(count("logout_watermarks").await, 1);

    sqlx::query("DROP TABLE logout_watermarks")
        .execute(&pool)
        .await
        .unwrap();
    let (status, _, body) = post_token(
        &bff.base,
        &coop.logout_token(&coop.logout_claims("topcluck", Some("ada"), Some("s2"))),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("temporarily_unavailable"))
    );
    assert_eq!(count("used_logout_tokens").await, 1, "the jti was not kept");
    assert_eq!(revoked().await.len(), 3, "sid-s2 was not ended half-way");
}
