//! The store as the commit point of every rotation and every logout, against a real COOP over
//! HTTP: one suite, run for each COOP refresh-token mode (`rotate`, `reuse`, `none`) on each
//! store (SQLite in a temporary directory, PostgreSQL in the throwaway cluster). Each case is a
//! day a deployed BFF meets: a cookie older than any memory window, a restart while COOP holds a
//! rotated answer, an answer lost or unreadable after COOP rotated, a gateway's 503 page, a
//! logout with copies of the cookie, a login replayed to another instance, a burst across two
//! instances, the same cookie reaching another instance just as the refresh commits, a refresh
//! answer wider than the session. "Another instance" is a second BFF on the same store (same
//! keys), which shares nothing else with the first.
//!
//! Time moves by [`Harness::advance`], never by sleeping. Each case ends with COOP's counters:
//! no reuse detection, ever.

mod support;

use std::future::Future;
use std::time::Duration;

use coop::RefreshTokenMode;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::stores::Store;
use support::*;

/// A COOP whose clients are in `mode`, a BFF on `store` with ada logged in, and what a second
/// instance on the same store needs.
struct Env {
    harness: Harness,
    a: Bff,
    cookie: String,
    mode: RefreshTokenMode,
    vars: Vec<(String, String)>,
    _data: tempfile::TempDir,
}

/// How COOP is set up besides the mode.
#[derive(Clone, Copy)]
struct Provider {
    introspection: bool,
    revocation: bool,
}

const WITH_INTROSPECTION: Provider = Provider {
    introspection: true,
    revocation: true,
};

impl Env {
    async fn start(store: Store, mode: RefreshTokenMode, provider: Provider) -> Env {
        let listener = listener().await;
        let port = listener.local_addr().unwrap().port();
        let mut harness = Harness::start_with(&[port], |config| {
            for client in &mut config.clients {
                client.refresh_token_mode = mode;
            }
            config.access_token_ttl = Duration::from_secs(60);
            config.introspection = provider.introspection;
            config.advertise_revocation = provider.revocation;
        })
        .await;
        let data = tempfile::tempdir().unwrap();
        let mut vars = vec![(
            "TOPCLUCK_DATA_DIR".to_owned(),
            data.path().to_str().unwrap().to_owned(),
        )];
        if let Store::Postgres = store {
            vars.push((
                "TOPCLUCK_DATABASE_URL".to_owned(),
                support::postgres::Cluster::shared().database().await,
            ));
        }
        let borrowed: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let a = harness.bff_with(listener, NEW_KEY, &borrowed).await;
        let (cookie, _) = a.login("ada").await;
        Env {
            harness,
            a,
            cookie,
            mode,
            vars,
            _data: data,
        }
    }

    /// Another instance: a BFF on the same store with the same keys, nothing else shared.
    async fn second(&mut self) -> Bff {
        let vars: Vec<(&str, &str)> = self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.harness.bff_with(listener().await, NEW_KEY, &vars).await
    }

    fn renews(&self) -> bool {
        self.mode != RefreshTokenMode::None
    }

    async fn eggs(bff: &Bff, cookie: &str) -> Answer {
        bff.api(Method::GET, "/api/eggs", cookie, None).await
    }

    /// Refresh requests COOP has answered, whatever their outcome.
    async fn refresh_requests(&self) -> u64 {
        self.harness.counters().await["token_requests"]["refresh_token"]
            .as_object()
            .map_or(0, |outcomes| outcomes.values().filter_map(Value::as_u64).sum())
    }

    async fn reuse_detections(&self) -> u64 {
        self.harness.replays().await.0
    }

    /// No replayed refresh token reached COOP.
    async fn assert_no_replay(&self) {
        let (reuse, revoked) = self.harness.replays().await;
        println!(
            "COOP counters [{:?}]: reuse_detections={reuse} grants_revoked={revoked}",
            self.mode
        );
        assert_eq!(reuse, 0, "a refresh token was presented twice");
    }
}

fn assert_ok(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

/// The session ended honestly: 401, cookie cleared.
fn assert_ended(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(answer.body["error"], "reauthentication_required");
    let cleared = session_set_cookie(&answer.headers).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

/// A request abandoned while COOP rotates leaves the browser with its old cookie; it comes back
/// after any memory window (130 s) and gets the newest tokens, never a replay.
async fn a_cookie_older_than_the_old_window_gets_the_newest_tokens(env: Env) {
    let old = env.cookie.clone();
    env.harness.advance(Duration::from_secs(61));
    let first = Env::eggs(&env.a, &old).await;
    if !env.renews() {
        return assert_ended(&first);
    }
    assert_ok(&first);
    // The browser never stored `first`'s cookie (the tab was closed).
    env.harness.advance(Duration::from_secs(130));
    let later = Env::eggs(&env.a, &old).await;
    assert_ok(&later);
    assert!(later.cookie().is_some(), "a fresh cookie for the old one");
    env.assert_no_replay().await;
}

/// A deploy: the server stops while COOP holds a rotated answer; the stop waits for the refresh
/// and commits it; the next process answers the old cookie from the store.
async fn a_restart_while_the_provider_holds_a_rotated_answer_costs_nothing(mut env: Env) {
    env.harness.advance(Duration::from_secs(61));
    if !env.renews() {
        return assert_ended(&Env::eggs(&env.a, &env.cookie).await);
    }
    env.harness.faults(json!({ "answer_delay_ms": 800 })).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let abandoned = impatient
        .get(env.a.url("/api/eggs"))
        .header("cookie", &env.cookie)
        .header("x-csrf", "1")
        .send()
        .await;
    assert!(abandoned.is_err(), "the request was abandoned");
    // The graceful stop: what main does after the last request.
    let renewer = env.a.renewer.clone().unwrap();
    assert!(
        renewer.drain(Duration::from_secs(10)).await,
        "the refresh in flight finished"
    );
    env.harness.clear_faults().await;
    let restarted = env.second().await;
    assert_ok(&Env::eggs(&restarted, &env.cookie).await);
    env.assert_no_replay().await;
}

/// COOP rotates, then the answer is lost (`fault`: the connection reset, or a 200 HTML page): the
/// used token is never presented again. With introspection COOP says whether it was used: used
/// (rotate) → the session ends honestly; still active (reuse) → 503, the session is kept and
/// renews once COOP answers. Without introspection the session ends honestly.
async fn a_lost_answer_is_settled_never_replayed(env: Env, fault: Value, introspection: bool) {
    env.harness.advance(Duration::from_secs(61));
    env.harness.faults(fault).await;
    let before = env.refresh_requests().await;
    let answer = Env::eggs(&env.a, &env.cookie).await;
    env.harness.clear_faults().await;
    if !env.renews() {
        return assert_ended(&answer);
    }
    assert_eq!(env.refresh_requests().await, before + 1, "presented once");
    if introspection && env.mode == RefreshTokenMode::Reuse {
        assert!(
            matches!(answer.status.as_u16(), 502 | 503),
            "{} {}",
            answer.status,
            answer.body
        );
        assert!(
            session_set_cookie(&answer.headers).is_none(),
            "the session is kept"
        );
        assert_ok(&Env::eggs(&env.a, &env.cookie).await);
    } else {
        assert_ended(&answer);
        // Every copy of the cookie is refused now, and nothing more reaches COOP.
        assert_ended(&Env::eggs(&env.a, &env.cookie).await);
        assert_eq!(env.refresh_requests().await, before + 1, "never presented again");
    }
    env.assert_no_replay().await;
}

async fn a_connection_reset_after_rotating_with_introspection(env: Env) {
    a_lost_answer_is_settled_never_replayed(env, json!({ "reset_after_rotate": true }), true).await
}

async fn an_unreadable_200_after_rotating_with_introspection(env: Env) {
    a_lost_answer_is_settled_never_replayed(env, json!({ "html_after_rotate": true }), true).await
}

/// A gateway in front of COOP answers 503 with an HTML page (COOP did nothing): introspection
/// says the token is active, so the session is kept and renews after the outage.
async fn a_gateway_503_page_keeps_the_session_with_introspection(env: Env) {
    env.harness.advance(Duration::from_secs(61));
    env.harness.faults(json!({ "gateway_5xx_html": 503 })).await;
    let answer = Env::eggs(&env.a, &env.cookie).await;
    env.harness.clear_faults().await;
    if !env.renews() {
        return assert_ended(&answer);
    }
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{}", answer.body);
    assert!(answer.headers.get("retry-after").is_some());
    assert!(
        session_set_cookie(&answer.headers).is_none(),
        "the session is kept"
    );
    assert_ok(&Env::eggs(&env.a, &env.cookie).await);
    env.assert_no_replay().await;
}

/// Logout with COOP unable to revoke (no revocation endpoint): a copy of the cookie taken before
/// is refused at once on this instance, within a second on another, and still after its access
/// token expired — never refreshed.
async fn logout_ends_every_copy_of_the_cookie(mut env: Env) {
    let copy = env.cookie.clone();
    let b = env.second().await;
    assert_ok(&Env::eggs(&b, &copy).await);
    let logout = env.a.logout(&env.cookie).await;
    assert_eq!(logout.status(), StatusCode::OK);
    assert_eq!(env.a.session(Some(&copy)).await.0, StatusCode::UNAUTHORIZED);
    assert_ended(&Env::eggs(&env.a, &copy).await);
    let mut refused_on_b = false;
    for _ in 0..30 {
        if Env::eggs(&b, &copy).await.status == StatusCode::UNAUTHORIZED {
            refused_on_b = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused_on_b, "refused on the other instance within 1.5 s");
    let before = env.refresh_requests().await;
    env.harness.advance(Duration::from_secs(130));
    assert_ended(&Env::eggs(&b, &copy).await);
    assert_ended(&Env::eggs(&env.a, &copy).await);
    assert_eq!(env.refresh_requests().await, before, "the copy never refreshes");
    env.assert_no_replay().await;
}

/// A login `POST` replayed to another instance is refused there, before COOP sees the code
/// again (a replayed code would make COOP revoke the farmer's new grant).
async fn a_login_post_replayed_to_another_instance_is_refused(mut env: Env) {
    let b = env.second().await;
    let pending = env.a.authorize("bert").await;
    assert_eq!(env.a.complete(&pending).await.status(), StatusCode::OK);
    let replayed = b.complete(&pending).await;
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        replayed.json::<Value>().await.unwrap()["error"],
        "login_not_started"
    );
    assert_eq!(
        env.harness.replays().await,
        (0, 0),
        "COOP never saw the code twice"
    );
}

/// Twenty requests with an expired access token, split across two instances: one refresh.
async fn a_burst_across_two_instances_makes_one_refresh(mut env: Env) {
    let b = env.second().await;
    env.harness.advance(Duration::from_secs(61));
    let before = env.refresh_requests().await;
    let requests = (0..20).map(|i| {
        let bff = if i % 2 == 0 { &env.a } else { &b };
        Env::eggs(bff, &env.cookie)
    });
    let answers = futures_util::future::join_all(requests).await;
    if !env.renews() {
        return answers.iter().for_each(assert_ended);
    }
    for answer in &answers {
        assert_ok(answer);
    }
    assert_eq!(
        env.refresh_requests().await,
        before + 1,
        "exactly one refresh at COOP"
    );
    env.assert_no_replay().await;
}

/// The same cookie on two instances, the second a little later: when it reads the store just as
/// the first commits its refresh (no outcome yet for the token, but the session's newest token
/// already the new one), it must take the committed outcome, not the cookie for an older copy
/// (which ends that copy: `401 reauthentication_required`). That moment lasts one store round
/// trip, so many sessions are renewed at once, each one's copy coming at another moment of its
/// refresh, for several rounds. Found by scripts/faults.sh (two BFFs on PostgreSQL, 300
/// sessions: 313 sessions ended in 175 s, in every phase).
async fn a_cookie_on_another_instance_as_the_refresh_commits_gets_the_new_tokens(mut env: Env) {
    // Logged in at A (which allows 20 logins from one address at once).
    const SESSIONS: usize = 18;
    const ROUNDS: u64 = 24;
    if env.mode != RefreshTokenMode::Rotate {
        return;
    }
    let b = env.second().await;
    let mut cookies = vec![env.cookie.clone()];
    while cookies.len() < SESSIONS {
        cookies.push(env.a.login("ada").await.0);
    }
    for round in 0..ROUNDS {
        env.harness.advance(Duration::from_secs(61));
        let started = std::time::Instant::now();
        let (a, b) = (&env.a, &b);
        let pairs = cookies.iter().enumerate().map(|(i, cookie)| async move {
            let later = async {
                // Session i's copy comes 3i ms later, plus 0.25 ms a round: over the rounds,
                // every 0.25 ms from 0 to 57 ms after the first (finer than a timer: a busy wait).
                let at = started + Duration::from_micros(3000 * i as u64 + 250 * round);
                while std::time::Instant::now() < at {
                    tokio::task::yield_now().await;
                }
                Env::eggs(b, cookie).await
            };
            tokio::join!(Env::eggs(a, cookie), later)
        });
        let answers = futures_util::future::join_all(pairs).await;
        for (i, (on_a, on_b)) in answers.iter().enumerate() {
            assert_eq!(
                on_a.status,
                StatusCode::OK,
                "round {round}, session {i} on A: {}",
                on_a.body
            );
            assert_eq!(
                on_b.status,
                StatusCode::OK,
                "round {round}, session {i} on B: {}",
                on_b.body
            );
        }
        cookies = answers
            .iter()
            .map(|(on_a, _)| on_a.cookie().expect("a renewed cookie"))
            .collect();
    }
    env.assert_no_replay().await;
}

/// A refresh answer with more scope than the session's is not used: the session ends, and the
/// old token is not presented again.
async fn a_refresh_wider_than_the_session_is_refused(env: Env) {
    env.harness.advance(Duration::from_secs(61));
    env.harness
        .faults(json!({ "extra_scope": "offline_access" }))
        .await;
    let before = env.refresh_requests().await;
    let answer = Env::eggs(&env.a, &env.cookie).await;
    env.harness.clear_faults().await;
    assert_ended(&answer);
    if env.renews() {
        assert_eq!(env.refresh_requests().await, before + 1);
        assert_ended(&Env::eggs(&env.a, &env.cookie).await);
        assert_eq!(env.refresh_requests().await, before + 1, "not presented again");
    }
    assert_eq!(env.reuse_detections().await, 0);
}

/// Logout while COOP cannot be reached: the revocation waits in the store's outbox, and an
/// instance (here a new one: the restart of a deploy) sends it once COOP is back.
async fn a_revocation_the_provider_could_not_take_is_retried_from_the_store(mut env: Env) {
    env.harness.faults(json!({ "unavailable_seconds": 600 })).await;
    let logout = env.a.logout(&env.cookie).await;
    assert_eq!(logout.json::<Value>().await.unwrap()["revocation"], "retrying");
    let store = env.a.state.as_ref().unwrap().store.clone().unwrap();
    assert!(store.row_counts().await.unwrap()[4] >= 1, "kept in the outbox");
    let _restarted = env.second().await;
    env.harness.clear_faults().await;
    env.harness.advance(Duration::from_secs(6));
    let mut sent = false;
    for _ in 0..100 {
        if store.row_counts().await.unwrap()[4] == 0 {
            sent = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sent, "the outbox was emptied");
    if env.renews() {
        let grants = env.harness.grants("ada").await;
        assert!(
            grants["grants"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| !g["revoked_reason"].is_null()),
            "revoked at COOP: {grants}"
        );
    }
    env.assert_no_replay().await;
}

/// A renewal that did not rotate is committed too; when the grant dies later, refreshing that
/// same token is refused and the session ends — the earlier commit does not stand in the way.
async fn a_grant_that_dies_after_a_renewal_ends_the_session(env: Env) {
    env.harness.advance(Duration::from_secs(61));
    let first = Env::eggs(&env.a, &env.cookie).await;
    if !env.renews() {
        return assert_ended(&first);
    }
    assert_ok(&first);
    let cookie = first.cookie().unwrap_or_else(|| env.cookie.clone());
    env.harness
        .dev("grants/revoke", json!({ "username": "ada" }))
        .await;
    env.harness.advance(Duration::from_secs(61));
    assert_ended(&Env::eggs(&env.a, &cookie).await);
    env.assert_no_replay().await;
}

/// The browser moved on (it presented a newer cookie, and ten minutes passed): the link from an
/// older copy is pruned, and that copy is refused without contacting COOP — the session lives on
/// with the newest cookie.
async fn an_older_copy_after_its_link_was_pruned_is_refused_without_a_replay(env: Env) {
    let c0 = env.cookie.clone();
    env.harness.advance(Duration::from_secs(61));
    let first = Env::eggs(&env.a, &c0).await;
    if env.mode != RefreshTokenMode::Rotate {
        return;
    }
    let c1 = first.cookie().expect("rotated");
    env.harness.advance(Duration::from_secs(61));
    let second = Env::eggs(&env.a, &c1).await;
    let c2 = second.cookie().expect("rotated again");
    // Ten minutes on, the store is pruned (as every instance does each minute).
    env.harness.advance(Duration::from_secs(601));
    let store = env.a.state.as_ref().unwrap().store.clone().unwrap();
    let now = env.a.state.as_ref().unwrap().clock.now();
    assert!(
        store.prune(now).await.unwrap() >= 1,
        "the superseded link is pruned"
    );
    let before = env.refresh_requests().await;
    let copy = Env::eggs(&env.a, &c0).await;
    assert_eq!(copy.status, StatusCode::UNAUTHORIZED, "{}", copy.body);
    assert_eq!(env.refresh_requests().await, before, "the old token was not sent");
    assert_ok(&Env::eggs(&env.a, &c2).await);
    env.assert_no_replay().await;
}

/// Runs `case` within two minutes.
async fn bounded<F: Future<Output = ()>>(what: String, case: F) {
    tokio::time::timeout(Duration::from_secs(120), case)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than two minutes"));
}

async fn run<F: Future<Output = ()>>(store: Store, mode: RefreshTokenMode, case: impl FnOnce(Env) -> F) {
    bounded(format!("{store:?} {mode:?}"), async {
        case(Env::start(store, mode, WITH_INTROSPECTION).await).await
    })
    .await
}

/// The lost-answer cases against a COOP without introspection.
async fn run_without_introspection(store: Store, mode: RefreshTokenMode, fault: Value) {
    bounded(format!("{store:?} {mode:?} without introspection"), async {
        let provider = Provider {
            introspection: false,
            revocation: true,
        };
        let env = Env::start(store, mode, provider).await;
        a_lost_answer_is_settled_never_replayed(env, fault, false).await
    })
    .await
}

async fn run_without_revocation<F: Future<Output = ()>>(
    store: Store,
    mode: RefreshTokenMode,
    case: impl FnOnce(Env) -> F,
) {
    bounded(format!("{store:?} {mode:?} without revocation"), async {
        let provider = Provider {
            introspection: true,
            revocation: false,
        };
        case(Env::start(store, mode, provider).await).await
    })
    .await
}

macro_rules! suite {
    ($($name:ident => ($store:expr, $mode:expr)),* $(,)?) => {$(
        mod $name {
            use super::*;
            const STORE: Store = $store;
            const MODE: RefreshTokenMode = $mode;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_cookie_older_than_the_old_window_gets_the_newest_tokens() {
                run(STORE, MODE, super::a_cookie_older_than_the_old_window_gets_the_newest_tokens).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_restart_while_the_provider_holds_a_rotated_answer_costs_nothing() {
                run(STORE, MODE, super::a_restart_while_the_provider_holds_a_rotated_answer_costs_nothing).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_connection_reset_after_rotating_with_introspection() {
                run(STORE, MODE, super::a_connection_reset_after_rotating_with_introspection).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn an_unreadable_200_after_rotating_with_introspection() {
                run(STORE, MODE, super::an_unreadable_200_after_rotating_with_introspection).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_connection_reset_after_rotating_without_introspection() {
                run_without_introspection(STORE, MODE, json!({ "reset_after_rotate": true })).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn an_unreadable_200_after_rotating_without_introspection() {
                run_without_introspection(STORE, MODE, json!({ "html_after_rotate": true })).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_gateway_503_page_keeps_the_session_with_introspection() {
                run(STORE, MODE, super::a_gateway_503_page_keeps_the_session_with_introspection).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn logout_ends_every_copy_of_the_cookie() {
                run_without_revocation(STORE, MODE, super::logout_ends_every_copy_of_the_cookie).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_login_post_replayed_to_another_instance_is_refused() {
                run(STORE, MODE, super::a_login_post_replayed_to_another_instance_is_refused).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_burst_across_two_instances_makes_one_refresh() {
                run(STORE, MODE, super::a_burst_across_two_instances_makes_one_refresh).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_cookie_on_another_instance_as_the_refresh_commits_gets_the_new_tokens() {
                run(STORE, MODE, super::a_cookie_on_another_instance_as_the_refresh_commits_gets_the_new_tokens).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_revocation_the_provider_could_not_take_is_retried_from_the_store() {
                run(STORE, MODE, super::a_revocation_the_provider_could_not_take_is_retried_from_the_store).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_grant_that_dies_after_a_renewal_ends_the_session() {
                run(STORE, MODE, super::a_grant_that_dies_after_a_renewal_ends_the_session).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn an_older_copy_after_its_link_was_pruned_is_refused_without_a_replay() {
                run(STORE, MODE, super::an_older_copy_after_its_link_was_pruned_is_refused_without_a_replay).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_refresh_wider_than_the_session_is_refused() {
                run(STORE, MODE, super::a_refresh_wider_than_the_session_is_refused).await
            }
        }
    )*};
}

suite!(
    sqlite_rotate => (Store::Sqlite, RefreshTokenMode::Rotate),
    sqlite_reuse => (Store::Sqlite, RefreshTokenMode::Reuse),
    sqlite_none => (Store::Sqlite, RefreshTokenMode::None),
    postgres_rotate => (Store::Postgres, RefreshTokenMode::Rotate),
    postgres_reuse => (Store::Postgres, RefreshTokenMode::Reuse),
    postgres_none => (Store::Postgres, RefreshTokenMode::None),
);
