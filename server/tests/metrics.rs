//! `/metrics` as an operator scrapes it, from a real BFF (in this process, and the real binary)
//! against a real COOP: after a login, a refused login, proxied requests, a forced refresh that
//! three requests wait for, an old cookie, a daily run and an ended session, each metric moved
//! by exactly what happened — on both stores; and two lost refresh answers, counted as
//! introspection settled them. No token, cookie value or subject is anywhere in
//! the scrape; the public site has no `/metrics`; without `TOPCLUCK_METRICS_ADDR` there is no
//! listener.
//!
//! The recorder is the process's (one per test binary): the in-process cases run one at a time
//! ([`SERIAL`]) and compare two scrapes of their own, whatever an earlier case left.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use coop::RefreshTokenMode;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::processes::{ServerProcess, deployment_vars};
use support::stores::Store;
use support::*;

/// The in-process cases share the process's recorder: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CASE_LIMIT: Duration = Duration::from_secs(120);
/// How long COOP holds back the forced refresh's answer (the requests wait meanwhile).
const ANSWER_DELAY_MS: u64 = 2000;

/// One scrape, parsed: each series (name and labels) with its value.
struct Scrape {
    text: String,
    series: BTreeMap<(String, BTreeMap<String, String>), f64>,
}

impl Scrape {
    async fn of(metrics: std::net::SocketAddr) -> Scrape {
        let response = http()
            .get(format!("http://{metrics}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        Scrape::parse(response.text().await.unwrap())
    }

    fn parse(text: String) -> Scrape {
        let mut series = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (key, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
            let (name, labels) = match key.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (key, ""),
            };
            let labels: BTreeMap<String, String> = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("{line}"));
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            series.insert((name.to_owned(), labels), value);
        }
        Scrape { text, series }
    }

    /// The series' value; 0 when it is not there yet.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.series
            .get(&(name.to_owned(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    /// Every label value in the scrape.
    fn label_values(&self) -> BTreeSet<&str> {
        self.series
            .keys()
            .flat_map(|(_, labels)| labels.values().map(String::as_str))
            .collect()
    }
}

/// `after - before` for one series.
fn delta(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.get(name, labels) - before.get(name, labels)
}

/// The strings a session cookie carries when opened (tokens, ID token, session id), and the
/// sealed value itself.
fn secrets_of(cookie: &str) -> Vec<String> {
    let (name, value) = cookie.split_once('=').unwrap();
    let ring = server::cookies::KeyRing::new(&[server::settings::Secret::new(NEW_KEY)]).unwrap();
    let opened = ring
        .open(&tower_cookies::cookie::Cookie::new(
            name.to_owned(),
            value.to_owned(),
        ))
        .expect("the session cookie opens");
    // tower-sessions-cookie-store's record: base64url (no padding) of a JSON envelope.
    let record =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, opened.value()).unwrap();
    let mut found = vec![value.to_owned()];
    collect_strings(&serde_json::from_slice(&record).unwrap(), &mut found);
    found.retain(|s| s.len() >= 16);
    assert!(found.len() >= 4, "tokens and the session id: {}", found.len());
    found
}

/// Every string in `value`, and in the JSON documents those strings hold.
fn collect_strings(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            if let Ok(inner @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str::<Value>(text) {
                collect_strings(&inner, found);
            }
            found.push(text.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, found)),
        Value::Object(fields) => fields.values().for_each(|v| collect_strings(v, found)),
        _ => {}
    }
}

on_both_stores!(
    a_scrape_after_a_session_counts_exactly_what_happened,
    lost_refresh_answers_are_counted_as_introspection_settled_them,
);

async fn run<F: Future<Output = ()>>(store: Store, case: impl FnOnce(Store) -> F) {
    let _one_at_a_time = SERIAL.lock().await;
    tokio::time::timeout(CASE_LIMIT, case(store))
        .await
        .unwrap_or_else(|_| panic!("the case took longer than {CASE_LIMIT:?} on {store:?}"));
}

/// COOP (rotating refresh tokens, 60-second access tokens) and a BFF on `store` with a metrics
/// listener: the harness, the BFF, where it serves `/metrics`, and its port.
async fn farm(store: Store) -> (Harness, Bff, std::net::SocketAddr, u16) {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::with_mode(&[port], RefreshTokenMode::Rotate, Duration::from_secs(60)).await;
    let mut vars = vec![
        ("TOPCLUCK_METRICS_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("TOPCLUCK_COUNT_RETRY_MS".to_owned(), "400".to_owned()),
    ];
    if let Store::Postgres = store {
        vars.push((
            "TOPCLUCK_DATABASE_URL".to_owned(),
            support::postgres::Cluster::shared().database().await,
        ));
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let bff = harness.bff_with(listener, NEW_KEY, &vars).await;
    let metrics = bff.metrics.expect("a metrics listener");
    (harness, bff, metrics, port)
}

/// Each `(name, (label, value), expected)`: the series moved by exactly `expected`.
fn assert_deltas(before: &Scrape, after: &Scrape, expected: &[(&str, (&str, &str), f64)]) {
    let wrong: Vec<String> = expected
        .iter()
        .filter_map(|&(name, label, expected)| {
            let seen = delta(before, after, name, &[label]);
            (seen != expected)
                .then(|| format!("{name}{{{}={}}}: +{seen}, expected +{expected}", label.0, label.1))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

async fn a_scrape_after_a_session_counts_exactly_what_happened(store: Store) {
    let (harness, bff, metrics, port) = farm(store).await;
    let before = Scrape::of(metrics).await;

    // A login, and one whose transaction this browser never opened.
    let (cookie, _) = bff.login("ada").await;
    let unknown = json!({
        "code": "a-code", "code_verifier": "v".repeat(43), "state": "never-opened",
        "redirect_uri": format!("http://127.0.0.1:{port}/callback"),
    });
    let refused = bff.post_login(&unknown, None).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    // Three proxied requests, and one the API answers 404.
    for _ in 0..3 {
        assert_eq!(
            bff.api(Method::GET, "/api/eggs", &cookie, None).await.status,
            StatusCode::OK
        );
    }
    let missing = bff.api(Method::GET, "/api/no-such-thing", &cookie, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // The access token expires; COOP holds its refresh's answer back while three requests wait.
    harness.advance(Duration::from_secs(61));
    harness
        .faults(json!({ "answer_delay_ms": ANSWER_DELAY_MS }))
        .await;
    let waiting: Vec<_> = (0..3)
        .map(|_| {
            let (spa, cookie) = ((*bff).clone(), cookie.clone());
            tokio::spawn(async move { spa.api(Method::GET, "/api/eggs", &cookie, None).await })
        })
        .collect();
    let mut most_waiting = 0.0;
    for _ in 0..(ANSWER_DELAY_MS / 20) {
        most_waiting = Scrape::of(metrics).await.get("topcluck_renewals_waiting", &[]);
        if most_waiting == 3.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(most_waiting, 3.0, "three requests seen waiting for one refresh");
    let mut renewed = None;
    for answer in futures_util::future::join_all(waiting).await {
        let answer = answer.unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        renewed = answer.cookie();
    }
    harness.clear_faults().await;
    let renewed = renewed.expect("the renewed cookie");
    // A tab still holding the cookie from before the rotation: given the successor.
    let late = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(late.status, StatusCode::OK, "{}", late.body);

    // Daily counting turned on (a second login: the consent), and one daily run.
    assert_eq!(bff.enrol(&renewed, "ada").await.status(), StatusCode::OK);
    let state = bff.state.as_ref().unwrap();
    let job = server::counting::Job::from_state(state).unwrap();
    let summary = job
        .run(state.settings.daily_count.day(state.clock.now()))
        .await
        .unwrap();
    assert!(matches!(
        summary.farmers[..],
        [(_, server::counting::FarmerResult::Counted { .. })]
    ));

    // What must never be in a scrape, gathered while it is alive.
    let mut secrets = secrets_of(&cookie);
    secrets.extend(secrets_of(&renewed));
    let owner = server::vault::Owner {
        issuer: harness.coop.base.clone(),
        subject: "ada".into(),
        client_id: COUNTING_CLIENT.into(),
    };
    let vault = state.vault.as_ref().unwrap();
    secrets.push(
        vault
            .refresh_token(&owner)
            .await
            .unwrap()
            .expect("the job's grant"),
    );

    // The grant is revoked at COOP: the next request ends the session.
    harness.dev("grants/revoke", json!({ "username": "ada" })).await;
    let ended = bff.api(Method::GET, "/api/eggs", &renewed, None).await;
    assert_eq!(ended.body["error"], "reauthentication_required", "{}", ended.body);

    let after = Scrape::of(metrics).await;
    let d = |name: &str, labels: &[(&str, &str)]| delta(&before, &after, name, labels);
    println!("{}", after.text);
    let counts = [
        ("topcluck_logins_total", ("outcome", "succeeded"), 2.0),
        ("topcluck_logins_total", ("outcome", "not_started"), 1.0),
        ("topcluck_refreshes_total", ("outcome", "renewed"), 1.0),
        ("topcluck_refreshes_total", ("outcome", "ended"), 1.0),
        ("topcluck_refreshes_total", ("outcome", "unavailable"), 0.0),
        ("topcluck_provider_refreshes_total", ("answer", "tokens"), 1.0),
        ("topcluck_provider_refreshes_total", ("answer", "refused"), 1.0),
        ("topcluck_refresh_joins_total", ("via", "memory"), 2.0),
        ("topcluck_refresh_joins_total", ("via", "store"), 0.0),
        ("topcluck_successors_served_total", ("from", "memory"), 1.0),
        ("topcluck_refresh_uncertain_total", ("settled", "unknown"), 0.0),
        (
            "topcluck_proxy_request_duration_seconds_count",
            ("class", "2xx"),
            7.0,
        ),
        (
            "topcluck_proxy_request_duration_seconds_count",
            ("class", "4xx"),
            1.0,
        ),
        (
            "topcluck_proxy_request_duration_seconds_count",
            ("class", "bff_error"),
            1.0,
        ),
        (
            "topcluck_proxy_errors_total",
            ("error", "reauthentication_required"),
            1.0,
        ),
        ("topcluck_daily_count_farmers_total", ("outcome", "counted"), 1.0),
        (
            "topcluck_daily_count_farmers_total",
            ("outcome", "needs_consent"),
            0.0,
        ),
    ];
    assert_deltas(&before, &after, &counts);
    assert_eq!(d("topcluck_daily_count_runs_total", &[]), 1.0);
    assert_eq!(
        after.get("topcluck_daily_count_last_run_farmers", &[("outcome", "counted")]),
        1.0
    );
    assert_eq!(
        after.get("topcluck_daily_count_last_run_farmers", &[("outcome", "busy")]),
        0.0
    );
    assert!(after.get("topcluck_daily_count_last_run_timestamp_seconds", &[]) > 1.7e9);
    assert_eq!(
        after.get("topcluck_renewals_waiting", &[]),
        0.0,
        "nobody waits any more"
    );

    // The latency is real: the three that waited took (nearly: two joined a little after the
    // first) the answer delay, the others did not.
    let waited = 3.0 * (ANSWER_DELAY_MS as f64 / 1000.0 - 0.5);
    let sum = d("topcluck_proxy_request_duration_seconds_sum", &[("class", "2xx")]);
    assert!(sum >= waited, "{sum} s");
    let under_a_second = d(
        "topcluck_proxy_request_duration_seconds_bucket",
        &[("class", "2xx"), ("le", "1")],
    );
    assert!(under_a_second <= 4.0, "{under_a_second}");

    // The store, by module: what a session and the job touched, each call timed.
    for area in ["successors", "sessions", "grants", "history"] {
        let calls = d("topcluck_store_calls_total", &[("area", area)]);
        let timed = d("topcluck_store_call_duration_seconds_count", &[("area", area)]);
        assert!(
            calls >= 1.0 && calls == timed,
            "{area}: {calls} calls, {timed} timed"
        );
    }
    assert!(d("topcluck_store_renewal_statements_total", &[]) >= 4.0);
    assert!(after.get("process_resident_memory_bytes", &[]) > 1e6);

    // Nothing of the session in the scrape: no token, cookie, session id, subject, name, email.
    for secret in &secrets {
        assert!(!after.text.contains(secret.as_str()), "a secret is in the scrape");
    }
    for value in after.label_values() {
        for person in ["ada", "Ada Henhouse", "ada@coop.example"] {
            assert!(!value.contains(person), "label value {value:?}");
        }
    }

    // Only on the metrics listener: the public site has no /metrics.
    let public = http().get(bff.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    assert!(!public.text().await.unwrap().contains("topcluck_refreshes_total"));
    let elsewhere = http().get(format!("http://{metrics}/")).send().await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
}

/// Two refresh answers lost on the way back: a gateway's 503 page (COOP did nothing:
/// introspection finds the token active, the session is kept) and a connection reset after COOP
/// rotated (the token is used: the session ends rather than replay it).
async fn lost_refresh_answers_are_counted_as_introspection_settled_them(store: Store) {
    let (harness, bff, metrics, _) = farm(store).await;
    let (cookie, _) = bff.login("ada").await;
    let before = Scrape::of(metrics).await;

    harness.advance(Duration::from_secs(61));
    harness.faults(json!({ "gateway_5xx_html": 503 })).await;
    let kept = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    harness.clear_faults().await;
    assert_eq!(kept.body["error"], "temporarily_unavailable", "{}", kept.body);
    let renewed = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let cookie = renewed.cookie().expect("the renewed cookie");

    harness.advance(Duration::from_secs(61));
    harness.faults(json!({ "reset_after_rotate": true })).await;
    let ended = bff.api(Method::GET, "/api/eggs", &cookie, None).await;
    harness.clear_faults().await;
    assert_eq!(ended.body["error"], "reauthentication_required", "{}", ended.body);

    let after = Scrape::of(metrics).await;
    assert_deltas(
        &before,
        &after,
        &[
            (
                "topcluck_provider_refreshes_total",
                ("answer", "answer_lost"),
                2.0,
            ),
            ("topcluck_provider_refreshes_total", ("answer", "tokens"), 1.0),
            ("topcluck_refresh_uncertain_total", ("settled", "active"), 1.0),
            (
                "topcluck_refresh_uncertain_total",
                ("settled", "rotation_lost"),
                1.0,
            ),
            ("topcluck_refresh_uncertain_total", ("settled", "unknown"), 0.0),
            ("topcluck_refreshes_total", ("outcome", "unavailable"), 1.0),
            ("topcluck_refreshes_total", ("outcome", "renewed"), 1.0),
            ("topcluck_refreshes_total", ("outcome", "ended"), 1.0),
            (
                "topcluck_proxy_errors_total",
                ("error", "temporarily_unavailable"),
                1.0,
            ),
            (
                "topcluck_proxy_errors_total",
                ("error", "reauthentication_required"),
                1.0,
            ),
            (
                "topcluck_proxy_request_duration_seconds_count",
                ("class", "bff_error"),
                2.0,
            ),
            (
                "topcluck_proxy_request_duration_seconds_count",
                ("class", "2xx"),
                1.0,
            ),
        ],
    );
}

/// The listening TCP sockets of process `pid` (its socket inodes, found in the kernel's tables).
fn listening_sockets(pid: u32) -> usize {
    let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?.to_owned();
            Some(target.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .flat_map(|table| {
            std::fs::read_to_string(table)
                .unwrap_or_default()
                .lines()
                .skip(1)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // `st` 0A is LISTEN; the inode is the tenth field.
            fields.get(3) == Some(&"0A") && fields.get(9).is_some_and(|inode| inodes.contains(*inode))
        })
        .count()
}

/// The real binary: with `TOPCLUCK_METRICS_ADDR` it listens there too and counts what it served
/// (and its own process's figures); without it, it has one listener, the site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_binary_listens_for_metrics_only_when_configured() {
    let ports = [free_port(), free_port()];
    let harness = Harness::start(&ports).await;
    let mut vars = deployment_vars(&harness.coop.base, "");
    vars.retain(|(name, _)| name != "TOPCLUCK_DATABASE_URL");
    let metrics_port = free_port();
    let mut with_metrics = vars.clone();
    with_metrics.push((
        "TOPCLUCK_METRICS_ADDR".to_owned(),
        format!("127.0.0.1:{metrics_port}"),
    ));
    let (with, without) = tokio::join!(
        ServerProcess::start("metrics", ports[0], &with_metrics),
        ServerProcess::start("plain", ports[1], &vars)
    );
    let bff = with.bff();
    let (cookie, _) = bff.login("ada").await;
    assert_eq!(
        bff.api(Method::GET, "/api/eggs", &cookie, None).await.status,
        StatusCode::OK
    );

    let scrape = Scrape::of(([127, 0, 0, 1], metrics_port).into()).await;
    assert_eq!(
        scrape.get("topcluck_logins_total", &[("outcome", "succeeded")]),
        1.0
    );
    assert_eq!(
        scrape.get(
            "topcluck_proxy_request_duration_seconds_count",
            &[("class", "2xx")]
        ),
        1.0
    );
    assert!(scrape.get("process_resident_memory_bytes", &[]) > 1e6);
    assert!(scrape.get("process_open_fds", &[]) >= 3.0);
    for process in [&with, &without] {
        let public = http().get(process.url("/metrics")).send().await.unwrap();
        assert_eq!(public.status(), StatusCode::NOT_FOUND, "{}", process.base);
    }
    assert_eq!(
        listening_sockets(with.pid()),
        2,
        "the site and the metrics listener"
    );
    assert_eq!(listening_sockets(without.pid()), 1, "the site only");
}
