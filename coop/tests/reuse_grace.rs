//! The reuse grace period (`Config::reuse_grace`, `COOP_REUSE_GRACE_SECONDS`), over HTTP: for
//! that long after a refresh token was rotated (on COOP's clock), presenting it again refreshes
//! as normal from the same grant, and the successor issued before stays valid; after it, reuse
//! detection revokes the grant as ever.

use std::time::Duration;

use coop::testkit::*;

fn refresh_token(tokens: &Tokens) -> &str {
    tokens.refresh_token.as_deref().unwrap()
}

async fn with_grace(seconds: u64) -> TestCoop {
    TestCoop::start_with(|config| config.reuse_grace = Duration::from_secs(seconds)).await
}

#[tokio::test]
async fn within_the_grace_period_a_rotated_refresh_token_refreshes_again_and_its_successor_stays_valid() {
    let coop = with_grace(30).await;
    let first = coop.login("topcluck", ALL_SCOPES).await;
    let old = refresh_token(&first);
    let successor = coop.refresh("topcluck", old, None).await.expect_ok();

    // The answer was lost, say: 10 s later the client presents the old token again.
    coop.advance_clock(10).await;
    let again = coop.refresh("topcluck", old, None).await.expect_ok();
    assert_ne!(refresh_token(&again), refresh_token(&successor));
    assert_ne!(refresh_token(&again), old);
    assert!(coop.token_alive(&again.access_token).await);

    // Both successors are valid, and each rotates on its own.
    let from_successor = coop
        .refresh("topcluck", refresh_token(&successor), None)
        .await
        .expect_ok();
    let from_again = coop
        .refresh("topcluck", refresh_token(&again), None)
        .await
        .expect_ok();
    assert!(coop.token_alive(&from_successor.access_token).await);
    assert!(coop.token_alive(&from_again.access_token).await);

    // The same grant, not revoked; no reuse detected.
    let grants = coop.grants("ada").await;
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0]["revoked"], false);
    let counters = coop.counters().await;
    assert_eq!(counters["reuse_detections"], 0);
    assert_eq!(counters["grants_revoked"], 0);
    assert_eq!(counters["reuses_within_grace"], 1);
    assert_eq!(counters["token_requests"]["refresh_token"]["ok"], 4);
    // Rotated is rotated: introspection says the old token is not active.
    assert!(!coop.active("topcluck", old).await);
}

#[tokio::test]
async fn the_grace_period_counts_from_the_rotation_and_after_it_a_replay_is_reuse() {
    let coop = with_grace(30).await;
    let first = coop.login("topcluck", ALL_SCOPES).await;
    let old = refresh_token(&first);
    let successor = coop.refresh("topcluck", old, None).await.expect_ok();

    // Presenting it within the grace does not extend the grace.
    coop.advance_clock(20).await;
    let again = coop.refresh("topcluck", old, None).await.expect_ok();
    coop.advance_clock(9).await;
    coop.refresh("topcluck", old, None).await.expect_ok();
    coop.advance_clock(1).await;

    // 30 s after the rotation: reuse, the whole grant revoked.
    let replay = coop.refresh("topcluck", old, None).await;
    replay.expect_invalid_grant();
    assert_eq!(
        replay.body["error_description"],
        "the refresh token was already used"
    );
    for tokens in [&successor, &again] {
        coop.refresh("topcluck", refresh_token(tokens), None)
            .await
            .expect_invalid_grant();
        assert!(!coop.token_alive(&tokens.access_token).await);
    }
    let counters = coop.counters().await;
    assert_eq!(counters["reuses_within_grace"], 2);
    assert_eq!(counters["reuse_detections"], 1);
    assert_eq!(counters["grants_revoked"], 1);
}

#[tokio::test]
async fn a_successor_used_within_the_grace_is_itself_reused_after_its_own_rotation() {
    // Each token's grace counts from its own rotation: the successor, rotated later, keeps its
    // grace after the first token's has ended.
    let coop = with_grace(30).await;
    let first = coop.login("topcluck", ALL_SCOPES).await;
    let second = coop
        .refresh("topcluck", refresh_token(&first), None)
        .await
        .expect_ok();
    coop.advance_clock(25).await;
    let third = coop
        .refresh("topcluck", refresh_token(&second), None)
        .await
        .expect_ok();
    coop.advance_clock(10).await;
    // 35 s after the first rotation, 10 s after the second.
    coop.refresh("topcluck", refresh_token(&second), None)
        .await
        .expect_ok();
    coop.refresh("topcluck", refresh_token(&third), None)
        .await
        .expect_ok();
    assert_eq!(coop.counters().await["reuse_detections"], 0);
    coop.refresh("topcluck", refresh_token(&first), None)
        .await
        .expect_invalid_grant();
    assert_eq!(coop.counters().await["reuse_detections"], 1);
}

#[tokio::test]
async fn without_a_grace_period_the_default_an_immediate_replay_is_reuse() {
    let coop = TestCoop::start().await;
    assert_eq!(coop.config.reuse_grace, Duration::ZERO);
    let first = coop.login("topcluck", ALL_SCOPES).await;
    coop.refresh("topcluck", refresh_token(&first), None)
        .await
        .expect_ok();
    coop.refresh("topcluck", refresh_token(&first), None)
        .await
        .expect_invalid_grant();
    let counters = coop.counters().await;
    assert_eq!(counters["reuse_detections"], 1);
    assert_eq!(counters["reuses_within_grace"], 0);
}
