//! A real COOP on a loopback socket with its own data directory: configured by the test, with
//! its clock (in process, or moved through `/dev/clock`), its fault switch (`/dev/faults`), its
//! counters and its farmers' grants (`/dev/counters`, `/dev/grants`).

use std::net::SocketAddr;

use reqwest::StatusCode;
use serde_json::Value;

use super::http::backend;
use crate::{Client, ClientPolicy, Clock, Config, ParMode, RefreshTokenMode, RunningCoop};

/// Where [`TestCoop::start`]'s clients may send the farmer back to.
pub const REDIRECT_URI: &str = "http://127.0.0.1:3000/callback";
pub const POST_LOGOUT_URI: &str = "http://127.0.0.1:3000/";
/// The secret of [`TestCoop::start`]'s clients (the counting client's is derived from it).
pub const SECRET: &str = "test-client-secret";
pub const ALL_SCOPES: &str = "openid profile email eggs:read eggs:write";

pub struct TestCoop {
    /// Its issuer, `http://127.0.0.1:port`.
    pub base: String,
    pub config: Config,
    running: Option<RunningCoop>,
    _dir: tempfile::TempDir,
}

fn client(id: &str, mode: RefreshTokenMode) -> Client {
    Client {
        id: id.into(),
        secret: SECRET.into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: vec![POST_LOGOUT_URI.into()],
        refresh_token_mode: mode,
    }
}

impl TestCoop {
    /// COOP with four clients: `topcluck` (rotation), `reuser` (reuse mode), `norefresh`, and
    /// `topcluck-counting` as [`Config::new`] registers it (rotation, its own secret: the kit's
    /// requests send each client's registered secret); all but `norefresh` may ask for
    /// `offline_access`.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// [`TestCoop::start`]'s COOP, its configuration then changed by `customize`.
    pub async fn start_with(customize: impl FnOnce(&mut Config)) -> Self {
        Self::start_plain(SECRET, |config| {
            let counting = config
                .counting_client()
                .cloned()
                .expect("Config::new registers the counting client");
            config.clients = vec![
                client("topcluck", RefreshTokenMode::Rotate),
                client("reuser", RefreshTokenMode::Reuse),
                client("norefresh", RefreshTokenMode::None),
                counting,
            ];
            for (id, name, offline_access) in [
                ("topcluck", "TopCluck", true),
                ("reuser", "Reuser", true),
                ("norefresh", "No Refresh", false),
            ] {
                config.client_policies.insert(
                    id.into(),
                    ClientPolicy {
                        display_name: name.into(),
                        offline_access,
                    },
                );
            }
            customize(config);
        })
        .await
    }

    /// [`TestCoop::start`]'s COOP with pushed authorization requests `par` (RFC 9126: off, on
    /// or required) and, when `iss_parameter` is false, no `iss` on authorization responses
    /// (RFC 9207).
    pub async fn with_authorization(par: ParMode, iss_parameter: bool) -> Self {
        Self::start_with(|config| {
            config.par = par;
            config.iss_parameter = iss_parameter;
        })
        .await
    }

    /// COOP as [`Config::new`] makes it for `client_secret` (its clients and policies), on a free
    /// loopback port with its development endpoints, changed by `customize`.
    pub async fn start_plain(client_secret: &str, customize: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path().to_owned(), client_secret.into());
        config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.dev_endpoints = true;
        customize(&mut config);
        let running = crate::start(config.clone()).await.unwrap();
        Self {
            base: running.issuer.clone(),
            config,
            running: Some(running),
            _dir: dir,
        }
    }

    /// Stops the process's server and starts a new one on the same address, data and clock.
    pub async fn restart(&mut self) {
        let running = self.running.take().unwrap();
        let addr = running.addr;
        let clock = running.clock().clone();
        running.stop().await;
        let mut config = self.config.clone();
        config.addr = addr;
        config.issuer = Some(self.base.clone());
        self.running = Some(crate::start_with_clock(config, clock).await.unwrap());
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// This COOP's clock, in process.
    pub fn clock(&self) -> &Clock {
        self.running.as_ref().unwrap().clock()
    }

    /// `POST /dev/clock` `{"advance_seconds": seconds}`: the status and the body.
    pub async fn advance_clock(&self, seconds: i64) -> (StatusCode, Value) {
        self.dev_post("/dev/clock", &serde_json::json!({ "advance_seconds": seconds }))
            .await
    }

    /// `GET /dev/clock`: `{"now", "offset_seconds"}`.
    pub async fn read_clock(&self) -> Value {
        self.get_json("/dev/clock").await
    }

    /// `POST /dev/faults` with `settings` (`unavailable_seconds`, `latency_ms`,
    /// `answer_delay_ms`, …).
    pub async fn set_faults(&self, settings: Value) {
        let (status, body) = self.dev_post("/dev/faults", &settings).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "/dev/faults: {body}");
    }

    /// `DELETE /dev/faults`.
    pub async fn clear_faults(&self) {
        let response = backend().delete(self.url("/dev/faults")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    /// `GET /dev/grants?username=`: the farmer's grants, newest first.
    pub async fn grants(&self, username: &str) -> Vec<Value> {
        let listed = self.grants_document(username).await;
        listed["grants"].as_array().unwrap().clone()
    }

    /// `GET /dev/grants?username=` as COOP answers it.
    pub async fn grants_document(&self, username: &str) -> Value {
        self.get_json(&format!("/dev/grants?username={username}")).await
    }

    /// `POST /dev/grants/revoke` with `body`: the status and the body.
    pub async fn revoke_grants(&self, body: Value) -> (StatusCode, Value) {
        self.dev_post("/dev/grants/revoke", &body).await
    }

    /// `POST path` (a `/dev/…` endpoint) with this JSON body: the status and the body.
    pub async fn dev_post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = backend().post(self.url(path)).json(body).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` as a client backend, its JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        super::http::get_json(&self.url(path)).await
    }

    /// `GET /dev/counters`.
    pub async fn counters(&self) -> Value {
        self.get_json("/dev/counters").await
    }

    /// How many rows each table of the store holds (`rows` of `GET /dev/counters`).
    pub async fn rows(&self) -> Value {
        self.counters().await["rows"].clone()
    }

    /// Successful refreshes COOP has answered.
    pub async fn refreshes(&self) -> u64 {
        self.counters().await["token_requests"]["refresh_token"]["ok"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Code redemptions COOP has answered, whatever their outcome.
    pub async fn code_redemptions(&self) -> u64 {
        self.counters().await["token_requests"]["authorization_code"]
            .as_object()
            .map_or(0, |outcomes| outcomes.values().filter_map(Value::as_u64).sum())
    }

    /// Requests `POST /par` answered with this outcome (`ok` or an error code).
    pub async fn pushed_requests(&self, outcome: &str) -> u64 {
        self.counters().await["pushed_requests"][outcome]
            .as_u64()
            .unwrap_or(0)
    }

    /// Reuse detections and grants revoked: what a replayed refresh token costs.
    pub async fn replays(&self) -> (u64, u64) {
        let counters = self.counters().await;
        (
            counters["reuse_detections"].as_u64().unwrap(),
            counters["grants_revoked"].as_u64().unwrap(),
        )
    }
}
