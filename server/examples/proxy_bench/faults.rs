//! `proxy_bench faults`: the sessions load of [`super::load`] against two BFF instances on one
//! store, in phases that `scripts/faults.sh` drives while it breaks things (COOP killed, COOP
//! slow, the API failing, a BFF restarted, PostgreSQL restarted). Each session's requests go to
//! either instance in turn, as behind a round-robin load balancer; when an instance refuses the
//! connection (it is restarting), the request goes to the other one once (a failover).
//!
//! ```text
//! proxy_bench faults <bff-a-url> <bff-b-url> <coop-url> <sessions> <ready-file>
//! ```
//!
//! Logs `<sessions>` sessions in (alternately at each instance), creates `<ready-file>`, and
//! browses until told to stop. It reads its orders on stdin, one a line: `phase <name>` ends
//! the phase under way (if any; its row is printed) and starts `<name>`; `end` (or the end of
//! stdin) ends the last one, prints the table and exits, with status 1 if any phase saw a
//! session ended (`401 reauthentication_required`) or a replay.
//!
//! Replays are COOP's `reuse_detections` (`/dev/counters`): a refresh token presented again
//! after it was used. COOP keeps its counters in memory, so they start from 0 when it is
//! restarted: they are read every [`POLL`] and a drop is taken as a restart (the count before
//! it is kept), so a replay detected less than [`POLL`] before COOP is killed could be missed —
//! `scripts/faults.sh` also counts COOP's log lines for them.

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coop::testkit::Spa;

use super::load::{Session, Tally, add_sessions, browse_all};

/// How often COOP's counters are read.
const POLL: Duration = Duration::from_millis(250);

/// One phase's row.
struct Row {
    name: String,
    seconds: f64,
    tally: Tally,
    replays: u64,
}

impl Row {
    fn failed(&self) -> u64 {
        self.tally.failures.values().sum()
    }

    fn kinds(&self) -> String {
        if self.tally.failures.is_empty() {
            return "-".into();
        }
        let kinds: Vec<String> = self
            .tally
            .failures
            .iter()
            .map(|(why, n)| format!("{n} × {why}"))
            .collect();
        kinds.join(", ")
    }
}

const HEADER: &str = "phase          | seconds | requests | failed | sessions ended | replays | failovers | failed by status / error";

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<14} | {:>7.0} | {:>8} | {:>6} | {:>14} | {:>7} | {:>9} | {}",
            self.name,
            self.seconds,
            self.tally.requests,
            self.failed(),
            self.tally.ended,
            self.replays,
            self.tally.failovers,
            self.kinds()
        )
    }
}

/// COOP's reuse detections since this program started, across COOP's restarts.
#[derive(Default)]
struct Replays {
    /// The counts of COOP processes that have ended.
    before: u64,
    /// The last count read from the COOP process that runs now.
    last: u64,
}

impl Replays {
    fn read(&mut self, now: u64) {
        if now < self.last {
            self.before += self.last;
        }
        self.last = now;
    }

    fn total(&self) -> u64 {
        self.before + self.last
    }
}

pub async fn run(args: &[&str]) {
    let [a, b, coop, sessions, ready] = args else {
        eprintln!("usage: proxy_bench faults <bff-a-url> <bff-b-url> <coop-url> <sessions> <ready-file>");
        std::process::exit(2);
    };
    let count: usize = sessions.parse().expect("a session count");
    let counters_url = format!("{coop}/dev/counters");
    let replays = Arc::new(tokio::sync::Mutex::new(Replays::default()));
    read_replays(&counters_url, &replays).await;

    let started = Instant::now();
    let spas = [Arc::new(Spa::new(a)), Arc::new(Spa::new(b))];
    let mut sessions: Vec<Arc<Session>> = Vec::new();
    add_sessions(&spas, &mut sessions, count).await;
    println!(
        "  {} sessions logged in, alternately at {a} and {b} ({:.1} s)",
        sessions.len(),
        started.elapsed().as_secs_f64()
    );

    let polling = tokio::spawn({
        let (url, replays) = (counters_url.clone(), replays.clone());
        async move {
            loop {
                read_replays(&url, &replays).await;
                tokio::time::sleep(POLL).await;
            }
        }
    });
    let urls: Arc<[String]> = Arc::new([format!("{a}/api/eggs"), format!("{b}/api/eggs")]);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut browsing = browse_all(&sessions, &urls, &stop, &tally);
    std::fs::write(ready, b"").expect("the ready file");

    let mut orders = orders();
    let mut rows: Vec<Row> = Vec::new();
    // The phase under way: its name, when it started, the replays before it.
    let mut current: Option<(String, Instant, u64)> = None;
    loop {
        let order = orders.recv().await.unwrap_or_else(|| "end".into());
        let next = match order.split_once(' ') {
            Some(("phase", name)) => Some(name.trim().to_owned()),
            _ if order.trim() == "end" => None,
            _ => {
                eprintln!("proxy_bench faults: unknown order {order:?} (`phase <name>` or `end`)");
                continue;
            }
        };
        let now = Instant::now();
        if let Some((name, since, replays_before)) = current.take() {
            // A fresh reading (COOP is up again when a phase ends).
            let seen = std::mem::take(&mut *tally.lock().unwrap());
            read_replays(&counters_url, &replays).await;
            let row = Row {
                name,
                seconds: now.duration_since(since).as_secs_f64(),
                tally: seen,
                replays: replays.lock().await.total() - replays_before,
            };
            println!("{HEADER}\n{row}");
            rows.push(row);
        } else {
            // Whatever happened before the first phase is not part of any.
            std::mem::take(&mut *tally.lock().unwrap());
        }
        match next {
            Some(name) => current = Some((name, now, replays.lock().await.total())),
            None => break,
        }
    }
    stop.store(true, Ordering::Relaxed);
    while browsing.join_next().await.is_some() {}
    polling.abort();

    println!(
        "\nfaults under load: {} sessions on two instances",
        sessions.len()
    );
    println!("{HEADER}");
    for row in &rows {
        println!("{row}");
    }
    let ended: u64 = rows.iter().map(|r| r.tally.ended).sum();
    let replayed: u64 = rows.iter().map(|r| r.replays).sum();
    if ended > 0 || replayed > 0 {
        println!("FAILED: {ended} sessions ended, {replayed} replays (both must be 0)");
        std::process::exit(1);
    }
    println!("ok: 0 sessions ended, 0 replays");
}

/// The lines of stdin, read on a thread of their own.
fn orders() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (send, receive) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Reads COOP's `reuse_detections` into `replays`, if COOP answers (within a second). The lock
/// is held meanwhile: readings are taken in order, so an older one never looks like a restart.
async fn read_replays(url: &str, replays: &tokio::sync::Mutex<Replays>) {
    let mut replays = replays.lock().await;
    let answer = async {
        reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .ok()?
            .json::<serde_json::Value>()
            .await
            .ok()
    };
    if let Some(count) = answer
        .await
        .and_then(|counters| counters["reuse_detections"].as_u64())
    {
        replays.read(count);
    }
}
