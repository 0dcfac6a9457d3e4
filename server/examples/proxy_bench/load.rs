//! `proxy_bench sessions`: many farmers' browsers at once, the way they load the BFF — each
//! session its own keep-alive client (its own connections, like a browser profile) sending a
//! burst of 3 parallel `GET /api/eggs` every ~500 ms, taking each new session cookie the BFF
//! sets (renewals rotate it). Sessions are added in stages (e.g. 300, then 600, then 1,000);
//! after each stage's run, and after every session has gone idle for a while, it prints the BFF
//! process's memory (RSS and its peak), its open file descriptors and its established
//! connections: from browsers (client side) and to the upstream (COOP: API and provider).
//!
//! ```text
//! proxy_bench sessions <bff-url> <bff-pid> <upstream-port> <stages> <seconds> <idle-seconds>
//! ```
//!
//! `<stages>` is a comma-separated list of session counts. Every failed request is printed by
//! status and error code at the end of its stage; a `401 reauthentication_required` ends that
//! session (counted: the target is 0). The sessions ([`add_sessions`], [`browse_all`]) serve
//! `proxy_bench faults` too, there across two instances.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use coop::testkit::Spa;
use coop::testkit::spa::session_set_cookie;
use tokio::sync::Mutex;

/// Parallel requests per burst, and the time between bursts (± a quarter, so sessions spread).
const BURST: usize = 3;
const EVERY_MS: u64 = 500;

/// The time between a session's bursts: `LOAD_EVERY_MS`, or [`EVERY_MS`].
fn every() -> Duration {
    static EVERY: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *EVERY.get_or_init(|| {
        let ms = std::env::var("LOAD_EVERY_MS")
            .map_or(EVERY_MS, |v| v.parse().expect("LOAD_EVERY_MS: milliseconds"));
        Duration::from_millis(ms.max(1))
    })
}
/// Logins at once while sessions are added.
const LOGINS_AT_ONCE: usize = 16;

/// What the sessions saw (in a stage, or a phase of `proxy_bench faults`).
#[derive(Default)]
pub struct Tally {
    pub requests: u64,
    pub latencies_us: Vec<u32>,
    /// `status error-code` → count, for every answer that was not 2xx (or no answer at all).
    pub failures: BTreeMap<String, u64>,
    pub ended: u64,
    /// Requests sent to the other instance because the first refused the connection.
    pub failovers: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.requests += other.requests;
        self.ended += other.ended;
        self.failovers += other.failovers;
        self.latencies_us.extend(other.latencies_us);
        for (k, v) in other.failures {
            *self.failures.entry(k).or_default() += v;
        }
    }
}

pub struct Session {
    cookie: Mutex<String>,
    ended: AtomicBool,
}

pub async fn run(args: &[&str]) {
    let [bff, pid, upstream_port, stages, seconds, idle] = args else {
        eprintln!(
            "usage: proxy_bench sessions <bff-url> <bff-pid> <upstream-port> <stages> <seconds> <idle-seconds>"
        );
        std::process::exit(2);
    };
    let pid: u32 = pid.parse().expect("a PID");
    let bff_port: u16 = url::Url::parse(bff)
        .unwrap()
        .port()
        .expect("a port in the BFF's URL");
    let upstream_port: u16 = upstream_port.parse().expect("a port");
    let stages: Vec<usize> = stages
        .split(',')
        .map(|s| s.parse().expect("a session count"))
        .collect();
    let run_for = Duration::from_secs(seconds.parse().expect("seconds"));
    let idle_for = Duration::from_secs(idle.parse().expect("idle seconds"));
    let spas = [Arc::new(Spa::new(bff))];
    let urls: Arc<[String]> = Arc::new([format!("{bff}/api/eggs")]);
    let mut sessions: Vec<Arc<Session>> = Vec::new();
    let sample = |label: &str| println!("  BFF {label}: {}", Sample::take(pid, bff_port, upstream_port));

    println!(
        "\nsessions: {BURST} parallel GET /api/eggs every ~{} ms each, {} s per stage",
        every().as_millis(),
        run_for.as_secs()
    );
    sample("before any session");
    let mut totals = Tally::default();
    for &count in &stages {
        let started = Instant::now();
        add_sessions(&spas, &mut sessions, count).await;
        println!(
            "  {} sessions logged in ({:.1} s)",
            sessions.len(),
            started.elapsed().as_secs_f64()
        );
        let peak = Arc::new(std::sync::Mutex::new(Sample::default()));
        let watching = tokio::spawn(watch(pid, bff_port, upstream_port, peak.clone()));
        let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut browsing = browse_all(&sessions, &urls, &stop, &tally);
        tokio::time::sleep(run_for).await;
        stop.store(true, Ordering::Relaxed);
        while browsing.join_next().await.is_some() {}
        watching.abort();
        let tally = std::mem::take(&mut *tally.lock().unwrap());
        print_tally(count, &tally);
        let peak = *peak.lock().unwrap();
        println!(
            "  BFF during {count} sessions (highest of samples every {} s): {peak}",
            WATCH_EVERY.as_secs()
        );
        sample(&format!("after {count} sessions"));
        totals.add(tally);
    }
    tokio::time::sleep(idle_for).await;
    sample(&format!("after {} s idle", idle_for.as_secs()));
    let failed: u64 = totals.failures.values().sum();
    println!(
        "in all: {} requests, {failed} failed, {} sessions ended",
        totals.requests, totals.ended
    );
}

/// Logs in sessions until there are `count`, each at the next of `spas` in turn.
pub async fn add_sessions(spas: &[Arc<Spa>], sessions: &mut Vec<Arc<Session>>, count: usize) {
    let missing = count.saturating_sub(sessions.len());
    let mut logins = tokio::task::JoinSet::new();
    let mut made = 0;
    while made < missing || !logins.is_empty() {
        while made < missing && logins.len() < LOGINS_AT_ONCE {
            let spa = spas[made % spas.len()].clone();
            logins.spawn(async move { spa.login("ada").await.0 });
            made += 1;
        }
        if let Some(cookie) = logins.join_next().await {
            sessions.push(Arc::new(Session {
                cookie: Mutex::new(cookie.expect("a login")),
                ended: AtomicBool::new(false),
            }));
        }
    }
}

/// Every live session's bursts to `urls` (the same resource at each instance, taken in turn
/// as a round-robin load balancer would) until `stop` is set, each burst's outcomes added to
/// `tally` as it ends (so the caller can take a tally while the sessions go on).
pub fn browse_all(
    sessions: &[Arc<Session>],
    urls: &Arc<[String]>,
    stop: &Arc<AtomicBool>,
    tally: &Arc<std::sync::Mutex<Tally>>,
) -> tokio::task::JoinSet<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, session) in sessions.iter().enumerate() {
        if session.ended.load(Ordering::Relaxed) {
            continue;
        }
        let (session, urls, stop, tally) = (session.clone(), urls.clone(), stop.clone(), tally.clone());
        // Spread the first bursts over one period, and the sessions over the instances.
        let offset = every().mul_f64((i % 97) as f64 / 97.0);
        tasks.spawn(async move { browse(session, urls, i, stop, offset, tally).await });
    }
    tasks
}

/// One browser: its own keep-alive client, a burst every ~[`every`] until `stop`.
async fn browse(
    session: Arc<Session>,
    urls: Arc<[String]>,
    first: usize,
    stop: Arc<AtomicBool>,
    offset: Duration,
    tally: Arc<std::sync::Mutex<Tally>>,
) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(6)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    tokio::time::sleep(offset).await;
    let mut turn: u64 = 0;
    let mut next_url = first;
    while !stop.load(Ordering::Relaxed) && !session.ended.load(Ordering::Relaxed) {
        let next =
            tokio::time::Instant::now() + every().mul_f64(0.75 + 0.5 * ((turn * 7919 % 101) as f64 / 101.0));
        turn += 1;
        let cookie = session.cookie.lock().await.clone();
        let at = next_url;
        next_url += BURST;
        let burst = (0..BURST).map(|k| one_request(&client, &urls, at + k, &cookie));
        let mut burst_tally = Tally::default();
        for (latency, outcome, failover) in futures_util::future::join_all(burst).await {
            burst_tally.requests += 1;
            burst_tally.failovers += u64::from(failover);
            burst_tally.latencies_us.push(latency);
            match outcome {
                Outcome::Ok(Some(renewed)) => *session.cookie.lock().await = renewed,
                Outcome::Ok(None) => {}
                Outcome::Ended => {
                    if !session.ended.swap(true, Ordering::Relaxed) {
                        burst_tally.ended += 1;
                    }
                    *burst_tally
                        .failures
                        .entry("401 reauthentication_required".into())
                        .or_default() += 1;
                }
                Outcome::Failed(why) => *burst_tally.failures.entry(why).or_default() += 1,
            }
        }
        tally.lock().unwrap().add(burst_tally);
        tokio::time::sleep_until(next).await;
    }
}

enum Outcome {
    /// 2xx, with the new session cookie if the BFF set one.
    Ok(Option<String>),
    Ended,
    Failed(String),
}

/// One request to `urls[at % len]`; when that instance refuses the connection (it is being
/// restarted), once more to the next one, as a load balancer would: (latency, outcome, whether
/// it went to the next one).
async fn one_request(
    client: &reqwest::Client,
    urls: &[String],
    at: usize,
    cookie: &str,
) -> (u32, Outcome, bool) {
    let started = Instant::now();
    let send = |url: &str| {
        client
            .get(url)
            .header("cookie", cookie)
            .header("x-csrf", "1")
            .send()
    };
    let mut sent = send(&urls[at % urls.len()]).await;
    let mut failover = false;
    if urls.len() > 1 && matches!(&sent, Err(error) if error.is_connect()) {
        failover = true;
        sent = send(&urls[(at + 1) % urls.len()]).await;
    }
    let outcome = match sent {
        Err(error) => Outcome::Failed(format!("no answer ({})", kind(&error))),
        Ok(response) => {
            let status = response.status();
            let renewed = session_set_cookie(response.headers())
                .filter(|line| !line.contains("Max-Age=0"))
                .map(|line| line.split(';').next().unwrap_or_default().to_owned());
            let body = response.bytes().await;
            match (status.as_u16(), body) {
                (200..=299, Ok(_)) => Outcome::Ok(renewed),
                (_, Err(error)) => Outcome::Failed(format!("{status} body cut ({})", kind(&error))),
                (401, Ok(body)) if String::from_utf8_lossy(&body).contains("reauthentication_required") => {
                    Outcome::Ended
                }
                (_, Ok(body)) => {
                    let code = serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v["error"].as_str().map(str::to_owned))
                        .unwrap_or_default();
                    Outcome::Failed(format!("{} {code}", status.as_u16()))
                }
            }
        }
    };
    (
        started.elapsed().as_micros().min(u32::MAX as u128) as u32,
        outcome,
        failover,
    )
}

fn kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else {
        "request"
    }
}

fn print_tally(count: usize, tally: &Tally) {
    let mut latencies = tally.latencies_us.clone();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let failed: u64 = tally.failures.values().sum();
    println!(
        "  {count} sessions: {} requests, {failed} failed, {} sessions ended; p50 {:.1} ms, p99 {:.1} ms",
        tally.requests,
        tally.ended,
        at(0.50) as f64 / 1000.0,
        at(0.99) as f64 / 1000.0
    );
    for (why, n) in &tally.failures {
        println!("    {n} × {why}");
    }
}

/// How often the BFF is sampled during a stage.
const WATCH_EVERY: Duration = Duration::from_secs(5);

/// The BFF process's memory, descriptors and established connections by side, at one moment
/// (or the highest of several).
#[derive(Clone, Copy, Default)]
struct Sample {
    rss_kb: u64,
    peak_kb: u64,
    fds: usize,
    clients: usize,
    upstream: usize,
}

impl Sample {
    fn take(pid: u32, bff_port: u16, upstream_port: u16) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kb = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let (clients, upstream, fds) = connections(pid, bff_port, upstream_port);
        Sample {
            rss_kb: kb("VmRSS:"),
            peak_kb: kb("VmHWM:"),
            fds,
            clients,
            upstream,
        }
    }

    fn max(self, other: Sample) -> Sample {
        Sample {
            rss_kb: self.rss_kb.max(other.rss_kb),
            peak_kb: self.peak_kb.max(other.peak_kb),
            fds: self.fds.max(other.fds),
            clients: self.clients.max(other.clients),
            upstream: self.upstream.max(other.upstream),
        }
    }
}

impl std::fmt::Display for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RSS {:.1} MB (peak {:.1} MB), {} open fds, connections: {} from browsers, {} to the upstream",
            self.rss_kb as f64 / 1024.0,
            self.peak_kb as f64 / 1024.0,
            self.fds,
            self.clients,
            self.upstream
        )
    }
}

/// Samples the BFF every [`WATCH_EVERY`] into `peak` (the highest of each figure) until aborted.
async fn watch(pid: u32, bff_port: u16, upstream_port: u16, peak: Arc<std::sync::Mutex<Sample>>) {
    let mut ticks = tokio::time::interval(WATCH_EVERY);
    loop {
        ticks.tick().await;
        let now = Sample::take(pid, bff_port, upstream_port);
        let mut peak = peak.lock().unwrap();
        *peak = peak.max(now);
    }
}

/// (established connections to the BFF's port, established connections to the upstream's port,
/// open descriptors) of process `pid`: its socket inodes matched in /proc/net/tcp{,6}.
fn connections(pid: u32, bff_port: u16, upstream_port: u16) -> (usize, usize, usize) {
    let mut inodes = std::collections::HashSet::new();
    let mut fds = 0;
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for entry in dir.flatten() {
            fds += 1;
            if let Ok(target) = std::fs::read_link(entry.path()) {
                let target = target.to_string_lossy().into_owned();
                if let Some(inode) = target.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    inodes.insert(inode.to_owned());
                }
            }
        }
    }
    let (mut clients, mut upstream) = (0, 0);
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[3] != "01" || !inodes.contains(fields[9]) {
                continue;
            }
            let port = |address: &str| {
                address
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
            };
            if port(fields[1]) == Some(bff_port) {
                clients += 1;
            } else if port(fields[2]) == Some(upstream_port) {
                upstream += 1;
            }
        }
    }
    (clients, upstream, fds)
}
