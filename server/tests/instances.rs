//! Two real server processes on one PostgreSQL store, as deployments run them: the same binary
//! (`server serve`), the same `TOPCLUCK_COOKIE_KEYS` and `TOPCLUCK_VAULT_KEYS`, the same
//! `TOPCLUCK_DATABASE_URL`, and nothing else in common — no memory, no clock, no process. COOP
//! runs in this test process with its dev endpoints (counters, faults, clock).
//!
//! The servers' clocks are real (another process: the test cannot move them). COOP's clock is
//! moved instead ([`Harness::advance`]): COOP then answers the old access token with `401
//! invalid_token`, and a server renews on that 401. Every case ends with COOP's counters: no
//! refresh token is ever presented twice (`reuse_detections` stays 0).
//!
//! The cases run one at a time (a lock held for each): their timing claims (a second for a
//! logout to reach the other instance, a lease's 30 s) are not to be measured on two cores
//! shared with a dozen other servers.

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::processes::{ServerProcess, deployment_vars, run_to_end};
use support::*;

/// One case at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The logout's bound on the other instance, and how often the copy is tried meanwhile.
const WITHIN: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_millis(50);

/// How long a case may take (its own work; waiting for the lock is not counted).
const CASE_LIMIT: Duration = Duration::from_secs(150);

/// COOP, two server processes `a` and `b` on one fresh PostgreSQL database.
struct Deployment {
    harness: Harness,
    a: ServerProcess,
    b: ServerProcess,
    vars: Vec<(String, String)>,
}

impl Deployment {
    /// Ports first (COOP must know both redirect URIs), then COOP (changed by `customize`),
    /// then both servers, started at the same time (as a rollout does: both migrate the store).
    async fn start(customize: impl FnOnce(&mut coop::Config)) -> Deployment {
        let cluster = tokio::task::spawn_blocking(support::postgres::Cluster::shared)
            .await
            .unwrap();
        let database_url = cluster.database().await;
        let ports = [free_port(), free_port()];
        let harness = Harness::start_with(&ports, |config| {
            config.access_token_ttl = Duration::from_secs(60);
            customize(config);
        })
        .await;
        let vars = deployment_vars(&harness.coop.base, &database_url);
        let (a, b) = tokio::join!(
            ServerProcess::start("A", ports[0], &vars),
            ServerProcess::start("B", ports[1], &vars)
        );
        Deployment { harness, a, b, vars }
    }

    /// Past the access token's lifetime at COOP (60 s): the API answers `401 invalid_token`.
    fn expire_access_tokens(&self) {
        self.harness.advance(Duration::from_secs(61));
    }

    async fn counters(&self) -> Value {
        self.harness.counters().await
    }

    /// Successful refreshes COOP has answered (both clients).
    async fn refreshes(&self) -> u64 {
        self.harness.refreshes().await
    }

    /// Waits (at most 5 s) until COOP has done more than `before` successful refreshes: the
    /// refresh token was rotated (COOP counts before it holds its answer back).
    async fn until_rotated(&self, before: u64) -> Duration {
        let started = Instant::now();
        while self.refreshes().await <= before {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no refresh reached COOP within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        started.elapsed()
    }

    /// No refresh token reached COOP twice.
    async fn assert_no_replay(&self) {
        let counters = self.counters().await;
        println!(
            "COOP counters: reuse_detections={} grants_revoked={} token_requests={} introspection_outcomes={}",
            counters["reuse_detections"],
            counters["grants_revoked"],
            counters["token_requests"],
            counters["introspection_outcomes"]
        );
        assert_eq!(
            counters["reuse_detections"], 0,
            "a refresh token was presented twice"
        );
    }
}

async fn eggs(bff: &Bff, cookie: &str) -> Answer {
    bff.api(Method::GET, "/api/eggs", cookie, None).await
}

/// `GET /api/eggs` with a client that gives up after `limit`.
async fn eggs_within(base: &str, cookie: &str, limit: Duration) -> Result<Answer, reqwest::Error> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(limit)
        .build()
        .unwrap();
    let response = client
        .get(format!("{base}/api/eggs"))
        .header("cookie", cookie)
        .header("x-csrf", "1")
        .send()
        .await?;
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.json().await.unwrap_or(Value::Null);
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// [`eggs_within`] on a task of its own (a browser whose request is under way).
fn in_background(
    base: &str,
    cookie: &str,
    limit: Duration,
) -> tokio::task::JoinHandle<Result<Answer, reqwest::Error>> {
    let (base, cookie) = (base.to_owned(), cookie.to_owned());
    tokio::spawn(async move { eggs_within(&base, &cookie, limit).await })
}

fn assert_ok(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

/// The session ended honestly: 401 `reauthentication_required`, cookie cleared.
fn assert_ended(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(
        answer.body["error"], "reauthentication_required",
        "{}",
        answer.body
    );
    let cleared = session_set_cookie(&answer.headers).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

/// Runs `case` alone, within [`CASE_LIMIT`], and prints how long it took.
async fn one_case<F: Future<Output = ()>>(name: &str, case: F) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    tokio::time::timeout(CASE_LIMIT, case)
        .await
        .unwrap_or_else(|_| panic!("{name} took longer than {CASE_LIMIT:?}"));
    println!("CASE|{name}|passed in {:.2?}", started.elapsed());
}

/// Twenty requests with an expired access token, alternating between the two processes: one
/// refresh at COOP; every request answered with the new tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_split_across_two_processes_makes_one_refresh() {
    one_case("a_burst_split_across_two_processes_makes_one_refresh", async {
        let d = Deployment::start(|_| {}).await;
        let (a, b) = (d.a.bff(), d.b.bff());
        let (cookie, _) = a.login("ada").await;
        d.expire_access_tokens();
        let before = d.refreshes().await;
        let started = Instant::now();
        let requests = (0..20).map(|i| eggs(if i % 2 == 0 { &a } else { &b }, &cookie));
        let answers = futures_util::future::join_all(requests).await;
        println!("20 requests answered in {:.2?}", started.elapsed());
        for answer in &answers {
            assert_ok(answer);
        }
        let renewed = answers.iter().filter(|a| a.cookie().is_some()).count();
        println!("{renewed} of 20 answers carried a renewed cookie");
        assert_eq!(d.refreshes().await, before + 1, "exactly one refresh at COOP");
        d.assert_no_replay().await;
    })
    .await
}

/// A request on A is abandoned while COOP rotates (its client gives up after 200 ms; COOP
/// holds the answer 1.5 s): A's refresh goes on and commits. The browser kept the old cookie;
/// it comes back on B, which gets A's committed tokens from the store instead of presenting the
/// used refresh token again.
///
/// The original case has the cookie come back after 121 s, past any in-memory window. That
/// cannot be waited in real time here (the servers' clocks are real), and need not be: B is
/// another process, with no memory of A's refresh at all; only the store links the two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_refresh_on_a_is_answered_on_b() {
    one_case("an_abandoned_refresh_on_a_is_answered_on_b", async {
        let d = Deployment::start(|_| {}).await;
        let (cookie, _) = d.a.bff().login("ada").await;
        d.expire_access_tokens();
        let before = d.refreshes().await;
        d.harness.faults(json!({ "answer_delay_ms": 1500 })).await;
        let abandoned = eggs_within(&d.a.base, &cookie, Duration::from_millis(200)).await;
        assert!(abandoned.is_err(), "the request was abandoned");
        d.until_rotated(before).await;
        d.harness.clear_faults().await;
        // B with the old cookie: it waits for A's lease, or finds A's outcome committed; a 503
        // ("retry") is what it answers if A has not committed within its wait.
        let started = Instant::now();
        let answer = loop {
            let answer = eggs(&d.b.bff(), &cookie).await;
            if answer.status != StatusCode::SERVICE_UNAVAILABLE {
                break answer;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "B kept answering 503"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        println!("B answered {} after {:.2?}", answer.status, started.elapsed());
        assert_ok(&answer);
        assert!(answer.cookie().is_some(), "a renewed cookie for the old one");
        assert_eq!(d.refreshes().await, before + 1, "A's refresh was the only one");
        d.assert_no_replay().await;
    })
    .await
}

/// Logout on A: a copy of the cookie taken before is refused on B within a second, on the API
/// and on `/bff/session`. COOP does not advertise revocation here, so the refusal on B comes
/// from the store (A's record of the ended session), not from COOP refusing revoked tokens.
///
/// B reads the store's ended sessions once a second, so "within a second" holds up to that
/// read's own duration (a logout committed just after a read is seen about 1 s + a few
/// milliseconds later). The copy is tried every 50 ms; a refusal counts if the request that
/// met it was sent within a second and one poll interval of the logout's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_on_a_refuses_the_copy_on_b_within_a_second() {
    one_case("logout_on_a_refuses_the_copy_on_b_within_a_second", async {
        let d = Deployment::start(|config| config.advertise_revocation = false).await;
        let (a, b) = (d.a.bff(), d.b.bff());
        let (cookie, _) = a.login("ada").await;
        let copy = cookie.clone();
        assert_ok(&eggs(&b, &copy).await);
        assert_eq!(b.session(Some(&copy)).await.0, StatusCode::OK);
        let refreshes = d.refreshes().await;
        let logout = fetch(
            http()
                .post(a.url("/bff/logout"))
                .header("cookie", &cookie)
                .header("x-csrf", "1"),
        )
        .await;
        assert_eq!(logout.status(), StatusCode::OK);
        let logged_out = Instant::now();
        let (mut api_refused, mut session_refused) = (None, None);
        let mut last_ok = None;
        loop {
            let sent = logged_out.elapsed();
            if api_refused.is_none() {
                let answer = eggs(&b, &copy).await;
                if answer.status == StatusCode::UNAUTHORIZED {
                    assert_ended(&answer);
                    api_refused = Some(sent);
                } else {
                    assert_ok(&answer);
                    last_ok = Some(sent);
                }
            }
            let sent = logged_out.elapsed();
            if session_refused.is_none() {
                match b.session(Some(&copy)).await.0 {
                    StatusCode::UNAUTHORIZED => session_refused = Some(sent),
                    status => {
                        assert_eq!(status, StatusCode::OK);
                        last_ok = Some(sent);
                    }
                }
            }
            if (api_refused.is_some() && session_refused.is_some()) || sent >= WITHIN + POLL {
                break;
            }
            // Every 50 ms, the last poll one interval past the second.
            let next = (sent + POLL).min(WITHIN + POLL);
            tokio::time::sleep(next.saturating_sub(logged_out.elapsed())).await;
        }
        println!(
            "B refused the copy: /api/eggs by a request sent {api_refused:.2?} after the logout, \
             /bff/session by one sent {session_refused:.2?} after (the last served: sent {last_ok:.2?} after)"
        );
        for (what, refused) in [("/api/eggs", api_refused), ("/bff/session", session_refused)] {
            assert!(
                refused.is_some_and(|at| at <= WITHIN + POLL),
                "B still served {what} to the copy {:?} after logout (last served: {last_ok:?})",
                WITHIN + POLL
            );
        }
        assert_eq!(a.session(Some(&copy)).await.0, StatusCode::UNAUTHORIZED);
        assert_ended(&eggs(&a, &copy).await);
        assert_eq!(d.refreshes().await, refreshes, "the copy never refreshed");
        d.assert_no_replay().await;
    })
    .await
}

/// A login `POST` completed on A and replayed to B is refused on B before COOP sees the code
/// again (a code redeemed twice makes COOP revoke the grant it made).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_post_replayed_from_a_to_b_is_refused() {
    one_case("a_login_post_replayed_from_a_to_b_is_refused", async {
        let d = Deployment::start(|_| {}).await;
        let (a, b) = (d.a.bff(), d.b.bff());
        let pending = a.authorize("bert").await;
        assert_eq!(a.complete(&pending).await.status(), StatusCode::OK);
        let replayed = b.complete(&pending).await;
        assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
        let body: Value = replayed.json().await.unwrap();
        assert_eq!(body["error"], "login_not_started", "{body}");
        let counters = d.counters().await;
        println!("COOP token_requests: {}", counters["token_requests"]);
        assert_eq!(
            counters["token_requests"]["authorization_code"]
                .as_object()
                .map_or(0, |outcomes| outcomes
                    .values()
                    .filter_map(Value::as_u64)
                    .sum::<u64>()),
            1,
            "COOP saw the code once"
        );
        assert_eq!(d.harness.replays().await, (0, 0), "no reuse, no grant revoked");
    })
    .await
}

/// A is killed (SIGKILL) while COOP holds the answer of a refresh it already did: the rotated
/// token is lost with A. B, with the old cookie, waits until A's request can no longer be in
/// flight (the refresh timeout and a margin after A sent it, 70 s: before that, "active" at the
/// introspection endpoint would prove nothing), then settles the uncertain refresh through
/// COOP's introspection: the token was used, so the session ends honestly — the token is never
/// presented again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_refresh_is_settled_without_a_replay() {
    one_case("a_crash_mid_refresh_is_settled_without_a_replay", async {
        let mut d = Deployment::start(|_| {}).await;
        let (cookie, _) = d.a.bff().login("ada").await;
        d.expire_access_tokens();
        let before = d.refreshes().await;
        d.harness.faults(json!({ "answer_delay_ms": 3000 })).await;
        let on_a = in_background(&d.a.base, &cookie, Duration::from_secs(30));
        let rotated_after = d.until_rotated(before).await;
        d.a.kill9();
        let killed = Instant::now();
        println!("COOP rotated {rotated_after:.2?} after the request; A killed");
        let on_a = on_a.await.unwrap();
        assert!(
            on_a.is_err(),
            "A answered before it was killed: {:?}",
            on_a.map(|a| a.status)
        );
        d.harness.clear_faults().await;
        let b = d.b.bff();
        let mut polls = Vec::new();
        let answer = loop {
            let answer = eggs_within(&b.base, &cookie, Duration::from_secs(15))
                .await
                .expect("B answers");
            let retry_after = answer
                .headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap_or("?").to_owned());
            polls.push((killed.elapsed(), answer.status.as_u16(), retry_after));
            if answer.status != StatusCode::SERVICE_UNAVAILABLE {
                break answer;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(100),
                "B still answers 503 100 s after A died: {polls:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        println!(
            "B answered {} {} {:.2?} after A was killed (polls: {polls:?})",
            answer.status,
            answer.body,
            killed.elapsed()
        );
        assert_ended(&answer);
        assert_ended(&eggs(&b, &cookie).await);
        assert_eq!(d.refreshes().await, before + 1, "the token was presented once");
        let counters = d.counters().await;
        assert!(
            counters["introspection_outcomes"]["inactive"]
                .as_u64()
                .unwrap_or(0)
                >= 1,
            "settled by introspection: {}",
            counters["introspection_outcomes"]
        );
        d.assert_no_replay().await;
        for line in d.b.log_lines("refresh") {
            println!("B: {line}");
        }
    })
    .await
}

/// A is stopped (SIGTERM) while COOP holds the answer of a refresh it started: the graceful
/// stop waits for the refresh, commits its answer, then exits. B answers the old cookie from
/// the store (without A's commit, B would find a lease sent and never settled: 503s for up to
/// 30 s, then the session ended).
///
/// The request that started the refresh was abandoned by its client (200 ms) before the
/// SIGTERM: no connection is open when the stop begins, so only the stop's wait for refreshes
/// in flight keeps the answer from being lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_mid_refresh_commits_the_answer() {
    one_case("a_graceful_stop_mid_refresh_commits_the_answer", async {
        let mut d = Deployment::start(|_| {}).await;
        let (cookie, _) = d.a.bff().login("ada").await;
        d.expire_access_tokens();
        let before = d.refreshes().await;
        d.harness.faults(json!({ "answer_delay_ms": 1500 })).await;
        let sent = Instant::now();
        let abandoned = eggs_within(&d.a.base, &cookie, Duration::from_millis(200)).await;
        assert!(abandoned.is_err(), "the request was abandoned");
        d.until_rotated(before).await;
        let (status, took) = d.a.stop_gracefully(Duration::from_secs(30)).await;
        println!(
            "SIGTERM {:.2?} after the request (COOP had rotated; it holds its answer 1.5 s); \
             A stopped ({status}) {took:.2?} after SIGTERM",
            sent.elapsed() - took,
        );
        assert!(status.success(), "A's graceful stop exited {status}");
        d.harness.clear_faults().await;
        let asked = Instant::now();
        let answer = eggs(&d.b.bff(), &cookie).await;
        println!("B answered {} in {:.2?}", answer.status, asked.elapsed());
        assert_ok(&answer);
        assert!(answer.cookie().is_some(), "a renewed cookie for the old one");
        assert_eq!(d.refreshes().await, before + 1, "A's refresh was the only one");
        d.assert_no_replay().await;
        for line in d.a.log_lines("refresh") {
            println!("A: {line}");
        }
    })
    .await
}

/// `server count-eggs` started twice at once (two instances' schedules, or a cron on each):
/// each farmer is counted by exactly one of them, the other says it left the farmer to the
/// run that holds the grant. COOP holds its token answers 2 s so that the runs overlap (a run
/// that starts after another finished counts again, which is allowed: the later count replaces
/// the earlier).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_job_started_on_both_counts_each_farmer_once() {
    one_case("the_daily_job_started_on_both_counts_each_farmer_once", async {
        let d = Deployment::start(|_| {}).await;
        let a = d.a.bff();
        for farmer in ["ada", "bert"] {
            let (cookie, _) = a.login(farmer).await;
            let enrolled = a.enrol(&cookie, farmer).await;
            assert_eq!(enrolled.status(), StatusCode::OK, "{farmer} could not enrol");
        }
        let before = d.refreshes().await;
        d.harness.faults(json!({ "answer_delay_ms": 2000 })).await;
        let limit = Duration::from_secs(60);
        let started = Instant::now();
        let (first, second) = tokio::join!(
            run_to_end(&["count-eggs"], &d.vars, limit),
            run_to_end(&["count-eggs"], &d.vars, limit)
        );
        println!("both runs ended after {:.2?}", started.elapsed());
        d.harness.clear_faults().await;
        let mut lines = Vec::new();
        for (run, output) in [("first", &first), ("second", &second)] {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            println!(
                "{run} run: {}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}",
                output.status
            );
            assert_eq!(output.status.code(), Some(0), "the {run} run failed");
            lines.extend(stdout.lines().map(str::to_owned));
        }
        for farmer in ["ada", "bert"] {
            let counted = lines
                .iter()
                .filter(|l| l.starts_with(&format!("{farmer}: counted ")))
                .count();
            let left = lines
                .iter()
                .filter(|l| **l == format!("{farmer}: skipped (another run is counting this farmer)"))
                .count();
            let mentioned = lines
                .iter()
                .filter(|l| l.starts_with(&format!("{farmer}: ")))
                .count();
            assert_eq!(
                (counted, left, mentioned),
                (1, 1, 2),
                "{farmer}: counted once, left to that run once: {lines:#?}"
            );
        }
        assert_eq!(
            d.refreshes().await,
            before + 2,
            "one refresh of each farmer's counting grant"
        );
        d.assert_no_replay().await;
    })
    .await
}
