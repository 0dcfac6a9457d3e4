//! A real COOP and real BFFs on loopback sockets, driven over HTTP the way the SPA and a
//! browser would. Shared by the BFF's integration tests.
#![allow(dead_code)]

pub mod postgres;
pub mod processes;
pub mod stores;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coop::{Client, RefreshTokenMode};
use leptos::prelude::LeptosOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::cookies::KeyRing;
use server::oidc::Provider;
use server::settings::Settings;
use server::state::AppState;
use sha2::{Digest, Sha256};

pub const SECRET: &str = "login-test-secret";
/// Daily counting's own client at COOP (a registration of its own, as at a real provider).
pub const COUNTING_CLIENT: &str = coop::COUNTING_CLIENT_ID;
pub const COUNTING_SECRET: &str = "counting-test-secret";
/// The vault key ring every test BFF gets (its database is the store renewals commit to).
pub const VAULT_KEYS: &str = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
pub const OLD_KEY: &str = "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0";
pub const NEW_KEY: &str = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0";

pub struct Harness {
    pub coop: coop::RunningCoop,
    /// The clock every BFF of this harness reads; [`Harness::advance`] moves it with COOP's.
    pub clock: server::clock::Clock,
    dirs: Vec<tempfile::TempDir>,
}

/// A BFF on its own port.
pub struct Bff {
    pub base: String,
    /// Its renewer, when the BFF runs in this process.
    pub renewer: Option<std::sync::Arc<server::renewal::Renewer>>,
    /// Its state, when the BFF runs in this process (the daily job is built from it).
    pub state: Option<AppState>,
}

pub async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Harness {
    /// COOP with clients `topcluck` (the login's) and `topcluck-counting` (daily counting's)
    /// allowed to redirect to BFFs on `ports`.
    pub async fn start(ports: &[u16]) -> Self {
        Self::start_with(ports, |_| {}).await
    }

    pub async fn start_with(ports: &[u16], customize: impl FnOnce(&mut coop::Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = coop::Config::new(dir.path().to_owned(), SECRET.into());
        config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.dev_endpoints = true;
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
        config.clients = vec![
            client("topcluck", SECRET),
            client(COUNTING_CLIENT, COUNTING_SECRET),
        ];
        customize(&mut config);
        let coop = coop::start(config).await.unwrap();
        Self {
            coop,
            clock: server::clock::Clock::default(),
            dirs: vec![dir],
        }
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
        self.dev("faults", faults).await;
    }

    pub async fn clear_faults(&self) {
        let cleared = http()
            .delete(format!("{}/dev/faults", self.coop.issuer))
            .send()
            .await
            .unwrap();
        assert!(cleared.status().is_success());
    }

    /// Reuse detections and grants revoked at COOP: what a replayed refresh token costs.
    pub async fn replays(&self) -> (u64, u64) {
        let counters = self.counters().await;
        (
            counters["reuse_detections"].as_u64().unwrap(),
            counters["grants_revoked"].as_u64().unwrap(),
        )
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
        let addr = listener.local_addr().unwrap();
        let site = url::Url::parse(&format!("http://{addr}")).unwrap();
        let api = format!("{}/api", self.coop.issuer);
        let mut vars: BTreeMap<String, String> = [
            ("TOPCLUCK_ISSUER", self.coop.issuer.as_str()),
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
        let settings = Settings::from_vars(&vars, &site, true, dir.path()).unwrap();
        self.dirs.push(dir);
        let keys = KeyRing::new(&settings.cookie_keys).unwrap();
        let provider = Provider::new(
            &self.coop.issuer,
            &settings.client_id,
            settings.client_secret.clone().expect("a client secret"),
            settings.redirect_uri.as_str(),
        );
        let mut options = LeptosOptions::builder()
            .output_name("topcluck")
            .site_addr(addr)
            .build();
        site_options(&mut options);
        // A vault when the test gives it keys (the daily job's tests).
        let vault = match settings.vault_keys.is_some() {
            true => Some(
                server::vault::Vault::open(&settings, &settings.data_dir)
                    .await
                    .unwrap(),
            ),
            false => None,
        };
        let mut state = AppState::with_clock(options, settings, provider, self.clock.clone());
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
            base: format!("http://{addr}"),
            renewer,
            state: Some(kept),
        }
    }

    pub async fn grants(&self, username: &str) -> Value {
        self.dev_get(&format!("grants?username={username}")).await
    }

    pub async fn counters(&self) -> Value {
        self.dev_get("counters").await
    }

    async fn dev_get(&self, path: &str) -> Value {
        get_json(&format!("{}/dev/{path}", self.coop.issuer)).await
    }

    /// Successful refreshes COOP has answered.
    pub async fn refreshes(&self) -> u64 {
        self.counters().await["token_requests"]["refresh_token"]["ok"]
            .as_u64()
            .unwrap_or(0)
    }

    pub async fn dev(&self, path: &str, body: Value) {
        let response = http()
            .post(format!("{}/dev/{path}", self.coop.issuer))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
    }
}

/// What the SPA keeps in sessionStorage while the farmer is at COOP, and the login-transaction
/// cookie its browser holds.
pub struct Pending {
    pub verifier: String,
    pub state: String,
    /// The nonce the BFF chose for this transaction (the one COOP was sent, unless a test
    /// sent another).
    pub nonce: String,
    pub code: String,
    pub redirect_uri: String,
    /// `name=value` of the `__Host-topcluck-login` cookie `GET /bff/login` set.
    pub login_cookie: String,
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode([7u8; 32]) + "x";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// An answer from the BFF.
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The new session cookie (`name=value`) it sets, if any.
    pub fn cookie(&self) -> Option<String> {
        session_set_cookie(&self.headers).map(|line| line.split(';').next().unwrap().to_owned())
    }
}

impl Bff {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A BFF in another process, reached over HTTP only.
    pub fn external(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            renewer: None,
            state: None,
        }
    }

    /// `GET /bff/login` for `challenge`: what the SPA needs to send the farmer to the provider,
    /// and the `name=value` of the login-transaction cookie it opened.
    pub async fn begin_login(&self, challenge: &str) -> (Value, String) {
        let response = http()
            .get(self.url("/bff/login"))
            .header("x-csrf", "1")
            .query(&[("code_challenge", challenge), ("code_challenge_method", "S256")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|v| v.starts_with("__Host-topcluck-login="))
            .expect("a login-transaction cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        (response.json().await.unwrap(), cookie)
    }

    /// What the SPA needs to send the farmer to the provider (and a transaction nobody uses).
    pub async fn login_parameters(&self) -> Value {
        self.begin_login(&pkce().1).await.0
    }

    /// Does what the SPA does up to `/callback`: a transaction at the BFF for its PKCE
    /// challenge, then COOP's login form (as a browser would); returns the code with what the
    /// SPA and its browser kept.
    pub async fn authorize(&self, farmer: &str) -> Pending {
        self.authorize_with_nonce(farmer, None).await
    }

    /// [`Bff::authorize`], sending COOP `nonce` instead of the transaction's when given.
    pub async fn authorize_with_nonce(&self, farmer: &str, nonce: Option<&str>) -> Pending {
        let (verifier, challenge) = pkce();
        let (parameters, login_cookie) = self.begin_login(&challenge).await;
        let text = |name: &str| parameters[name].as_str().unwrap().to_owned();
        let state = text("state");
        let nonce = nonce.map_or_else(|| text("nonce"), str::to_owned);
        let code = coop_login(&parameters, &challenge, &nonce, farmer).await;
        Pending {
            verifier,
            state,
            nonce,
            code,
            redirect_uri: text("redirect_uri"),
            login_cookie,
        }
    }

    /// `POST /bff/login` as the SPA sends it from the browser that started the login.
    pub async fn complete(&self, pending: &Pending) -> reqwest::Response {
        self.complete_with_cookie(pending, Some(&pending.login_cookie))
            .await
    }

    /// `POST /bff/login` with `cookie` (another browser's, or none) instead of the login's.
    pub async fn complete_with_cookie(&self, pending: &Pending, cookie: Option<&str>) -> reqwest::Response {
        let mut request = http()
            .post(self.url("/bff/login"))
            .header("x-csrf", "1")
            .json(&json!({
                "code": pending.code,
                "code_verifier": pending.verifier,
                "state": pending.state,
                "redirect_uri": pending.redirect_uri,
            }));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// Turns daily counting on for the farmer of `session_cookie`, as the SPA does: a counting
    /// transaction, COOP's login form and consent page (allow), `POST /bff/login`.
    pub async fn enrol(&self, session_cookie: &str, farmer: &str) -> reqwest::Response {
        let (verifier, challenge) = pkce();
        let response = http()
            .get(self.url("/bff/counting/start"))
            .header("x-csrf", "1")
            .header("cookie", session_cookie)
            .query(&[
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "counting could not start");
        let login_cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|v| v.starts_with("__Host-topcluck-login="))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let parameters: Value = response.json().await.unwrap();
        assert_eq!(parameters["prompt"], "consent");
        let nonce = parameters["nonce"].as_str().unwrap().to_owned();
        let code = coop_login(&parameters, &challenge, &nonce, farmer).await;
        http()
            .post(self.url("/bff/login"))
            .header("x-csrf", "1")
            .header("cookie", format!("{session_cookie}; {login_cookie}"))
            .json(&json!({
                "code": code,
                "code_verifier": verifier,
                "state": parameters["state"],
                "redirect_uri": parameters["redirect_uri"],
            }))
            .send()
            .await
            .unwrap()
    }

    /// Logs `farmer` in; returns the `name=value` of the session cookie and its Set-Cookie line.
    pub async fn login(&self, farmer: &str) -> (String, String) {
        self.login_in(None, farmer).await
    }

    /// [`Bff::login`] in the browser that holds the session cookie `session` (a second tab's
    /// login finishing over the first's session); the new session cookie's `name=value`.
    pub async fn login_over(&self, session: &str, farmer: &str) -> String {
        self.login_in(Some(session), farmer).await.0
    }

    async fn login_in(&self, session: Option<&str>, farmer: &str) -> (String, String) {
        let pending = self.authorize(farmer).await;
        let cookies = match session {
            Some(session) => format!("{session}; {}", pending.login_cookie),
            None => pending.login_cookie.clone(),
        };
        let response = self.complete_with_cookie(&pending, Some(&cookies)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let set_cookie = session_set_cookie(response.headers()).expect("a session cookie");
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("eyJ"),
            "a JWT leaked into the login answer: {body}"
        );
        (set_cookie.split(';').next().unwrap().to_owned(), set_cookie)
    }

    /// `POST /bff/logout` as the SPA sends it, with the session cookie `cookie`.
    pub async fn logout(&self, cookie: &str) -> reqwest::Response {
        http()
            .post(self.url("/bff/logout"))
            .header("cookie", cookie)
            .header("x-csrf", "1")
            .send()
            .await
            .unwrap()
    }

    pub async fn session(&self, cookie: Option<&str>) -> (StatusCode, Value) {
        let mut request = http().get(self.url("/bff/session"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// An `/api` call as the SPA makes it (cookie and `X-CSRF: 1`).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        cookie: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = http()
            .request(method, self.url(path))
            .header("cookie", cookie)
            .header("x-csrf", "1");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// A farmer at COOP's authorize endpoint and login form, as a browser: returns the code.
pub async fn coop_login(parameters: &Value, challenge: &str, nonce: &str, farmer: &str) -> String {
    let text = |name: &str| parameters[name].as_str().unwrap().to_owned();
    let mut url = url::Url::parse(&text("authorization_endpoint")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &text("client_id"))
        .append_pair("redirect_uri", &text("redirect_uri"))
        .append_pair("scope", &text("scope"))
        .append_pair("state", &text("state"))
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(prompt) = parameters["prompt"].as_str() {
        url.query_pairs_mut().append_pair("prompt", prompt);
    }
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser
        .get(url.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hidden = |name: &str| {
        let marker = format!(r#"name="{name}" value=""#);
        let start = page.find(&marker).unwrap() + marker.len();
        page[start..start + page[start..].find('"').unwrap()].replace("&amp;", "&")
    };
    let form = [
        ("request", hidden("request")),
        ("csrf", hidden("csrf")),
        ("username", farmer.to_owned()),
    ];
    let mut answer = browser
        .post(url.join("/authorize/login").unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    if answer.status() == StatusCode::OK {
        // COOP's consent page (`prompt=consent`): the farmer allows.
        let page = answer.text().await.unwrap();
        let hidden = |name: &str| {
            let marker = format!(r#"name="{name}" value=""#);
            let start = page.find(&marker).expect("a consent form") + marker.len();
            page[start..start + page[start..].find('"').unwrap()].replace("&amp;", "&")
        };
        let form = [
            ("request", hidden("request")),
            ("csrf", hidden("csrf")),
            ("decision", "allow".to_owned()),
        ];
        answer = browser
            .post(url.join("/authorize/consent").unwrap())
            .form(&form)
            .send()
            .await
            .unwrap();
    }
    let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let query: BTreeMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], text("state"));
    query["code"].clone()
}

pub async fn get_json(url: &str) -> Value {
    http().get(url).send().await.unwrap().json().await.unwrap()
}

pub fn session_set_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("__Host-topcluck="))
}

/// Sends `raw` as the request line's target, byte for byte (clients normalise `..` away);
/// returns the status.
pub async fn raw_get(base: &str, target: &str, cookie: &str) -> u16 {
    let authority = base.trim_start_matches("http://");
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nCookie: {cookie}\r\nX-CSRF: 1\r\nConnection: close\r\n\r\n"
    );
    let (head, _) = raw(base, &request).await;
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

/// Sends `request` as it is (text or any bytes); returns the response head, byte for byte as
/// the server sent it (lower-cased), and the body.
pub async fn raw(base: &str, request: impl AsRef<[u8]>) -> (String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request.as_ref()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (
        String::from_utf8_lossy(&response[..end]).to_ascii_lowercase(),
        response[end + 4..].to_vec(),
    )
}
