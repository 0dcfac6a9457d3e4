//! A browser at COOP, written once: PKCE, the authorization request, the login form, the
//! consent page, their hidden fields, and a cookie jar (COOP's session). [`sign_in`] is the
//! whole walk; [`TestCoop`]'s methods here are its steps, for tests that look at each one.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use super::test_coop::{REDIRECT_URI, TestCoop};
use super::tokens::Tokens;

/// A browser: keeps cookies, shows redirects instead of following them.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    /// A random verifier.
    pub fn new() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).unwrap();
        Self::of(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// This verifier and its challenge.
    pub fn of(verifier: String) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self { verifier, challenge }
    }
}

/// The same PKCE verifier every call, and its S256 challenge.
pub fn pkce() -> (String, String) {
    let Pkce { verifier, challenge } = Pkce::of(URL_SAFE_NO_PAD.encode([7u8; 32]) + "x");
    (verifier, challenge)
}

/// An authorization request's parameters: for `client_id` with this PKCE, back to
/// [`REDIRECT_URI`] with `state-123` and `nonce-456`, and `extra` — what
/// [`TestCoop::authorize_url`] sends and [`TestCoop::push`] pushes.
pub fn authorization_request<'a>(
    client_id: &'a str,
    scope: &'a str,
    pkce: &'a Pkce,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", scope),
        ("state", "state-123"),
        ("nonce", "nonce-456"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend_from_slice(extra);
    pairs
}

/// The `Location` of a redirect (panics without one).
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

/// One of COOP's forms and the farmer's answer to it.
pub enum Form<'a> {
    /// The login form: who logs in.
    Login(&'a str),
    /// The consent page: `allow` or `deny`.
    Consent(&'a str),
}

/// Posts COOP's form on `page` (served from `authorize_url`'s origin) with its hidden
/// `request` and `csrf`, answered as `form` says.
pub async fn submit(
    browser: &reqwest::Client,
    authorize_url: &str,
    page: &str,
    form: Form<'_>,
) -> reqwest::Response {
    let (action, field) = match form {
        Form::Login(username) => ("/authorize/login", ("username", username)),
        Form::Consent(decision) => ("/authorize/consent", ("decision", decision)),
    };
    let action = url::Url::parse(authorize_url).unwrap().join(action).unwrap();
    let fields = [
        ("request", hidden(page, "request")),
        ("csrf", hidden(page, "csrf")),
        (field.0, field.1.to_owned()),
    ];
    browser.post(action).form(&fields).send().await.unwrap()
}

/// A farmer in `browser` opens `authorize_url` at COOP and, when COOP asks, logs in as
/// `username` on its login form; when COOP then shows its consent page (`prompt=consent`),
/// allows if `allow_consent` (otherwise the login must redirect at once). Returns the
/// `Location` COOP sends the browser back to.
pub async fn sign_in(
    browser: &reqwest::Client,
    authorize_url: &str,
    username: &str,
    allow_consent: bool,
) -> String {
    let response = browser.get(authorize_url).send().await.unwrap();
    if response.status() != StatusCode::OK {
        return location(&response);
    }
    let page = response.text().await.unwrap();
    let mut response = submit(browser, authorize_url, &page, Form::Login(username)).await;
    if allow_consent && response.status() == StatusCode::OK {
        let page = response.text().await.unwrap();
        response = submit(browser, authorize_url, &page, Form::Consent("allow")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "consent refused");
    }
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "login form refused");
    location(&response)
}

impl TestCoop {
    /// `/authorize` for `client_id` with this PKCE, back to [`REDIRECT_URI`], and `extra`.
    pub fn authorize_url(&self, client_id: &str, scope: &str, pkce: &Pkce, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        url.query_pairs_mut()
            .extend_pairs(authorization_request(client_id, scope, pkce, extra));
        url.to_string()
    }

    /// `/authorize` for a request `client_id` pushed (RFC 9126 §4): `client_id` and
    /// `request_uri`, nothing else.
    pub fn pushed_authorize_url(&self, client_id: &str, request_uri: &str) -> String {
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("request_uri", request_uri);
        url.to_string()
    }

    /// `/end-session` with these query parameters.
    pub fn end_session_url(&self, pairs: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/end-session")).unwrap();
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        url.to_string()
    }

    /// A farmer (`ada`) logged in through the form, then a code redeemed by `client_id`.
    pub async fn login(&self, client_id: &str, scope: &str) -> Tokens {
        self.browser_login(client_id, scope, "ada").await.1
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
        let url = self.authorize_url(client_id, scope, pkce, &[]);
        let location = sign_in(browser, &url, username, false).await;
        query_of(&location)
            .remove("code")
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
        let url = self.authorize_url(client_id, scope, pkce, &[("prompt", "consent")]);
        let response = browser.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "no page for prompt=consent");
        let page = response.text().await.unwrap();
        if !page.contains("/authorize/login") {
            return page;
        }
        let response = submit(browser, &url, &page, Form::Login(username)).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "no consent page after the login"
        );
        response.text().await.unwrap()
    }

    /// Posts COOP's form on `page`, answered as `form` says.
    pub async fn submit(&self, browser: &reqwest::Client, page: &str, form: Form<'_>) -> reqwest::Response {
        submit(browser, &self.base, page, form).await
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
        let response = self.submit(browser, &page, Form::Consent("allow")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "consent refused");
        let code = query_of(&location(&response))["code"].clone();
        self.redeem(client_id, &code, &pkce.verifier).await.expect_ok()
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
}
