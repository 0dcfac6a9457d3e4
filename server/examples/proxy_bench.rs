//! `scripts/bench.sh` (or `cargo run --release -p server --example proxy_bench`): prints, in one
//! run, throughput and latency of `GET /api/eggs` through the BFF proxy vs. straight to the same
//! upstream (COOP's egg API), and the refresh-storm figures. A benchmark, not a test: it prints
//! figures and asserts nothing but that every request succeeded. Loopback only, bounded counts.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use support::*;

const REQUESTS: usize = 3000;
const CONCURRENCY: usize = 16;
const STORM: usize = 200;

struct Figures {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

async fn load(make: impl Fn() -> reqwest::RequestBuilder) -> Figures {
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures_util::stream::iter(0..REQUESTS)
        .map(|_| {
            let request = make();
            async move {
                let t = Instant::now();
                let response = request.send().await.expect("loopback request");
                assert!(response.status().is_success(), "HTTP {}", response.status());
                response.bytes().await.unwrap();
                t.elapsed()
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed();
    latencies.sort();
    Figures {
        per_second: REQUESTS as f64 / elapsed.as_secs_f64(),
        p50: latencies[latencies.len() / 2],
        p99: latencies[latencies.len() * 99 / 100],
    }
}

#[tokio::main]
async fn main() {
    // Throughput: long-lived tokens, so no renewal happens during the run.
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let bff = harness
        .bff_with(listener, NEW_KEY, &[("TOPCLUCK_REFRESH_SKEW", "0")])
        .await;
    let (cookie, _) = bff.login("ada").await;
    let pending = bff.authorize("ada").await;
    let direct: Value = http()
        .post(format!("{}/token", harness.coop.issuer))
        .basic_auth("topcluck", Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", pending.code.as_str()),
            ("redirect_uri", pending.redirect_uri.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = direct["access_token"].as_str().unwrap().to_owned();

    let client = reqwest::Client::new();
    let upstream = format!("{}/api/eggs", harness.coop.issuer);
    let through = bff.url("/api/eggs");
    // Warm both paths (connections, caches) before measuring.
    let _ = load(|| client.get(&upstream).bearer_auth(&access_token)).await;
    let direct = load(|| client.get(&upstream).bearer_auth(&access_token)).await;
    let proxied = load(|| {
        client
            .get(&through)
            .header("cookie", &cookie)
            .header("x-csrf", "1")
    })
    .await;

    println!("GET /api/eggs, {REQUESTS} requests, {CONCURRENCY} at a time, loopback, one process:");
    println!("{:<26} {:>10} {:>10} {:>10}", "", "req/s", "p50", "p99");
    for (name, f) in [
        ("straight to the egg API", &direct),
        ("through the BFF proxy", &proxied),
    ] {
        println!(
            "{name:<26} {:>10.0} {:>10.2?} {:>10.2?}",
            f.per_second, f.p50, f.p99
        );
    }
    println!(
        "{:<26} {:>10.2} {:>10.2} {:>10.2}",
        "ratio (BFF / straight)",
        proxied.per_second / direct.per_second,
        proxied.p50.as_secs_f64() / direct.p50.as_secs_f64(),
        proxied.p99.as_secs_f64() / direct.p99.as_secs_f64()
    );

    // The refresh storm: one session's access token expired, many requests at once.
    let listener = support::listener().await;
    let mut harness = Harness::start_with(&[listener.local_addr().unwrap().port()], |c| {
        c.access_token_ttl = Duration::from_secs(1)
    })
    .await;
    let bff = harness
        .bff_with(listener, NEW_KEY, &[("TOPCLUCK_REFRESH_SKEW", "0")])
        .await;
    let (cookie, _) = bff.login("ada").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let started = Instant::now();
    let statuses: Vec<u16> = futures_util::future::join_all((0..STORM).map(|_| {
        client
            .get(bff.url("/api/eggs"))
            .header("cookie", &cookie)
            .header("x-csrf", "1")
            .send()
    }))
    .await
    .into_iter()
    .map(|r| r.unwrap().status().as_u16())
    .collect();
    let elapsed = started.elapsed();
    let counters = harness.counters().await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    println!();
    println!("refresh storm: {STORM} parallel requests with an expired access token");
    println!(
        "  {ok}/{STORM} answered 200 in {elapsed:.2?}; refreshes at COOP: {}; reuse detections: {}; grants revoked: {}",
        counters["token_requests"]["refresh_token"]["ok"],
        counters["reuse_detections"],
        counters["grants_revoked"]
    );
}
