//! The server's own part of the test kit; the rest — COOP, the browser and SPA drivers, the
//! bad-input table, HTTP, processes, PostgreSQL — is `coop::testkit`, re-exported here.
//! [`Harness`]: a real COOP registered as TopCluck's provider for BFFs on given ports, and
//! real BFFs started in this process on loopback sockets; [`processes`]: the server binary.
#![allow(dead_code)]

pub mod processes;
pub mod stores;

use std::collections::BTreeMap;
use std::ops::Deref;
use std::time::Duration;

pub use coop::testkit::*;
use coop::{Client, RefreshTokenMode};
use leptos::prelude::LeptosOptions;
use serde_json::Value;
use server::cookies::KeyRing;
use server::oidc::Provider;
use server::settings::Settings;
use server::state::AppState;

pub const SECRET: &str = "login-test-secret";
/// Daily counting's own client at COOP (a registration of its own, as at a real provider).
pub const COUNTING_CLIENT: &str = coop::COUNTING_CLIENT_ID;
pub const COUNTING_SECRET: &str = "counting-test-secret";
/// The vault key ring every test BFF gets (its database is the store renewals commit to).
pub const VAULT_KEYS: &str = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
pub const OLD_KEY: &str = "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0";
pub const NEW_KEY: &str = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0";

pub struct Harness {
    pub coop: TestCoop,
    /// The clock every BFF of this harness reads; [`Harness::advance`] moves it with COOP's.
    pub clock: server::clock::Clock,
    dirs: Vec<tempfile::TempDir>,
}

/// A BFF on its own port, driven as the SPA drives it (its [`Spa`]).
pub struct Bff {
    spa: Spa,
    /// Its renewer, when the BFF runs in this process.
    pub renewer: Option<std::sync::Arc<server::renewal::Renewer>>,
    /// Its state, when the BFF runs in this process (the daily job is built from it).
    pub state: Option<AppState>,
    /// Where it serves `/metrics` (`TOPCLUCK_METRICS_ADDR`), when it runs in this process.
    pub metrics: Option<std::net::SocketAddr>,
}

impl Deref for Bff {
    type Target = Spa;

    fn deref(&self) -> &Spa {
        &self.spa
    }
}

impl Bff {
    /// A BFF in another process, reached over HTTP only.
    pub fn external(base: &str) -> Self {
        Self {
            spa: Spa::new(base),
            renewer: None,
            state: None,
            metrics: None,
        }
    }
}

impl Harness {
    /// COOP with clients `topcluck` (the login's) and `topcluck-counting` (daily counting's)
    /// allowed to redirect to BFFs on `ports`.
    pub async fn start(ports: &[u16]) -> Self {
        Self::start_with(ports, |_| {}).await
    }

    pub async fn start_with(ports: &[u16], customize: impl FnOnce(&mut coop::Config)) -> Self {
        let client = |id: &str, secret: &str| Client {
            id: id.into(),
            secret: secret.into(),
            redirect_uris: ports
                .iter()
                .map(|p| format!("http://127.0.0.1:{p}/callback"))
                .collect(),
            post_logout_redirect_uris: ports.iter().map(|p| format!("http://127.0.0.1:{p}/")).collect(),
            refresh_token_mode: RefreshTokenMode::Rotate,
        };
        let coop = TestCoop::start_plain(SECRET, |config| {
            config.clients = vec![
                client("topcluck", SECRET),
                client(COUNTING_CLIENT, COUNTING_SECRET),
            ];
            customize(config);
        })
        .await;
        Self {
            coop,
            clock: server::clock::Clock::default(),
            dirs: Vec::new(),
        }
    }

    /// COOP and one BFF with the cookie key [`NEW_KEY`].
    pub async fn with_one_bff() -> (Self, Bff) {
        Self::with_one_bff_and(|_| {}).await
    }

    /// [`Harness::with_one_bff`] with COOP's configuration changed by `customize` (no pushed
    /// authorization requests, no `iss`: `config.par`, `config.iss_parameter`).
    pub async fn with_one_bff_and(customize: impl FnOnce(&mut coop::Config)) -> (Self, Bff) {
        let listener = listener().await;
        let mut harness = Self::start_with(&[listener.local_addr().unwrap().port()], customize).await;
        let bff = harness.bff(listener, NEW_KEY).await;
        (harness, bff)
    }

    /// COOP whose clients have refresh tokens of `mode`, with this access-token TTL.
    pub async fn with_mode(ports: &[u16], mode: RefreshTokenMode, access_token_ttl: Duration) -> Self {
        Self::start_with(ports, |config| {
            for client in &mut config.clients {
                client.refresh_token_mode = mode;
            }
            config.access_token_ttl = access_token_ttl;
        })
        .await
    }

    /// Moves COOP's clock and the BFFs' clock forward together: tokens expire without a sleep.
    pub fn advance(&self, by: Duration) {
        self.coop.clock().advance(by);
        self.clock.advance(by);
    }

    /// Sets COOP's fault switch (`unavailable_seconds`, `latency_ms`, `answer_delay_ms`).
    pub async fn faults(&self, faults: Value) {
        self.coop.set_faults(faults).await;
    }

    pub async fn clear_faults(&self) {
        self.coop.clear_faults().await;
    }

    /// Reuse detections and grants revoked at COOP: what a replayed refresh token costs.
    pub async fn replays(&self) -> (u64, u64) {
        self.coop.replays().await
    }

    /// `GET /dev/grants?username=` at COOP.
    pub async fn grants(&self, username: &str) -> Value {
        self.coop.grants_document(username).await
    }

    pub async fn counters(&self) -> Value {
        self.coop.counters().await
    }

    /// Successful refreshes COOP has answered.
    pub async fn refreshes(&self) -> u64 {
        self.coop.refreshes().await
    }

    /// `POST /dev/{path}` at COOP with `body`; asserts a 2xx.
    pub async fn dev(&self, path: &str, body: Value) {
        let (status, _) = self.coop.dev_post(&format!("/dev/{path}"), &body).await;
        assert!(status.is_success(), "{path}: {status}");
    }

    /// Starts a BFF on `listener` with these cookie keys, proxying `/api` to COOP's egg API.
    pub async fn bff(&mut self, listener: tokio::net::TcpListener, keys: &str) -> Bff {
        self.bff_with(listener, keys, &[]).await
    }

    /// [`Harness::bff`] with more `TOPCLUCK_*` variables.
    pub async fn bff_with(
        &mut self,
        listener: tokio::net::TcpListener,
        keys: &str,
        extra: &[(&str, &str)],
    ) -> Bff {
        self.bff_with_site(listener, keys, extra, |_| {}).await
    }

    /// [`Harness::bff_with`] with its Leptos options changed by `site_options` (the site root, hash
    /// files).
    pub async fn bff_with_site(
        &mut self,
        listener: tokio::net::TcpListener,
        keys: &str,
        extra: &[(&str, &str)],
        site_options: impl FnOnce(&mut LeptosOptions),
    ) -> Bff {
        let api = self.coop.url("/api");
        let mut vars: BTreeMap<String, String> = [
            ("TOPCLUCK_ISSUER", self.coop.base.as_str()),
            ("TOPCLUCK_CLIENT_SECRET", SECRET),
            ("TOPCLUCK_COOKIE_KEYS", keys),
            ("TOPCLUCK_API_URL", api.as_str()),
            ("TOPCLUCK_COUNTING_CLIENT_ID", COUNTING_CLIENT),
            ("TOPCLUCK_COUNTING_CLIENT_SECRET", COUNTING_SECRET),
            ("TOPCLUCK_VAULT_KEYS", VAULT_KEYS),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let dir = tempfile::tempdir().unwrap();
        let bff = start_bff(listener, &vars, dir.path(), self.clock.clone(), site_options).await;
        self.dirs.push(dir);
        bff
    }
}

/// A BFF in this process on `listener`, configured by `vars` (data in `dir`) and reading
/// `clock`, served by the production accept loop; its provider is `TOPCLUCK_ISSUER` exactly
/// as configured. A vault when `vars` give it keys.
pub async fn start_bff(
    listener: tokio::net::TcpListener,
    vars: &BTreeMap<String, String>,
    dir: &std::path::Path,
    clock: server::clock::Clock,
    site_options: impl FnOnce(&mut LeptosOptions),
) -> Bff {
    let addr = listener.local_addr().unwrap();
    let site = url::Url::parse(&format!("http://{addr}")).unwrap();
    let settings = Settings::from_vars(vars, &site, true, dir).unwrap();
    let keys = KeyRing::new(&settings.cookie_keys).unwrap();
    // As main.rs: `/metrics` on its own listener when TOPCLUCK_METRICS_ADDR is set.
    let metrics = server::metrics::start(settings.metrics_addr).await.unwrap();
    let provider = Provider::new(
        &vars["TOPCLUCK_ISSUER"],
        &settings.client_id,
        settings.client_secret.clone().expect("a client secret"),
        settings.redirect_uri.as_str(),
    );
    let mut options = LeptosOptions::builder()
        .output_name("topcluck")
        .site_addr(addr)
        .build();
    site_options(&mut options);
    let vault = match settings.vault_keys.is_some() {
        true => Some(
            server::vault::Vault::open(&settings, &settings.data_dir)
                .await
                .unwrap(),
        ),
        false => None,
    };
    let mut state = AppState::with_clock(options, settings, provider, clock);
    if let Some(vault) = vault {
        state = state.with_vault(vault);
    }
    let renewer = Some(state.renewer.clone());
    let kept = state.clone();
    let app = server::app(state, keys);
    // The production accept loop (TCP_NODELAY, header timeout), as main.rs serves.
    tokio::spawn(async move {
        server::edges::serve(listener, app, std::future::pending())
            .await
            .unwrap()
    });
    Bff {
        spa: Spa::new(&format!("http://{addr}")),
        renewer,
        state: Some(kept),
        metrics,
    }
}
