//! `scripts/bench.sh`'s helper: the part of the proxy benchmark that must speak OAuth. The load
//! itself comes from an external generator (wrk) against release builds of the BFF and COOP in
//! their own processes; this program gets them what to send, with the workspace's test kit
//! (`coop::testkit`: the SPA's `/bff/login`, COOP's login form with PKCE, `POST /bff/login`).
//!
//! ```text
//! proxy_bench port                         a free loopback port
//! proxy_bench wait <url>                   waits (up to 30 s) until <url> answers 2xx
//! proxy_bench credentials <bff> <secret>   logs `ada` in through the BFF at <bff>; prints
//!                                          COOKIE=<name=value> (the BFF's session cookie) and
//!                                          TOKEN=<access token> (COOP's, for the direct run,
//!                                          from COOP's token endpoint with client secret <secret>)
//! proxy_bench edges                      the edge layers' own cost: a trivial route in-process,
//!                                          with and without `server::edges`' layers
//! proxy_bench storm [--metrics]            the refresh storm, in-process: 200 parallel requests
//!                                          with an expired access token → refreshes at COOP;
//!                                          with --metrics, then the BFFs' /metrics scrape
//! proxy_bench scrape <metrics-url>         prints a BFF's /metrics (e.g. after a load; the BFF
//!                                          started with TOPCLUCK_METRICS_ADDR)
//! proxy_bench sessions <bff> <pid> <upstream-port> <stages> <seconds> <idle-seconds>
//!                                          many browsers at once, in stages: memory and
//!                                          connections of the BFF process <pid> ([`load`])
//! proxy_bench faults <bff-a> <bff-b> <coop> <sessions> <ready-file>
//!                                          sessions on two instances, in phases ordered on
//!                                          stdin while scripts/faults.sh breaks things ([`faults`])
//! ```

mod faults;
mod load;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use coop::testkit::http::wait_until_answers;
use coop::testkit::{Spa, TestCoop, free_port, http, listeners, query_value};
use leptos::prelude::LeptosOptions;
use serde_json::Value;

const STORM: usize = 200;
/// The storm's BFFs: their client secret at COOP, cookie keys and vault keys.
const SECRET: &str = "bench-client-secret";
const COOKIE_KEYS: &str = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0";
const VAULT_KEYS: &str = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["port"] => println!("{}", free_port()),
        ["wait", url] => wait(url).await,
        ["credentials", bff, secret] => credentials(bff, secret).await,
        ["edges"] => edges_cost().await,
        ["storm"] => storm(false).await,
        ["storm", "--metrics"] => storm(true).await,
        ["scrape", url] => scrape(url).await,
        ["sessions", rest @ ..] => load::run(rest).await,
        ["faults", rest @ ..] => faults::run(rest).await,
        _ => {
            eprintln!(
                "usage: proxy_bench port | wait <url> | credentials <bff-url> <client-secret> | edges | storm [--metrics] | scrape <metrics-url> | sessions … | faults …"
            );
            std::process::exit(2);
        }
    }
}

/// Prints the scrape at `url` (a BFF's `http://<TOPCLUCK_METRICS_ADDR>/metrics`) as it came.
async fn scrape(url: &str) {
    match http().get(url).send().await {
        Ok(response) if response.status().is_success() => {
            print!("{}", response.text().await.unwrap_or_default())
        }
        Ok(response) => {
            eprintln!("{url} answered {}", response.status());
            std::process::exit(1);
        }
        Err(error) => {
            eprintln!("{url} did not answer: {error}");
            std::process::exit(1);
        }
    }
}

async fn wait(url: &str) {
    if !wait_until_answers(url, Duration::from_secs(30)).await {
        eprintln!("{url} did not answer within 30 s");
        std::process::exit(1);
    }
}

/// A session cookie from the BFF, and an access token straight from COOP for the same farmer.
async fn credentials(bff: &str, secret: &str) {
    let bff = Spa::new(bff);
    let (cookie, _) = bff.login("ada").await;
    // A second login at COOP, redeemed by us rather than the BFF: the direct run's bearer token.
    let pending = bff.authorize("ada").await;
    let parameters = bff.login_parameters().await;
    let authorize = url::Url::parse(parameters["authorize_url"].as_str().unwrap()).unwrap();
    let token_endpoint = authorize.join("/token").unwrap();
    let client_id = query_value(authorize.as_str(), "client_id").unwrap();
    let answer: Value = http()
        .post(token_endpoint)
        .basic_auth(client_id, Some(secret))
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
    let Some(token) = answer["access_token"].as_str() else {
        eprintln!("COOP's token endpoint refused the code: {answer}");
        std::process::exit(1);
    };
    println!("COOKIE={cookie}");
    println!("TOKEN={token}");
}

/// Time per request through a trivial JSON route, in-process (no sockets), bare and inside the
/// edge layers as `app()` stacks them (without the session layer between them), with the
/// server's log subscriber at `info`.
async fn edges_cost() {
    use axum::routing::get;
    use tower::ServiceExt;
    const N: u32 = 100_000;
    // The server's subscriber (main.rs), writing nowhere: enabled spans cost what they cost there.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::sink)
        .init();
    let route = || {
        axum::Router::new().route(
            "/",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
    };
    let bare = route();
    let edged = route()
        .layer(server::edges::inside_session())
        .layer(server::edges::outside_session());
    let mut figures = Vec::new();
    for app in [bare, edged] {
        let request = || {
            axum::http::Request::get("/")
                .header("cookie", "__Host-topcluck=value")
                .body(axum::body::Body::empty())
                .unwrap()
        };
        for _ in 0..N / 10 {
            app.clone().oneshot(request()).await.unwrap();
        }
        let started = Instant::now();
        for _ in 0..N {
            let response = app.clone().oneshot(request()).await.unwrap();
            let _ = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap();
        }
        figures.push(started.elapsed().as_secs_f64() * 1e6 / f64::from(N));
    }
    println!(
        "the edge layers in-process: {:.1} us per request bare, {:.1} us inside the edges (+{:.1} us)",
        figures[0],
        figures[1],
        figures[1] - figures[0]
    );
}

/// One session's access token expired, many requests at once, split across two instances on
/// one store (the BFF's SQLite file, shared): how many refreshes reach COOP, how many statements
/// the store was sent per renewal, and how many store rows a session costs afterwards. With
/// `metrics`, the two BFFs' `/metrics` afterwards (one recorder in this process, so one scrape).
async fn storm(metrics: bool) {
    let client = reqwest::Client::new();
    let ([first, second], ports) = listeners().await;
    let coop = TestCoop::start_plain(SECRET, |config| {
        config.access_token_ttl = Duration::from_secs(1);
        for client in &mut config.clients {
            client.redirect_uris = ports
                .iter()
                .map(|p| format!("http://127.0.0.1:{p}/callback"))
                .collect();
        }
    })
    .await;
    let data = tempfile::tempdir().unwrap();
    let (a, a_state, scrape_at) = bff(first, &coop, data.path(), metrics).await;
    let (b, b_state, _) = bff(second, &coop, data.path(), false).await;
    let (cookie, _) = a.login("ada").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let stores = [a_state, b_state].map(|state| state.store.unwrap());
    let trips_before: u64 = stores.iter().map(|s| s.round_trips()).sum();
    let started = Instant::now();
    let statuses: Vec<u16> = futures_util::future::join_all((0..STORM).map(|i| {
        let bff = if i % 2 == 0 { &a } else { &b };
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
    let trips: u64 = stores.iter().map(|s| s.round_trips()).sum::<u64>() - trips_before;
    let counters = coop.counters().await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    println!(
        "refresh storm: {STORM} parallel requests with an expired access token, split across two instances on one store"
    );
    println!(
        "  {ok}/{STORM} answered 200 in {elapsed:.2?}; refreshes at COOP: {}; reuse detections: {}; grants revoked: {}",
        counters["token_requests"]["refresh_token"]["ok"],
        counters["reuse_detections"],
        counters["grants_revoked"]
    );
    println!("  store statements for this renewal (both instances, waiters included): {trips}");
    // A lone renewal: what one refresh costs the store.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let lone_before = stores[0].round_trips();
    let renewed = client
        .get(a.url("/api/eggs"))
        .header("cookie", &cookie)
        .header("x-csrf", "1")
        .send()
        .await
        .unwrap();
    println!(
        "  one renewal alone: HTTP {}, {} store statements",
        renewed.status().as_u16(),
        stores[0].round_trips() - lone_before
    );
    let rows = stores[0].row_counts().await.unwrap();
    println!(
        "  store rows for this one session: {} successors, {} leases, {} revoked sessions, {} used login states, {} outbox",
        rows[0], rows[1], rows[2], rows[3], rows[4]
    );
    if let Some(addr) = scrape_at {
        println!("  /metrics of both instances (one recorder in this process):");
        scrape(&format!("http://{addr}/metrics")).await;
    }
}

/// A BFF in this process on `listener`, logging in at `coop` as its `topcluck` client, its
/// vault and store in `data` (shared by the storm's two instances), renewing at expiry (no
/// skew): its address, its state (the store's statement counter), and with `metrics` where it
/// serves `/metrics`.
async fn bff(
    listener: tokio::net::TcpListener,
    coop: &TestCoop,
    data: &std::path::Path,
    metrics: bool,
) -> (Spa, server::state::AppState, Option<std::net::SocketAddr>) {
    let addr = listener.local_addr().unwrap();
    let site = url::Url::parse(&format!("http://{addr}")).unwrap();
    let counting = coop.config.counting_client().unwrap();
    let vars: BTreeMap<String, String> = [
        ("TOPCLUCK_ISSUER", coop.base.clone()),
        ("TOPCLUCK_CLIENT_SECRET", SECRET.to_owned()),
        ("TOPCLUCK_COOKIE_KEYS", COOKIE_KEYS.to_owned()),
        ("TOPCLUCK_API_URL", coop.url("/api")),
        ("TOPCLUCK_COUNTING_CLIENT_ID", counting.id.clone()),
        ("TOPCLUCK_COUNTING_CLIENT_SECRET", counting.secret.clone()),
        ("TOPCLUCK_VAULT_KEYS", VAULT_KEYS.to_owned()),
        ("TOPCLUCK_REFRESH_SKEW", "0".to_owned()),
        ("TOPCLUCK_DATA_DIR", data.to_str().unwrap().to_owned()),
    ]
    .into_iter()
    .chain(metrics.then(|| ("TOPCLUCK_METRICS_ADDR", "127.0.0.1:0".to_owned())))
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = server::settings::Settings::from_vars(&vars, &site, true, data).unwrap();
    let scrape_at = server::metrics::start(settings.metrics_addr).await.unwrap();
    let keys = server::cookies::KeyRing::new(&settings.cookie_keys).unwrap();
    let provider = server::oidc::Provider::new(
        &coop.base,
        &settings.client_id,
        settings.client_secret.clone().expect("a client secret"),
        settings.redirect_uri.as_str(),
    );
    let vault = server::vault::Vault::open(&settings, &settings.data_dir)
        .await
        .unwrap();
    let options = LeptosOptions::builder()
        .output_name("topcluck")
        .site_addr(addr)
        .build();
    let state = server::state::AppState::new(options, settings, provider).with_vault(vault);
    let app = server::app(state.clone(), keys);
    tokio::spawn(async move {
        server::edges::serve(listener, app, std::future::pending())
            .await
            .unwrap()
    });
    (Spa::new(&format!("http://{addr}")), state, scrape_at)
}
