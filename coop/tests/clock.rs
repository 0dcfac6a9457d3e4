//! COOP's own clock over HTTP (`/dev/clock`) and in process (`RunningCoop::clock`): codes,
//! access tokens, ID tokens, sessions, the egg API's "today" and outages all follow it, and
//! each COOP has its own. No test here sleeps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use coop::testkit::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn wall_clock_s() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn date_of(unix_seconds: &Value) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(unix_seconds.as_i64().unwrap())
        .unwrap()
        .date()
}

#[tokio::test]
async fn dev_clock_reports_advances_and_refuses_backward_or_absurd_moves() {
    let mut coop = TestCoop::start().await;
    let reading = coop.read_clock().await;
    assert_eq!(reading["offset_seconds"], 0);
    assert!(
        (reading["now"].as_i64().unwrap() - wall_clock_s()).abs() <= 5,
        "{reading}"
    );

    let (status, reading) = coop.advance_clock(120).await;
    assert_eq!(status, StatusCode::OK, "{reading}");
    assert_eq!(reading["offset_seconds"], 120);
    assert!(
        (reading["now"].as_i64().unwrap() - wall_clock_s() - 120).abs() <= 5,
        "{reading}"
    );
    assert_eq!(coop.clock().offset(), Duration::from_secs(120));

    for (body, why) in [
        (json!({ "advance_seconds": -1 }), "backwards"),
        (
            json!({ "advance_seconds": 200 * 365 * 24 * 3600_i64 }),
            "200 years",
        ),
        (json!({ "advance_seconds": 1e30 }), "beyond any integer"),
        (json!({ "advance_seconds": 1.5 }), "not whole seconds"),
        (json!({ "advance_seconds": "soon" }), "not a number"),
        (json!({ "seconds": 5 }), "the wrong field"),
        (json!({}), "nothing"),
    ] {
        let response = fetch(backend().post(coop.url("/dev/clock")).json(&body)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{why}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request", "{why}: {error}");
    }
    let (status, reading) = coop.advance_clock(0).await;
    assert_eq!(
        (status, &reading["offset_seconds"]),
        (StatusCode::OK, &json!(120))
    );

    // A restart on the same clock does not take time back.
    coop.restart().await;
    assert_eq!(coop.read_clock().await["offset_seconds"], 120);

    let closed = TestCoop::start_with(|config| config.dev_endpoints = false).await;
    let response = backend().get(closed.url("/dev/clock")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn two_coops_in_one_process_keep_independent_clocks() {
    let early = TestCoop::start().await;
    let late = TestCoop::start().await;
    let early_tokens = early.login("topcluck", ALL_SCOPES).await;
    let late_tokens = late.login("topcluck", ALL_SCOPES).await;

    // One moved over HTTP, the other in process.
    assert_eq!(late.advance_clock(3600).await.0, StatusCode::OK);
    early.clock().advance(Duration::from_secs(30));
    assert_eq!(late.read_clock().await["offset_seconds"], 3600);
    assert_eq!(early.read_clock().await["offset_seconds"], 30);
    assert_eq!(late.clock().offset(), Duration::from_secs(3600));
    assert_eq!(early.clock().offset(), Duration::from_secs(30));

    // The 60 s access tokens: expired at one, not at the other.
    let (status, _, _) = late
        .api(Method::GET, "/api/eggs", &late_tokens.access_token, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = early
        .api(Method::GET, "/api/eggs", &early_tokens.access_token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn codes_expire_on_the_clock() {
    let coop = TestCoop::start().await;
    let browser = browser();
    let (prompt, late) = (Pkce::new(), Pkce::new());
    let first = coop
        .authorize_with_form(&browser, "topcluck", ALL_SCOPES, &prompt, "ada")
        .await;
    let second = coop
        .authorize_with_form(&browser, "topcluck", ALL_SCOPES, &late, "ada")
        .await;

    // Codes live 120 s: one redeemed after 100 s works, one after 125 s does not.
    coop.advance_clock(100).await;
    coop.redeem("topcluck", &first, &prompt.verifier)
        .await
        .expect_ok();
    coop.advance_clock(25).await;
    let answer = coop.redeem("topcluck", &second, &late.verifier).await;
    answer.expect_invalid_grant();
    assert_eq!(answer.body["error_description"], "the code has expired");
}

#[tokio::test]
async fn id_tokens_sessions_and_the_egg_apis_today_follow_the_clock() {
    let coop = TestCoop::start().await;
    let before = coop.login("topcluck", ALL_SCOPES).await;
    let (status, _, _) = coop.lay_eggs(&before.access_token, 3).await;
    assert_eq!(status, StatusCode::CREATED);
    let before_id = claims(before.id_token.as_deref().unwrap());

    coop.clock().advance(Duration::from_secs(24 * 3600));
    let after = coop.login("topcluck", ALL_SCOPES).await;
    let after_id = claims(after.id_token.as_deref().unwrap());
    let iat = after_id["iat"].as_i64().unwrap();
    assert!(
        iat >= before_id["iat"].as_i64().unwrap() + 24 * 3600,
        "{after_id}"
    );
    assert_eq!(after_id["exp"].as_i64().unwrap(), iat + 300);
    // A new COOP session (a new browser) started on the moved clock.
    assert!(after_id["auth_time"].as_i64().unwrap() >= iat - 5, "{after_id}");
    let access = claims(&after.access_token);
    assert_eq!(access["iat"], after_id["iat"]);
    assert_eq!(access["exp"].as_i64().unwrap(), iat + 60);

    // A day later it is another day at the egg API: yesterday's eggs are not today's.
    let (status, body, _) = coop
        .api(Method::GET, "/api/eggs", &after.access_token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let today: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(today["count"], 0, "{today}");
    assert_eq!(today["date"], date_of(&after_id["iat"]).to_string());
    assert_eq!(
        date_of(&before_id["iat"]).next_day().unwrap(),
        date_of(&after_id["iat"])
    );
}

#[tokio::test]
async fn an_outage_ends_when_the_clock_passes_it() {
    let coop = TestCoop::start().await;
    let refresh_token = coop.login("topcluck", ALL_SCOPES).await.refresh_token.unwrap();
    coop.set_faults(json!({ "unavailable_seconds": 600 })).await;

    let retry_after =
        |answer: &TokenAnswer| -> u64 { answer.headers["retry-after"].to_str().unwrap().parse().unwrap() };
    let down = coop.refresh("topcluck", &refresh_token, None).await;
    down.expect_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    assert!(
        (595..=600).contains(&retry_after(&down)),
        "{}",
        retry_after(&down)
    );

    coop.advance_clock(300).await;
    let still_down = coop.refresh("topcluck", &refresh_token, None).await;
    still_down.expect_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    assert!(
        (295..=300).contains(&retry_after(&still_down)),
        "{}",
        retry_after(&still_down)
    );

    coop.advance_clock(301).await;
    coop.refresh("topcluck", &refresh_token, None).await.expect_ok();
}
