//! The vault (issue 11), one suite run against both stores: every case below runs once on
//! SQLite (a file in a temporary directory, as in development) and once on PostgreSQL (a
//! database of a throwaway cluster, `support::postgres`), through `Vault::open` and the real
//! settings, as the server opens it. Tampering goes around the vault, with plain SQL on the
//! same database.

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use server::settings::Settings;
use server::vault::{GrantState, Outcome, Owner, Vault, VaultError};
use sha2::{Digest, Sha256};
use support::stores::Store;
use time::{Date, Month};

const K1: &str = "azEta2V5LWsxLWtleS1rMS1rZXktazEta2V5LWsxLWs";
const K2: &str = "azIta2V5LWsyLWtleS1rMi1rZXktazIta2V5LWsyLWs";
const ISSUER: &str = "https://coop.example";
/// Each case, start to end (the PostgreSQL cluster's start included).
const CASE_LIMIT: Duration = Duration::from_secs(120);

/// One case's store: a temporary directory (the data directory), and for PostgreSQL a fresh
/// database.
struct Env {
    dir: tempfile::TempDir,
    database_url: Option<String>,
}

impl Env {
    async fn new(store: Store) -> Env {
        let database_url = match store {
            Store::Sqlite => None,
            Store::Postgres => Some(support::postgres::Cluster::shared().database().await),
        };
        Env {
            dir: tempfile::tempdir().unwrap(),
            database_url,
        }
    }

    fn vars(&self, keys: &str) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::from([("TOPCLUCK_VAULT_KEYS".to_owned(), keys.to_owned())]);
        if let Some(url) = &self.database_url {
            vars.insert("TOPCLUCK_DATABASE_URL".into(), url.clone());
        }
        vars
    }

    /// The vault as the server opens it, with this key ring.
    async fn open(&self, keys: &str) -> Vault {
        let site = url::Url::parse("http://127.0.0.1:3000").unwrap();
        let settings = Settings::from_vars(&self.vars(keys), &site, false, self.dir.path()).unwrap();
        Vault::open(&settings, self.dir.path()).await.unwrap()
    }

    /// The same database, without the vault.
    async fn raw(&self) -> Raw {
        match &self.database_url {
            Some(url) => Raw::Postgres(sqlx::PgPool::connect(url).await.unwrap()),
            None => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(self.dir.path().join("vault.sqlite"))
                    .busy_timeout(Duration::from_secs(10));
                Raw::Sqlite(sqlx::SqlitePool::connect_with(options).await.unwrap())
            }
        }
    }
}

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

macro_rules! raw {
    ($raw:expr, $pool:ident => $body:expr) => {
        match $raw {
            Raw::Sqlite($pool) => $body,
            Raw::Postgres($pool) => $body,
        }
    };
}

impl Raw {
    async fn execute(&self, sql: &'static str) -> u64 {
        raw!(self, pool => sqlx::query(sql).execute(pool).await.unwrap().rows_affected())
    }

    /// The sealed columns of `subject`'s grant: key id, sealed bytes, token digest.
    async fn grant(&self, subject: &str) -> (Option<String>, Option<Vec<u8>>, Option<Vec<u8>>) {
        raw!(self, pool => sqlx::query_as(
            "SELECT key_id, sealed_token, token_sha256 FROM offline_grants WHERE subject = $1",
        )
        .bind(subject)
        .fetch_one(pool)
        .await
        .unwrap())
    }

    async fn set_sealed(&self, subject: &str, key_id: &str, bytes: &[u8]) {
        raw!(self, pool => sqlx::query(
            "UPDATE offline_grants SET key_id = $2, sealed_token = $3 WHERE subject = $1",
        )
        .bind(subject)
        .bind(key_id)
        .bind(bytes)
        .execute(pool)
        .await
        .map(drop)
        .unwrap());
    }

    async fn count(&self, sql: &'static str) -> i64 {
        raw!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap())
    }
}

fn owner(subject: &str) -> Owner {
    Owner {
        issuer: ISSUER.into(),
        subject: subject.into(),
        client_id: "topcluck".into(),
    }
}

fn scopes() -> Vec<String> {
    ["openid", "offline_access", "eggs:read"]
        .map(String::from)
        .to_vec()
}

fn day(d: u8) -> Date {
    Date::from_calendar_date(2026, Month::March, d).unwrap()
}

fn ring(entries: &[(&str, &str)]) -> String {
    entries
        .iter()
        .map(|(id, key)| format!("{id}:{key}"))
        .collect::<Vec<_>>()
        .join(",")
}

const NOW: i64 = 1_772_000_000;

// ---------------------------------------------------------------------------------------
// The cases, each `async fn(Env)`.

async fn enrol_stores_the_token_sealed_and_returns_the_one_it_replaces(env: Env) {
    let vault = env.open(&ring(&[("k1", K1)])).await;
    let alice = owner("alice");
    assert_eq!(
        vault.enrol(&alice, "rt-alice-1", &scopes(), NOW).await.unwrap(),
        None
    );
    assert_eq!(
        vault.refresh_token(&alice).await.unwrap().as_deref(),
        Some("rt-alice-1")
    );
    assert_eq!(vault.enrolled().await.unwrap(), vec![alice.clone()]);
    let status = vault.status(&alice).await.unwrap().unwrap();
    assert_eq!(status.enabled_since, NOW);
    assert_eq!(status.state, GrantState::Active);
    assert_eq!(status.scopes, scopes());
    assert_eq!(status.last_counted_at, None);

    // At rest: the key id, bytes that do not contain the token, and its SHA-256.
    let raw = env.raw().await;
    let (key_id, sealed, digest) = raw.grant("alice").await;
    assert_eq!(key_id.as_deref(), Some("k1"));
    let sealed = sealed.unwrap();
    assert!(!sealed.windows(10).any(|w| w == b"rt-alice-1"));
    assert_eq!(digest.unwrap(), Sha256::digest(b"rt-alice-1").to_vec());

    // Re-enrolment replaces the token and hands back the old one, to revoke.
    let replaced = vault
        .enrol(&alice, "rt-alice-2", &scopes(), NOW + 60)
        .await
        .unwrap();
    assert_eq!(replaced.as_deref(), Some("rt-alice-1"));
    assert_eq!(
        vault.refresh_token(&alice).await.unwrap().as_deref(),
        Some("rt-alice-2")
    );
    assert_eq!(
        vault.status(&alice).await.unwrap().unwrap().enabled_since,
        NOW + 60
    );
    assert_eq!(vault.refresh_token(&owner("nobody")).await.unwrap(), None);
}

async fn rotate_is_a_compare_and_swap_on_the_current_token(env: Env) {
    let vault = env.open(&ring(&[("k1", K1)])).await;
    let alice = owner("alice");
    vault.enrol(&alice, "rt-0", &scopes(), NOW).await.unwrap();
    assert!(vault.rotate(&alice, "rt-0", "rt-1", NOW + 1).await.unwrap());
    assert_eq!(
        vault.refresh_token(&alice).await.unwrap().as_deref(),
        Some("rt-1")
    );
    // The same write again (a retry after a reply that was lost): stored, not refused — a
    // refusal would make the job revoke the token it has just stored.
    assert!(vault.rotate(&alice, "rt-0", "rt-1", NOW + 1).await.unwrap());

    // A stale `old`: refused, and the row is byte for byte unchanged.
    let raw = env.raw().await;
    let before = raw.grant("alice").await;
    assert!(!vault.rotate(&alice, "rt-0", "rt-stale", NOW + 2).await.unwrap());
    assert_eq!(raw.grant("alice").await, before);
    assert_eq!(
        vault.refresh_token(&alice).await.unwrap().as_deref(),
        Some("rt-1")
    );

    // Nobody to rotate: an owner never enrolled, one turned off, one whose grant died.
    assert!(!vault.rotate(&owner("nobody"), "rt-0", "rt-1", NOW).await.unwrap());
    vault.needs_consent(&alice, NOW + 3).await.unwrap();
    assert!(!vault.rotate(&alice, "rt-1", "rt-2", NOW + 4).await.unwrap());
}

async fn concurrent_rotations_of_one_token_have_exactly_one_winner(env: Env) {
    let vault = env.open(&ring(&[("k1", K1)])).await;
    let alice = owner("alice");
    vault.enrol(&alice, "rt-0", &scopes(), NOW).await.unwrap();
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let (vault, alice) = (vault.clone(), alice.clone());
            tokio::spawn(async move {
                let new = format!("rt-1-from-{i}");
                let won = vault.rotate(&alice, "rt-0", &new, NOW + 1).await.unwrap();
                (won, new)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let (won, new) = attempt.await.unwrap();
        if won {
            winners.push(new);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        vault.refresh_token(&alice).await.unwrap(),
        Some(winners[0].clone())
    );
}

async fn needs_consent_drops_the_token_and_keeps_the_history(env: Env) {
    let vault = env.open(&ring(&[("k1", K1)])).await;
    let (alice, bob) = (owner("alice"), owner("bob"));
    vault.enrol(&alice, "rt-alice", &scopes(), NOW).await.unwrap();
    vault.enrol(&bob, "rt-bob", &scopes(), NOW).await.unwrap();
    vault.record_count(&alice, day(1), 7, NOW + 10).await.unwrap();
    vault
        .record_outcome(
            &alice,
            day(2),
            Outcome::NeedsConsent,
            Some("invalid_grant"),
            NOW + 20,
        )
        .await
        .unwrap();
    vault.needs_consent(&alice, NOW + 20).await.unwrap();
    // Again later: the first `since` stays.
    vault.needs_consent(&alice, NOW + 99).await.unwrap();

    assert_eq!(vault.refresh_token(&alice).await.unwrap(), None);
    assert_eq!(vault.enrolled().await.unwrap(), vec![bob.clone()]);
    let status = vault.status(&alice).await.unwrap().unwrap();
    assert_eq!(status.state, GrantState::NeedsConsent { since: NOW + 20 });
    assert_eq!(status.last_counted_at, Some(NOW + 10));
    let last = status.last_outcome.unwrap();
    assert_eq!((last.date, last.outcome), (day(2), Outcome::NeedsConsent));
    assert_eq!(last.reason.as_deref(), Some("invalid_grant"));
    assert_eq!(
        vault.history(&alice, day(1), day(31)).await.unwrap(),
        vec![(day(1), 7)]
    );
    let raw = env.raw().await;
    assert_eq!(raw.grant("alice").await, (None, None, None));
    // Nothing to revoke when it comes back: the dead token is gone.
    assert_eq!(vault.remove(&alice).await.unwrap(), None);

    // The compare-and-swap variant: a stale answer does not kill a renewed grant.
    assert!(
        !vault
            .needs_consent_if_current(&bob, "rt-older", NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        vault.refresh_token(&bob).await.unwrap().as_deref(),
        Some("rt-bob")
    );
    assert!(vault.needs_consent_if_current(&bob, "rt-bob", NOW).await.unwrap());
    assert_eq!(vault.enrolled().await.unwrap(), vec![]);

    // Turning counting on again clears the state.
    assert_eq!(
        vault.enrol(&bob, "rt-bob-2", &scopes(), NOW + 30).await.unwrap(),
        None
    );
    assert_eq!(
        vault.status(&bob).await.unwrap().unwrap().state,
        GrantState::Active
    );
}

async fn remove_returns_the_token_to_revoke_and_keeps_the_history(env: Env) {
    let vault = env.open(&ring(&[("k1", K1)])).await;
    let alice = owner("alice");
    vault.enrol(&alice, "rt-alice", &scopes(), NOW).await.unwrap();
    vault.record_count(&alice, day(3), 4, NOW).await.unwrap();
    assert_eq!(vault.remove(&alice).await.unwrap().as_deref(), Some("rt-alice"));
    assert_eq!(vault.status(&alice).await.unwrap(), None);
    assert_eq!(vault.refresh_token(&alice).await.unwrap(), None);
    assert_eq!(vault.enrolled().await.unwrap(), vec![]);
    assert_eq!(vault.remove(&alice).await.unwrap(), None);
    assert_eq!(
        vault.history(&alice, day(1), day(31)).await.unwrap(),
        vec![(day(3), 4)]
    );
}

async fn one_count_per_farmer_per_day_and_history_by_range(env: Env) {
    let vault = env.open(&ring(&[("k1", K1)])).await;
    let (alice, bob) = (owner("alice"), owner("bob"));
    for d in 1..=10u8 {
        vault
            .record_count(&alice, day(d), i64::from(d), NOW)
            .await
            .unwrap();
    }
    vault.record_count(&bob, day(4), 100, NOW).await.unwrap();
    // A later count the same day replaces the first.
    vault.record_count(&alice, day(4), 40, NOW + 5).await.unwrap();
    vault.record_count(&alice, day(4), 41, NOW + 6).await.unwrap();
    let raw = env.raw().await;
    assert_eq!(
        raw.count("SELECT COUNT(*) FROM egg_counts WHERE subject = 'alice'")
            .await,
        10
    );
    assert_eq!(
        vault.history(&alice, day(3), day(6)).await.unwrap(),
        vec![(day(3), 3), (day(4), 41), (day(5), 5), (day(6), 6)]
    );
    assert_eq!(vault.history(&alice, day(11), day(20)).await.unwrap(), vec![]);
    assert_eq!(
        vault.history(&bob, day(1), day(31)).await.unwrap(),
        vec![(day(4), 100)]
    );
    // A gap is a gap, not a zero; across a month boundary too.
    let april = Date::from_calendar_date(2026, Month::April, 2).unwrap();
    vault.record_count(&bob, april, 0, NOW).await.unwrap();
    assert_eq!(
        vault.history(&bob, day(5), april).await.unwrap(),
        vec![(april, 0)]
    );

    // Outcomes: the last one of a day wins; the status shows the latest day's.
    vault.enrol(&alice, "rt", &scopes(), NOW).await.unwrap();
    vault
        .record_outcome(&alice, day(9), Outcome::RetryLater, Some("COOP unavailable"), NOW)
        .await
        .unwrap();
    vault
        .record_outcome(
            &alice,
            day(10),
            Outcome::RetryLater,
            Some("COOP unavailable"),
            NOW + 1,
        )
        .await
        .unwrap();
    vault
        .record_outcome(
            &alice,
            day(10),
            Outcome::Failed,
            Some("API answered 500"),
            NOW + 2,
        )
        .await
        .unwrap();
    assert_eq!(
        raw.count("SELECT COUNT(*) FROM count_outcomes WHERE subject = 'alice'")
            .await,
        2
    );
    let status = vault.status(&alice).await.unwrap().unwrap();
    let last = status.last_outcome.unwrap();
    assert_eq!(
        (last.date, last.outcome, last.at),
        (day(10), Outcome::Failed, NOW + 2)
    );
    assert_eq!(last.reason.as_deref(), Some("API answered 500"));
    assert_eq!(status.last_counted_at, Some(NOW + 6));
    vault
        .record_outcome(&alice, day(10), Outcome::Counted, None, NOW + 3)
        .await
        .unwrap();
    let last = vault.status(&alice).await.unwrap().unwrap().last_outcome.unwrap();
    assert_eq!((last.outcome, last.reason), (Outcome::Counted, None));
}

async fn the_last_run_is_kept_and_never_moves_back(env: Env) {
    let vault = env.open(&ring(&[("k1", K1)])).await;
    assert_eq!(vault.last_run().await.unwrap(), None);
    vault.set_last_run(day(5)).await.unwrap();
    assert_eq!(vault.last_run().await.unwrap(), Some(day(5)));
    vault.set_last_run(day(4)).await.unwrap();
    assert_eq!(vault.last_run().await.unwrap(), Some(day(5)));
    vault.set_last_run(day(6)).await.unwrap();
    // Durable: a second instance (or a restart) sees it.
    vault.close().await;
    let again = env.open(&ring(&[("k1", K1)])).await;
    assert_eq!(again.last_run().await.unwrap(), Some(day(6)));
}

async fn key_rotation_old_key_opens_new_key_seals_reencrypt_moves_every_row(env: Env) {
    let old = env.open(&ring(&[("k1", K1)])).await;
    let subjects = ["alice", "bob", "carol"];
    for subject in subjects {
        old.enrol(&owner(subject), &format!("rt-{subject}"), &scopes(), NOW)
            .await
            .unwrap();
    }
    old.enrol(&owner("dave"), "rt-dave", &scopes(), NOW)
        .await
        .unwrap();
    old.needs_consent(&owner("dave"), NOW).await.unwrap();
    old.close().await;

    // k2 first: it seals, k1 still opens.
    let vault = env.open(&ring(&[("k2", K2), ("k1", K1)])).await;
    assert_eq!(
        vault.refresh_token(&owner("alice")).await.unwrap().as_deref(),
        Some("rt-alice")
    );
    assert!(
        vault
            .rotate(&owner("alice"), "rt-alice", "rt-alice-2", NOW + 1)
            .await
            .unwrap()
    );
    let raw = env.raw().await;
    assert_eq!(raw.grant("alice").await.0.as_deref(), Some("k2"));
    assert_eq!(raw.grant("bob").await.0.as_deref(), Some("k1"));

    // Without k1, bob's row does not open: cleanly, naming the key.
    let too_early = env.open(&ring(&[("k2", K2)])).await;
    match too_early.refresh_token(&owner("bob")).await {
        Err(VaultError::UnknownKey { subject, key_id }) => {
            assert_eq!((subject.as_str(), key_id.as_str()), ("bob", "k1"))
        }
        other => panic!("expected UnknownKey, got {other:?}"),
    }
    assert!(matches!(
        too_early.reencrypt_all().await,
        Err(VaultError::UnknownKey { .. })
    ));
    too_early.close().await;

    // Re-encryption moves the rows still under k1 (bob, carol), and only those.
    assert_eq!(vault.reencrypt_all().await.unwrap(), 2);
    assert_eq!(vault.reencrypt_all().await.unwrap(), 0);
    assert_eq!(
        raw.count("SELECT COUNT(*) FROM offline_grants WHERE key_id = 'k1'")
            .await,
        0
    );
    // The digest did not change: rotation still compares against the same token.
    assert_eq!(
        raw.grant("bob").await.2.unwrap(),
        Sha256::digest(b"rt-bob").to_vec()
    );
    vault.close().await;

    // Now k1 can go.
    let new = env.open(&ring(&[("k2", K2)])).await;
    for (subject, token) in [("alice", "rt-alice-2"), ("bob", "rt-bob"), ("carol", "rt-carol")] {
        assert_eq!(
            new.refresh_token(&owner(subject)).await.unwrap().as_deref(),
            Some(token)
        );
    }
    assert!(
        new.rotate(&owner("bob"), "rt-bob", "rt-bob-2", NOW + 2)
            .await
            .unwrap()
    );
    assert_eq!(
        new.status(&owner("dave")).await.unwrap().unwrap().state,
        GrantState::NeedsConsent { since: NOW }
    );
}

async fn reencrypt_all_pages_through_more_rows_than_one_page(env: Env) {
    let old = env.open(&ring(&[("k1", K1)])).await;
    let farmers: Vec<Owner> = (0..600).map(|i| owner(&format!("farmer-{i:03}"))).collect();
    for chunk in farmers.chunks(50) {
        let enrolments = chunk.iter().map(|farmer| {
            let token = format!("rt-{}", farmer.subject);
            let old = old.clone();
            async move { old.enrol(farmer, &token, &scopes(), NOW).await.unwrap() }
        });
        futures_util::future::join_all(enrolments).await;
    }
    old.close().await;
    let vault = env.open(&ring(&[("k2", K2), ("k1", K1)])).await;
    assert_eq!(vault.reencrypt_all().await.unwrap(), 600);
    let raw = env.raw().await;
    assert_eq!(
        raw.count("SELECT COUNT(*) FROM offline_grants WHERE key_id = 'k2'")
            .await,
        600
    );
    vault.close().await;
    let new = env.open(&ring(&[("k2", K2)])).await;
    for farmer in [&farmers[0], &farmers[255], &farmers[256], &farmers[599]] {
        let token = format!("rt-{}", farmer.subject);
        assert_eq!(new.refresh_token(farmer).await.unwrap(), Some(token));
    }
}

async fn a_row_copied_to_another_farmer_does_not_open(env: Env) {
    let vault = env.open(&ring(&[("k1", K1)])).await;
    vault
        .enrol(&owner("alice"), "rt-alice", &scopes(), NOW)
        .await
        .unwrap();
    vault
        .enrol(&owner("mallory"), "rt-mallory", &scopes(), NOW)
        .await
        .unwrap();
    let raw = env.raw().await;
    // Mallory's row gets Alice's sealed token (and its digest).
    let updated = raw
        .execute(
            "UPDATE offline_grants SET \
             key_id = (SELECT key_id FROM offline_grants WHERE subject = 'alice'), \
             sealed_token = (SELECT sealed_token FROM offline_grants WHERE subject = 'alice'), \
             token_sha256 = (SELECT token_sha256 FROM offline_grants WHERE subject = 'alice') \
             WHERE subject = 'mallory'",
        )
        .await;
    assert_eq!(updated, 1);
    match vault.refresh_token(&owner("mallory")).await {
        Err(error @ VaultError::Unreadable { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains("mallory") && !message.contains("rt-"),
                "{message}"
            );
        }
        other => panic!("expected Unreadable, got {other:?}"),
    }
    assert_eq!(
        vault.refresh_token(&owner("alice")).await.unwrap().as_deref(),
        Some("rt-alice")
    );
    // Re-encryption refuses too, rather than re-sealing it for Mallory.
    let rotated = env.open(&ring(&[("k2", K2), ("k1", K1)])).await;
    assert!(matches!(
        rotated.reencrypt_all().await,
        Err(VaultError::Unreadable { .. })
    ));
    // Turning counting off still works (nothing to revoke that opens).
    assert_eq!(vault.remove(&owner("mallory")).await.unwrap(), None);
}

async fn a_wrong_key_id_or_tampered_bytes_fail_cleanly(env: Env) {
    let vault = env.open(&ring(&[("k1", K1)])).await;
    vault
        .enrol(&owner("alice"), "rt-alice", &scopes(), NOW)
        .await
        .unwrap();
    let raw = env.raw().await;
    let (_, sealed, _) = raw.grant("alice").await;
    let sealed = sealed.unwrap();

    raw.set_sealed("alice", "k9", &sealed).await;
    assert!(matches!(
        vault.refresh_token(&owner("alice")).await,
        Err(VaultError::UnknownKey { ref key_id, .. }) if key_id == "k9"
    ));
    for position in [0, 12, sealed.len() - 1] {
        let mut tampered = sealed.clone();
        tampered[position] ^= 0x01;
        raw.set_sealed("alice", "k1", &tampered).await;
        assert!(
            matches!(
                vault.refresh_token(&owner("alice")).await,
                Err(VaultError::Unreadable { .. })
            ),
            "byte {position}"
        );
    }
    for truncated in [&sealed[..0], &sealed[..11], &sealed[..sealed.len() - 1]] {
        raw.set_sealed("alice", "k1", truncated).await;
        assert!(matches!(
            vault.refresh_token(&owner("alice")).await,
            Err(VaultError::Unreadable { .. })
        ));
    }
    raw.set_sealed("alice", "k1", &sealed).await;
    assert_eq!(
        vault.refresh_token(&owner("alice")).await.unwrap().as_deref(),
        Some("rt-alice")
    );
}

async fn two_instances_share_one_store(env: Env) {
    // Both open (and migrate) at once, as two servers starting together would.
    let keys = ring(&[("k1", K1)]);
    let (a, b) = tokio::join!(env.open(&keys), env.open(&keys));
    a.enrol(&owner("alice"), "rt-0", &scopes(), NOW).await.unwrap();
    assert_eq!(
        b.refresh_token(&owner("alice")).await.unwrap().as_deref(),
        Some("rt-0")
    );
    assert!(b.rotate(&owner("alice"), "rt-0", "rt-1", NOW).await.unwrap());
    assert!(!a.rotate(&owner("alice"), "rt-0", "rt-1-too", NOW).await.unwrap());
    assert_eq!(
        a.refresh_token(&owner("alice")).await.unwrap().as_deref(),
        Some("rt-1")
    );
}

async fn debug_output_shows_no_token_and_no_key(env: Env) {
    let vault = env.open(&ring(&[("k1", K1)])).await;
    vault
        .enrol(&owner("alice"), "rt-very-secret", &scopes(), NOW)
        .await
        .unwrap();
    let site = url::Url::parse("http://127.0.0.1:3000").unwrap();
    let settings =
        Settings::from_vars(&env.vars(&ring(&[("k1", K1)])), &site, false, env.dir.path()).unwrap();
    let debug = format!("{vault:?} {settings:?}");
    assert!(debug.contains("k1"), "{debug}");
    assert!(
        !debug.contains(K1) && !debug.contains("rt-very-secret"),
        "{debug}"
    );
    if let Some(url) = &env.database_url {
        assert!(!debug.contains(url.as_str()), "{debug}");
    }
}

// ---------------------------------------------------------------------------------------

/// Runs `case` on `store` within [`CASE_LIMIT`].
async fn run<F: Future<Output = ()>>(store: Store, case: impl FnOnce(Env) -> F) {
    tokio::time::timeout(CASE_LIMIT, async { case(Env::new(store).await).await })
        .await
        .unwrap_or_else(|_| panic!("the case took longer than {CASE_LIMIT:?} on {store:?}"));
}

/// The store's renewal commit point (`server::store::successors`): a holder whose lease was
/// taken over and settled while it was stalled commits too late. Its outcome is not stored, and
/// the session's newest token must not move either — a moved head always has its outcome.
async fn a_commit_from_an_overtaken_lease_never_moves_the_head(env: Env) {
    use server::store::successors::{Committed, LeaseTry};
    let store = env.open(&ring(&[("k1", K1)])).await.store();
    let (digest, session) = (b"digest-of-rt-0".to_vec(), "session-1");
    let LeaseTry::Acquired(first) = store
        .try_lease(&digest, NOW, 60, NOW + 86_400, true)
        .await
        .unwrap()
    else {
        panic!("a free lease");
    };
    assert!(store.mark_sent(&first, NOW).await.unwrap());
    // The first holder stalls (sent, no answer) far past its lease and the in-flight bound; another
    // takes the lease over as uncertain and settles the token as ended.
    let later = NOW + 3_600;
    let LeaseTry::Acquired(second) = store
        .try_lease(&digest, later, 60, NOW + 86_400, true)
        .await
        .unwrap()
    else {
        panic!("an expired lease is taken over");
    };
    assert!(second.inherited_uncertain);
    let ended = store
        .commit(&second, session, &Committed::Ended, later, NOW + 86_400)
        .await
        .unwrap();
    assert!(matches!(ended, Committed::Ended));
    // The first holder wakes up with the provider's answer and commits it.
    let rotated = Committed::Renewed {
        successor: b"tokens".to_vec(),
        next_digest: Some(b"digest-of-rt-1".to_vec()),
    };
    let kept = store
        .commit(&first, session, &rotated, later + 1, NOW + 86_400)
        .await
        .unwrap();
    assert!(
        matches!(kept, Committed::Ended),
        "the first committed outcome stays"
    );
    assert_eq!(
        store.head(session).await.unwrap(),
        None,
        "the head moved to a token whose outcome was never stored"
    );
}

async fn a_lease_taken_over_fences_its_old_holder(env: Env) {
    let vault = env.open(&ring(&[("k1", K1)])).await;
    let alice = owner("alice");
    vault.enrol(&alice, "rt-0", &scopes(), NOW).await.unwrap();
    let first = vault.lease(&alice, NOW, 60).await.unwrap().expect("free");
    assert!(!first.uncertain);
    assert!(vault.lease(&alice, NOW + 1, 60).await.unwrap().is_none(), "held");
    assert!(vault.sending(&alice, &first, NOW + 1).await.unwrap());
    // The first holder stalls past its lease; another run takes it over and learns that a
    // token was sent without an outcome.
    let second = vault.lease(&alice, NOW + 61, 60).await.unwrap().expect("expired");
    assert!(
        second.uncertain,
        "the first holder sent the token and stored nothing"
    );
    // The old holder can no longer rotate, settle or release.
    assert!(
        !vault
            .rotate_leased(&alice, &first, "rt-0", "rt-stale", NOW + 62)
            .await
            .unwrap()
    );
    assert!(!vault.settled(&alice, &first).await.unwrap());
    vault.release(&alice, &first).await.unwrap();
    assert!(
        vault.lease(&alice, NOW + 62, 60).await.unwrap().is_none(),
        "still the second's"
    );
    assert!(
        vault
            .rotate_leased(&alice, &second, "rt-0", "rt-1", NOW + 62)
            .await
            .unwrap()
    );
    assert_eq!(
        vault.refresh_token(&alice).await.unwrap().as_deref(),
        Some("rt-1")
    );
    vault.release(&alice, &second).await.unwrap();
    let third = vault
        .lease(&alice, NOW + 63, 60)
        .await
        .unwrap()
        .expect("released");
    assert!(!third.uncertain, "a stored rotation settles it");
}

on_both_stores!(
    enrol_stores_the_token_sealed_and_returns_the_one_it_replaces,
    a_commit_from_an_overtaken_lease_never_moves_the_head,
    a_lease_taken_over_fences_its_old_holder,
    rotate_is_a_compare_and_swap_on_the_current_token,
    concurrent_rotations_of_one_token_have_exactly_one_winner,
    needs_consent_drops_the_token_and_keeps_the_history,
    remove_returns_the_token_to_revoke_and_keeps_the_history,
    one_count_per_farmer_per_day_and_history_by_range,
    the_last_run_is_kept_and_never_moves_back,
    key_rotation_old_key_opens_new_key_seals_reencrypt_moves_every_row,
    reencrypt_all_pages_through_more_rows_than_one_page,
    a_row_copied_to_another_farmer_does_not_open,
    a_wrong_key_id_or_tampered_bytes_fail_cleanly,
    two_instances_share_one_store,
    debug_output_shows_no_token_and_no_key,
);

/// Refused configurations of the vault, one ROW line each: the settings (or the vault's
/// open) refuse them, naming the variable, and never repeat a key or a password.
#[tokio::test]
async fn refused_vault_configurations() {
    let dir = tempfile::tempdir().unwrap();
    let site = url::Url::parse("http://127.0.0.1:3000").unwrap();
    let short = "c2hvcnQta2V5"; // 9 bytes
    let password_url = "mysql://farmer:hunter2@db.example/vault";
    // (the row, the variables, production?, the variable the refusal names)
    type Row<'a> = (&'a str, Vec<(&'a str, String)>, bool, &'a str);
    let rows: Vec<Row<'_>> = vec![
        (
            "VAULT_KEYS=<key without id>",
            vec![("TOPCLUCK_VAULT_KEYS", K1.into())],
            false,
            "TOPCLUCK_VAULT_KEYS",
        ),
        (
            "VAULT_KEYS=k1:<9-byte key>",
            vec![("TOPCLUCK_VAULT_KEYS", format!("k1:{short}"))],
            false,
            "TOPCLUCK_VAULT_KEYS",
        ),
        (
            "VAULT_KEYS=k1:not*base64",
            vec![("TOPCLUCK_VAULT_KEYS", "k1:not*base64".into())],
            false,
            "TOPCLUCK_VAULT_KEYS",
        ),
        (
            "VAULT_KEYS=k1:A,k1:B (id twice)",
            vec![("TOPCLUCK_VAULT_KEYS", ring(&[("k1", K1), ("k1", K2)]))],
            false,
            "TOPCLUCK_VAULT_KEYS",
        ),
        (
            ":<key> (empty id)",
            vec![("TOPCLUCK_VAULT_KEYS", format!(":{K1}"))],
            false,
            "TOPCLUCK_VAULT_KEYS",
        ),
        (
            "k/1:<key> (bad id)",
            vec![("TOPCLUCK_VAULT_KEYS", format!("k/1:{K1}"))],
            false,
            "TOPCLUCK_VAULT_KEYS",
        ),
        (
            "VAULT_KEYS=',,' (no key)",
            vec![("TOPCLUCK_VAULT_KEYS", ",,".into())],
            false,
            "TOPCLUCK_VAULT_KEYS",
        ),
        (
            "DATABASE_URL=mysql://…:password@…",
            vec![("TOPCLUCK_DATABASE_URL", password_url.into())],
            false,
            "TOPCLUCK_DATABASE_URL",
        ),
        (
            "DATABASE_URL=/var/vault.db (no scheme)",
            vec![("TOPCLUCK_DATABASE_URL", "/var/vault.db".into())],
            false,
            "TOPCLUCK_DATABASE_URL",
        ),
        (
            "production, no VAULT_KEYS (Vault::open)",
            vec![
                ("TOPCLUCK_ISSUER", "https://id.example".into()),
                ("TOPCLUCK_CLIENT_SECRET", "s".into()),
                ("TOPCLUCK_COOKIE_KEYS", K2.into()),
            ],
            true,
            "TOPCLUCK_VAULT_KEYS",
        ),
    ];
    let mut table = support::BadInputs::default();
    for (row, vars, production, name) in rows {
        let vars: BTreeMap<String, String> = vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let seen = match Settings::from_vars(&vars, &site, production, dir.path()) {
            Err(error) => format!("refused: {}", error.problems[0].name),
            Ok(settings) => match Vault::open(&settings, dir.path()).await {
                Err(error) if error.to_string().contains(name) => format!("refused: {name} (at open)"),
                Err(error) => format!("refused: {error}"),
                Ok(_) => "accepted".into(),
            },
        };
        let leaks = [K1, K2, "hunter2"].iter().any(|secret| seen.contains(secret));
        let held = seen.starts_with(&format!("refused: {name}")) && !leaks;
        table.offline_row("vault config", row, &format!("refused: {name}"), &seen, held);
    }
    // The messages themselves never repeat a key or a password.
    for value in [K1.to_owned(), format!("k1:{short}"), password_url.to_owned()] {
        let name = if value.starts_with("mysql") {
            "TOPCLUCK_DATABASE_URL"
        } else {
            "TOPCLUCK_VAULT_KEYS"
        };
        let vars = BTreeMap::from([(name.to_owned(), value.clone())]);
        let error = Settings::from_vars(&vars, &site, false, dir.path())
            .unwrap_err()
            .to_string();
        for secret in [K1, short, "hunter2"] {
            assert!(!error.contains(secret), "{error}");
        }
    }
    table.finish();
}

/// Development without `TOPCLUCK_VAULT_KEYS`: one key generated once into the data directory,
/// the same at the next start, and the vault file created there.
#[tokio::test]
async fn development_generates_one_key_and_the_sqlite_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let site = url::Url::parse("http://127.0.0.1:3000").unwrap();
    let settings = Settings::from_vars(&BTreeMap::new(), &site, false, dir.path()).unwrap();
    let vault = Vault::open(&settings, dir.path()).await.unwrap();
    assert_eq!(vault.backend(), server::vault::Backend::Sqlite);
    vault
        .enrol(&owner("alice"), "rt-alice", &scopes(), NOW)
        .await
        .unwrap();
    vault.close().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["vault_keys", "vault.sqlite"] {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{file} is readable by others: {mode:o}");
        }
    }
    let again = Settings::from_vars(&BTreeMap::new(), &site, false, dir.path()).unwrap();
    let vault = Vault::open(&again, dir.path()).await.unwrap();
    assert_eq!(
        vault.refresh_token(&owner("alice")).await.unwrap().as_deref(),
        Some("rt-alice")
    );
}
