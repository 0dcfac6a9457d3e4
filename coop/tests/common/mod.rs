//! A real COOP on a loopback socket with its own data directory, and an HTTP client that acts
//! like a browser (keeps cookies, does not follow redirects) or like a client backend.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coop::{Client, ClientPolicy, Clock, Config, RefreshTokenMode, RunningCoop};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const REDIRECT_URI: &str = "http://127.0.0.1:3000/callback";
pub const POST_LOGOUT_URI: &str = "http://127.0.0.1:3000/";
pub const SECRET: &str = "test-client-secret";
pub const ALL_SCOPES: &str = "openid profile email eggs:read eggs:write";

pub struct TestCoop {
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

    pub async fn start_with(customize: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path().to_owned(), SECRET.into());
        config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.dev_endpoints = true;
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
        customize(&mut config);
        let running = coop::start(config.clone()).await.unwrap();
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
        self.running = Some(coop::start_with_clock(config, clock).await.unwrap());
    }

    /// This COOP's clock, in process.
    pub fn clock(&self) -> &Clock {
        self.running.as_ref().unwrap().clock()
    }

    /// `POST /dev/clock` `{"advance_seconds": seconds}`: the status and the body.
    pub async fn advance_clock(&self, seconds: i64) -> (StatusCode, Value) {
        let response = backend()
            .post(self.url("/dev/clock"))
            .json(&serde_json::json!({ "advance_seconds": seconds }))
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    /// `GET /dev/clock`: `{"now", "offset_seconds"}`.
    pub async fn read_clock(&self) -> Value {
        self.get_json("/dev/clock").await
    }

    /// `POST /dev/faults` with `settings`.
    pub async fn set_faults(&self, settings: Value) {
        let response = backend()
            .post(self.url("/dev/faults"))
            .json(&settings)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    /// `DELETE /dev/faults`.
    pub async fn clear_faults(&self) {
        let response = backend().delete(self.url("/dev/faults")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A farmer logged in through the form, then a code redeemed by `client_id`.
    pub async fn login(&self, client_id: &str, scope: &str) -> Tokens {
        let browser = browser();
        let pkce = Pkce::new();
        let code = self
            .authorize_with_form(&browser, client_id, scope, &pkce, "ada")
            .await;
        self.redeem(client_id, &code, &pkce.verifier).await.expect_ok()
    }

    /// Runs the authorization request in `browser`, logging in as `username` through the form
    /// if asked to; returns the code.
    pub async fn authorize_with_form(
        &self,
        browser: &reqwest::Client,
        client_id: &str,
        scope: &str,
        pkce: &Pkce,
        username: &str,
    ) -> String {
        let response = browser
            .get(self.authorize_url(client_id, scope, pkce, &[]))
            .send()
            .await
            .unwrap();
        let location = if response.status() == StatusCode::OK {
            let page = response.text().await.unwrap();
            let response = self.submit_login(browser, &page, username).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "login form refused");
            location(&response)
        } else {
            location(&response)
        };
        let query = query_of(&location);
        query
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code in {location}"))
    }

    /// Runs an authorization request with `prompt=consent` in `browser`, logging in as
    /// `username` through the form if asked to; returns the consent page.
    pub async fn consent_page(
        &self,
        browser: &reqwest::Client,
        client_id: &str,
        scope: &str,
        pkce: &Pkce,
        username: &str,
    ) -> String {
        let response = browser
            .get(self.authorize_url(client_id, scope, pkce, &[("prompt", "consent")]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "no page for prompt=consent");
        let page = response.text().await.unwrap();
        if !page.contains("/authorize/login") {
            return page;
        }
        let response = self.submit_login(browser, &page, username).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "no consent page after the login"
        );
        response.text().await.unwrap()
    }

    /// Posts the consent page's form with `decision` (`allow` or `deny`).
    pub async fn submit_consent(
        &self,
        browser: &reqwest::Client,
        page: &str,
        decision: &str,
    ) -> reqwest::Response {
        let form = [
            ("request", hidden(page, "request")),
            ("csrf", hidden(page, "csrf")),
            ("decision", decision.to_owned()),
        ];
        browser
            .post(self.url("/authorize/consent"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// `username` logs in in `browser` and allows `client_id` `scope` on the consent page
    /// (`prompt=consent`); the code redeemed.
    pub async fn consented_login(
        &self,
        browser: &reqwest::Client,
        client_id: &str,
        scope: &str,
        username: &str,
    ) -> Tokens {
        let pkce = Pkce::new();
        let page = self
            .consent_page(browser, client_id, scope, &pkce, username)
            .await;
        let response = self.submit_consent(browser, &page, "allow").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "consent refused");
        let code = query_of(&location(&response))["code"].clone();
        self.redeem(client_id, &code, &pkce.verifier).await.expect_ok()
    }

    /// `GET /dev/grants?username=`: the farmer's grants, newest first.
    pub async fn grants(&self, username: &str) -> Vec<Value> {
        let listed = self.get_json(&format!("/dev/grants?username={username}")).await;
        listed["grants"].as_array().unwrap().clone()
    }

    /// `POST /dev/grants/revoke` with `body`: the status and the body.
    pub async fn revoke_grants(&self, body: Value) -> (StatusCode, Value) {
        let response = backend()
            .post(self.url("/dev/grants/revoke"))
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    pub async fn submit_login(
        &self,
        browser: &reqwest::Client,
        page: &str,
        username: &str,
    ) -> reqwest::Response {
        let form = [
            ("request", hidden(page, "request")),
            ("csrf", hidden(page, "csrf")),
            ("username", username.to_owned()),
        ];
        browser
            .post(self.url("/authorize/login"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub fn authorize_url(&self, client_id: &str, scope: &str, pkce: &Pkce, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", scope)
            .append_pair("state", "state-123")
            .append_pair("nonce", "nonce-456")
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .extend_pairs(extra);
        url.to_string()
    }

    pub async fn redeem(&self, client_id: &str, code: &str, verifier: &str) -> TokenAnswer {
        self.token(
            client_id,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    pub async fn refresh(&self, client_id: &str, refresh_token: &str, scope: Option<&str>) -> TokenAnswer {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token(client_id, &form).await
    }

    /// The secret registered for `client_id`; [`SECRET`] for a client COOP does not know.
    pub fn secret_of(&self, client_id: &str) -> &str {
        self.config
            .client(client_id)
            .map_or(SECRET, |client| client.secret.as_str())
    }

    /// A token request authenticated with `client_secret_basic`.
    pub async fn token(&self, client_id: &str, form: &[(&str, &str)]) -> TokenAnswer {
        let response = backend()
            .post(self.url("/token"))
            .basic_auth(client_id, Some(self.secret_of(client_id)))
            .form(form)
            .send()
            .await
            .unwrap();
        TokenAnswer::read(response).await
    }

    /// `GET path` as a client backend, its JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        backend()
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn counters(&self) -> Value {
        self.get_json("/dev/counters").await
    }

    /// How many rows each table of the store holds (`rows` of `GET /dev/counters`).
    pub async fn rows(&self) -> Value {
        self.counters().await["rows"].clone()
    }

    /// A browser logged in to COOP as `username`, and what `client_id` redeemed from it.
    pub async fn browser_login(
        &self,
        client_id: &str,
        scope: &str,
        username: &str,
    ) -> (reqwest::Client, Tokens) {
        let browser = browser();
        let pkce = Pkce::new();
        let code = self
            .authorize_with_form(&browser, client_id, scope, &pkce, username)
            .await;
        let tokens = self.redeem(client_id, &code, &pkce.verifier).await.expect_ok();
        (browser, tokens)
    }

    /// True when `browser` still has a COOP session: `prompt=none` answers with a code.
    pub async fn session_alive(&self, browser: &reqwest::Client) -> bool {
        let silent = self.authorize_url("topcluck", "openid", &Pkce::new(), &[("prompt", "none")]);
        let response = browser.get(silent).send().await.unwrap();
        response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| query_of(l).contains_key("code"))
    }

    /// True when the egg API still accepts `access_token` (its grant was not revoked).
    pub async fn token_alive(&self, access_token: &str) -> bool {
        let (status, _, _) = self
            .api(reqwest::Method::GET, "/api/me", access_token, None)
            .await;
        status == StatusCode::OK
    }

    /// `/end-session` with these query parameters.
    pub fn end_session_url(&self, pairs: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/end-session")).unwrap();
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        url.to_string()
    }

    /// A token request with this `Authorization` header, if any, and this form.
    pub async fn token_with_authorization(
        &self,
        authorization: Option<&str>,
        form: &[(&str, &str)],
    ) -> TokenAnswer {
        let mut request = backend().post(self.url("/token")).form(form);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        TokenAnswer::read(request.send().await.unwrap()).await
    }

    /// `POST /revoke` of `token` by `client_id` (`client_secret_basic`): the status and body.
    pub async fn revoke(&self, client_id: &str, token: &str) -> (StatusCode, Value) {
        self.revoke_with(client_id, &[("token", token)]).await
    }

    /// `POST /revoke` with this form by `client_id` (`client_secret_basic`): the status and body.
    pub async fn revoke_with(&self, client_id: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.client_post("/revoke", client_id, form).await
    }

    /// `POST /introspect` of `token` by `client_id` (`client_secret_basic`): the status and body.
    pub async fn introspect(&self, client_id: &str, token: &str) -> (StatusCode, Value) {
        self.introspect_with(client_id, &[("token", token)]).await
    }

    /// `POST /introspect` with this form by `client_id` (`client_secret_basic`): the status and
    /// body.
    pub async fn introspect_with(&self, client_id: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.client_post("/introspect", client_id, form).await
    }

    /// `POST path` with this form as `client_id` (`client_secret_basic`): the status and body.
    async fn client_post(&self, path: &str, client_id: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = backend()
            .post(self.url(path))
            .basic_auth(client_id, Some(self.secret_of(client_id)))
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    /// Whether `/introspect` says `client_id`'s `token` is active (asserting a 200 answer).
    pub async fn active(&self, client_id: &str, token: &str) -> bool {
        let (status, body) = self.introspect(client_id, token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["active"]
            .as_bool()
            .unwrap_or_else(|| panic!("no active in {body}"))
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        access_token: &str,
        body: Option<&str>,
    ) -> (StatusCode, String, Option<String>) {
        let mut request = backend()
            .request(method, self.url(path))
            .bearer_auth(access_token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status(), response.text().await.unwrap(), challenge)
    }
}

/// `Basic base64(id:secret)` with this scheme name (any case).
pub fn basic(scheme: &str, id: &str, secret: &str) -> String {
    use base64::engine::general_purpose::STANDARD;
    format!("{scheme} {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// The table of bad inputs issue 10 asks for: every row is a bad request, the answer
/// expected and the answer seen, printed as `ROW|area|request|expected|seen` (see them with
/// `-- --nocapture`). [`BadInputs::finish`] fails if any row differs or any answer was a 5xx,
/// after every row has run and been printed.
#[derive(Default)]
pub struct BadInputs {
    failed: Vec<String>,
    server_errors: Vec<String>,
}

impl BadInputs {
    /// One row: `seen` is written like `expected`, so they compare as strings; `status` is the
    /// answer's HTTP status.
    pub fn row(&mut self, area: &str, request: &str, expected: &str, seen: &str, status: StatusCode) {
        println!("ROW|{area}|{request}|{expected}|{seen}");
        if seen != expected {
            self.failed
                .push(format!("{area} {request}: expected {expected}, saw {seen}"));
        }
        if status.is_server_error() {
            self.server_errors.push(format!("{area} {request}: {status}"));
        }
    }

    pub fn finish(self) {
        assert!(
            self.server_errors.is_empty(),
            "5xx answers: {:#?}",
            self.server_errors
        );
        assert!(self.failed.is_empty(), "rows that differ: {:#?}", self.failed);
    }
}

/// A browser: keeps cookies, shows redirects instead of following them.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client backend: no cookies, no redirects.
pub fn backend() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self { verifier, challenge }
    }
}

fn rand_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap();
    bytes
}

/// A token endpoint's answer.
pub struct TokenAnswer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl TokenAnswer {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Self {
            status,
            body,
            headers,
        }
    }

    pub fn expect_ok(self) -> Tokens {
        assert_eq!(self.status, StatusCode::OK, "token request failed: {}", self.body);
        serde_json::from_value(self.body).unwrap()
    }

    /// Asserts an RFC 6749 error with this status and code.
    pub fn expect_error(&self, status: StatusCode, code: &str) {
        assert_eq!(
            (self.status, self.body["error"].as_str()),
            (status, Some(code)),
            "{}",
            self.body
        );
        assert_eq!(self.headers.get("cache-control").unwrap(), "no-store");
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub scope: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location; status {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// The value of a hidden input in COOP's login, logout or consent form.
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end]
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
}

/// The claims of a JWT, without checking it (tests check signatures separately).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}
