//! What TopCluck's SPA and its browser do against a BFF, over HTTP only: start a login
//! (`GET /bff/login`), follow the authorize URL it answers ([`authorize_url`]: only `client_id`
//! and `request_uri` for a pushed request, RFC 9126 §4), walk COOP's forms ([`sign_in`]), finish it (`POST /bff/login`, with the callback's `state`
//! and `iss`), turn daily counting on, log out, read the session and call `/api`. The server's tests wrap a
//! [`Spa`] around each BFF they start; the proxy benchmark uses one on a release build.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::browser::pkce;
use super::callback::{authorize_url, coop_login, coop_login_in, query_value, with_nonce};
use super::http::http;

/// The BFF's session cookie's name, and its login-transaction cookie's.
const SESSION_COOKIE: &str = "__Host-topcluck=";
const LOGIN_COOKIE: &str = "__Host-topcluck-login=";

/// A BFF at `base`, driven as the SPA drives it.
#[derive(Clone, Debug)]
pub struct Spa {
    /// `http://127.0.0.1:port`.
    pub base: String,
}

/// What the SPA keeps in sessionStorage while the farmer is at COOP, and the login-transaction
/// cookie its browser holds.
pub struct Pending {
    pub verifier: String,
    pub state: String,
    /// The nonce the BFF chose for this transaction (the one COOP was sent, unless a test
    /// sent another); `None` when the BFF pushed the request (the SPA never sees it).
    pub nonce: Option<String>,
    pub code: String,
    pub redirect_uri: String,
    /// `name=value` of the `__Host-topcluck-login` cookie `GET /bff/login` set.
    pub login_cookie: String,
    /// The callback's `iss` (RFC 9207), passed on as the SPA does.
    pub iss: Option<String>,
    /// The authorize URL the browser was sent to.
    pub authorize_url: String,
}

impl Pending {
    /// The body of `POST /bff/login` that finishes this login.
    pub fn exchange(&self) -> Value {
        json!({
            "code": self.code,
            "code_verifier": self.verifier,
            "state": self.state,
            "redirect_uri": self.redirect_uri,
            "iss": self.iss,
        })
    }
}

/// An answer from the BFF.
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// `response` read whole: its status, headers and JSON body (`Null` when it has none).
    pub async fn read(response: reqwest::Response) -> Self {
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    /// The new session cookie (`name=value`) it sets, if any.
    pub fn cookie(&self) -> Option<String> {
        session_set_cookie(&self.headers).map(|line| first_pair(&line))
    }
}

/// The `Set-Cookie` line of the BFF's session cookie, if these headers set it.
pub fn session_set_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    set_cookie(headers, SESSION_COOKIE)
}

/// `name=value` of the login-transaction cookie these headers set, if any.
pub fn login_cookie_of(headers: &reqwest::header::HeaderMap) -> Option<String> {
    set_cookie(headers, LOGIN_COOKIE).map(|line| first_pair(&line))
}

fn set_cookie(headers: &reqwest::header::HeaderMap, prefix: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(prefix))
}

/// `name=value` of a `Set-Cookie` line.
fn first_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

impl Spa {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` (`/bff/login` or `/bff/counting/start`) for `challenge` with these cookies and
    /// `extra` query parameters (the silent login's `prompt=none`): the BFF's answer.
    pub async fn start_transaction(
        &self,
        path: &str,
        challenge: &str,
        cookie: Option<&str>,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = http()
            .get(self.url(path))
            .header("x-csrf", "1")
            .query(&[("code_challenge", challenge), ("code_challenge_method", "S256")])
            .query(extra);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// [`Spa::start_transaction`], which must open one: what the SPA needs to send the farmer
    /// to the provider, and the `name=value` of the login-transaction cookie it opened.
    async fn open_transaction(&self, path: &str, challenge: &str, cookie: Option<&str>) -> (Value, String) {
        let response = self.start_transaction(path, challenge, cookie, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}: no transaction");
        let cookie = set_cookie(response.headers(), LOGIN_COOKIE).expect("a login-transaction cookie");
        (response.json().await.unwrap(), first_pair(&cookie))
    }

    /// `GET /bff/login` for `challenge`: what the SPA needs to send the farmer to the provider,
    /// and the `name=value` of the login-transaction cookie it opened.
    pub async fn begin_login(&self, challenge: &str) -> (Value, String) {
        self.open_transaction("/bff/login", challenge, None).await
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

    /// [`Spa::authorize`], sending COOP `nonce` instead of the transaction's when given (only
    /// without PAR: a pushed request's nonce is the BFF's, out of the browser's reach).
    pub async fn authorize_with_nonce(&self, farmer: &str, nonce: Option<&str>) -> Pending {
        let (verifier, challenge) = pkce();
        let (parameters, login_cookie) = self.begin_login(&challenge).await;
        let text = |name: &str| parameters[name].as_str().unwrap().to_owned();
        let mut url = authorize_url(&parameters);
        if let Some(nonce) = nonce {
            url = with_nonce(&url, nonce);
        }
        let callback = coop_login(&url, &text("state"), farmer).await;
        Pending {
            verifier,
            state: text("state"),
            nonce: query_value(&url, "nonce"),
            code: callback.code(),
            redirect_uri: text("redirect_uri"),
            login_cookie,
            iss: callback.query.get("iss").cloned(),
            authorize_url: callback.authorize_url,
        }
    }

    /// `POST /bff/login` as the SPA sends it from the browser that started the login.
    pub async fn complete(&self, pending: &Pending) -> reqwest::Response {
        self.complete_with_cookie(pending, Some(&pending.login_cookie))
            .await
    }

    /// `POST /bff/login` with `cookie` (another browser's, or none) instead of the login's.
    pub async fn complete_with_cookie(&self, pending: &Pending, cookie: Option<&str>) -> reqwest::Response {
        self.post_login(&pending.exchange(), cookie).await
    }

    /// `POST /bff/login` with this body and these cookies.
    pub async fn post_login(&self, exchange: &Value, cookie: Option<&str>) -> reqwest::Response {
        let mut request = http()
            .post(self.url("/bff/login"))
            .header("x-csrf", "1")
            .json(exchange);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// Turns daily counting on for the farmer of `session_cookie`, as the SPA does: a counting
    /// transaction, COOP's login form and consent page (allow), `POST /bff/login`.
    pub async fn enrol(&self, session_cookie: &str, farmer: &str) -> reqwest::Response {
        let (exchange, cookies) = self.enrol_exchange(session_cookie, farmer).await;
        self.post_login(&exchange, Some(&cookies)).await
    }

    /// [`Spa::enrol`] up to `/callback`: the body of the `POST /bff/login` that finishes it, and
    /// the cookies it is sent with.
    pub async fn enrol_exchange(&self, session_cookie: &str, farmer: &str) -> (Value, String) {
        let (verifier, challenge) = pkce();
        let (parameters, login_cookie) = self
            .open_transaction("/bff/counting/start", &challenge, Some(session_cookie))
            .await;
        let url = authorize_url(&parameters);
        if query_value(&url, "request_uri").is_none() {
            assert_eq!(query_value(&url, "prompt").as_deref(), Some("consent"));
        }
        let callback = coop_login(&url, parameters["state"].as_str().unwrap(), farmer).await;
        let exchange = json!({
            "code": callback.code(),
            "code_verifier": verifier,
            "state": parameters["state"],
            "redirect_uri": parameters["redirect_uri"],
            "iss": callback.query.get("iss"),
        });
        (exchange, format!("{session_cookie}; {login_cookie}"))
    }

    /// Logs `farmer` in; returns the `name=value` of the session cookie and its Set-Cookie line.
    pub async fn login(&self, farmer: &str) -> (String, String) {
        self.login_in(None, farmer).await
    }

    /// Logs `farmer` in through COOP in `browser`, which keeps the COOP session (to log out of
    /// COOP later: [`crate::testkit::TestCoop::end_session_confirmed`]); the `name=value` of the
    /// TopCluck session cookie.
    pub async fn login_at_coop(&self, browser: &reqwest::Client, farmer: &str) -> String {
        let (exchange, login_cookie) = self.authorized_at_coop(browser, farmer).await;
        let response = self.post_login(&exchange, Some(&login_cookie)).await;
        assert_eq!(response.status(), StatusCode::OK, "login through COOP refused");
        first_pair(&session_set_cookie(response.headers()).expect("a session cookie"))
    }

    /// The first half of [`Spa::login_at_coop`]: `farmer` through COOP in `browser`, back at the
    /// callback; the body of the `POST /bff/login` that would finish the login, and the
    /// `name=value` of its login-transaction cookie.
    pub async fn authorized_at_coop(&self, browser: &reqwest::Client, farmer: &str) -> (Value, String) {
        let (verifier, challenge) = pkce();
        let (parameters, login_cookie) = self.begin_login(&challenge).await;
        let state = parameters["state"].as_str().unwrap().to_owned();
        let callback = coop_login_in(browser, &authorize_url(&parameters), &state, farmer).await;
        let exchange = json!({
            "code": callback.code(),
            "code_verifier": verifier,
            "state": state,
            "redirect_uri": parameters["redirect_uri"],
            "iss": callback.query.get("iss"),
        });
        (exchange, login_cookie)
    }

    /// [`Spa::login`] in the browser that holds the session cookie `session` (a second tab's
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
        (first_pair(&set_cookie), set_cookie)
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

    /// `GET /bff/session` with this cookie, if any: the status and the body.
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
        Answer::read(request.send().await.unwrap()).await
    }
}
