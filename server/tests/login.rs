//! Login, session, CSRF and logout against a real COOP and a real BFF, both on loopback
//! sockets, driven over HTTP the way the SPA and a browser would.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coop::{Client, RefreshTokenMode};
use leptos::prelude::LeptosOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::oidc::Provider;
use server::session::sealing::KeyRing;
use server::settings::{Secret, Settings};
use server::state::AppState;
use sha2::{Digest, Sha256};

const SECRET: &str = "login-test-secret";
const OLD_KEY: &str = "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0";
const NEW_KEY: &str = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0";

struct Harness {
    coop: coop::RunningCoop,
    _dirs: Vec<tempfile::TempDir>,
}

/// A BFF on its own port.
struct Bff {
    base: String,
}

impl Harness {
    async fn start(redirect_ports: &[u16]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = coop::Config::new(dir.path().to_owned(), SECRET.into());
        config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.dev_endpoints = true;
        config.clients = vec![Client {
            id: "topcluck".into(),
            secret: SECRET.into(),
            redirect_uris: redirect_ports
                .iter()
                .map(|p| format!("http://127.0.0.1:{p}/callback"))
                .collect(),
            post_logout_redirect_uris: redirect_ports
                .iter()
                .map(|p| format!("http://127.0.0.1:{p}/"))
                .collect(),
            refresh_token_mode: RefreshTokenMode::Rotate,
        }];
        let coop = coop::start(config).await.unwrap();
        Self {
            coop,
            _dirs: vec![dir],
        }
    }

    /// Starts a BFF on `listener` with these cookie keys.
    async fn bff(&mut self, listener: tokio::net::TcpListener, keys: &str) -> Bff {
        let addr = listener.local_addr().unwrap();
        let site = url::Url::parse(&format!("http://{addr}")).unwrap();
        let vars: BTreeMap<String, String> = [
            ("TOPCLUCK_ISSUER", self.coop.issuer.as_str()),
            ("TOPCLUCK_CLIENT_SECRET", SECRET),
            ("TOPCLUCK_COOKIE_KEYS", keys),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::from_vars(&vars, &site, true, dir.path()).unwrap();
        self._dirs.push(dir);
        let keys = KeyRing::new(&settings.cookie_keys).unwrap();
        let provider = Provider::new(
            &self.coop.issuer,
            &settings.client_id,
            Secret::new(SECRET),
            settings.redirect_uri.as_str(),
        );
        let options = LeptosOptions::builder()
            .output_name("topcluck")
            .site_addr(addr)
            .build();
        let state = AppState {
            leptos_options: options,
            settings: Arc::new(settings),
            provider: Arc::new(provider),
        };
        tokio::spawn(async move { axum::serve(listener, server::app(state, keys)).await.unwrap() });
        Bff {
            base: format!("http://{addr}"),
        }
    }

    async fn grants(&self) -> Value {
        http()
            .get(format!("{}/dev/grants?username=ada", self.coop.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// What the SPA keeps in sessionStorage while the farmer is at COOP.
struct Pending {
    verifier: String,
    nonce: String,
    code: String,
    redirect_uri: String,
}

impl Bff {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Does what the SPA does up to `/callback`: parameters from the BFF, PKCE, the provider's
    /// login form (as a browser would), and returns the code with what the SPA kept.
    async fn authorize(&self, farmer: &str) -> Pending {
        let parameters: Value = http()
            .get(self.url("/bff/login"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let verifier = URL_SAFE_NO_PAD.encode([7u8; 32]) + "x";
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut url = url::Url::parse(parameters["authorization_endpoint"].as_str().unwrap()).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", parameters["client_id"].as_str().unwrap())
            .append_pair("redirect_uri", parameters["redirect_uri"].as_str().unwrap())
            .append_pair("scope", parameters["scope"].as_str().unwrap())
            .append_pair("state", "s1")
            .append_pair("nonce", "n1")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = browser.get(url).send().await.unwrap().text().await.unwrap();
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
        let origin = url::Url::parse(parameters["authorization_endpoint"].as_str().unwrap()).unwrap();
        let answer = browser
            .post(origin.join("/authorize/login").unwrap())
            .form(&form)
            .send()
            .await
            .unwrap();
        let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        let query: BTreeMap<String, String> = location.query_pairs().into_owned().collect();
        assert_eq!(query["state"], "s1");
        Pending {
            verifier,
            nonce: "n1".into(),
            code: query["code"].clone(),
            redirect_uri: parameters["redirect_uri"].as_str().unwrap().to_owned(),
        }
    }

    async fn complete(&self, pending: &Pending, nonce: &str) -> reqwest::Response {
        http()
            .post(self.url("/bff/login"))
            .header("x-csrf", "1")
            .json(&json!({
                "code": pending.code,
                "code_verifier": pending.verifier,
                "nonce": nonce,
                "redirect_uri": pending.redirect_uri,
            }))
            .send()
            .await
            .unwrap()
    }

    /// Logs `farmer` in; returns the `name=value` of the session cookie and its Set-Cookie line.
    async fn login(&self, farmer: &str) -> (String, String) {
        let pending = self.authorize(farmer).await;
        let response = self.complete(&pending, &pending.nonce).await;
        assert_eq!(response.status(), StatusCode::OK);
        let set_cookie = session_set_cookie(&response).expect("a session cookie");
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("eyJ"),
            "a JWT leaked into the login answer: {body}"
        );
        (set_cookie.split(';').next().unwrap().to_owned(), set_cookie)
    }

    async fn session(&self, cookie: Option<&str>) -> (StatusCode, Value) {
        let mut request = http().get(self.url("/bff/session"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

fn session_set_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("__Host-topcluck="))
}

#[tokio::test]
async fn login_seals_tokens_into_a_host_only_httponly_cookie_and_the_session_shows_no_token() {
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let bff = harness.bff(listener, NEW_KEY).await;

    let (unauthenticated, body) = bff.session(None).await;
    assert_eq!(unauthenticated, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "unauthenticated");

    let (cookie, set_cookie) = bff.login("ada").await;
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} missing: {set_cookie}"
        );
    }
    assert!(
        !set_cookie.to_lowercase().contains("domain="),
        "__Host- cookies carry no Domain"
    );
    println!(
        "session cookie: {} bytes (Set-Cookie line {} bytes)",
        cookie.len(),
        set_cookie.len()
    );
    assert!(set_cookie.len() < 4096);

    let (status, info) = bff.session(Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        info["farmer"],
        json!({ "sub": "ada", "name": "Ada Henhouse", "email": "ada@coop.example" })
    );
    assert!(info["access_token_expires_at"].as_i64().unwrap() > 0);
    assert!(info["session_expires_at"].as_i64().unwrap() > info["access_token_expires_at"].as_i64().unwrap());
    assert!(info["scopes"].as_array().unwrap().contains(&json!("eggs:write")));
    let text = info.to_string();
    assert!(!text.contains("eyJ") && !text.contains("token\":\""), "{text}");

    // Server rendering knows the farmer: no flash of "logged out" on reload.
    let page = http()
        .get(bff.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Ada Henhouse") && page.contains("Log out"),
        "{page}"
    );
    assert!(!page.contains("eyJ"), "a JWT in the HTML");
    let anonymous = http()
        .get(bff.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(anonymous.contains("Log in") && !anonymous.contains("Ada Henhouse"));
}

#[tokio::test]
async fn a_wrong_nonce_or_a_foreign_redirect_uri_fails_the_login_and_sets_no_cookie() {
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let bff = harness.bff(listener, NEW_KEY).await;

    let pending = bff.authorize("ada").await;
    let response = bff.complete(&pending, "another-nonce").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(session_set_cookie(&response).is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "login_failed");
    assert!(
        !body["message"].as_str().unwrap().contains("nonce"),
        "details stay in the log"
    );

    let mut foreign = bff.authorize("ada").await;
    foreign.redirect_uri = "https://evil.example/callback".into();
    assert_eq!(
        bff.complete(&foreign, "n1").await.status(),
        StatusCode::BAD_REQUEST
    );

    let bad_json = http()
        .post(bff.url("/bff/login"))
        .header("x-csrf", "1")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad_json.json::<Value>().await.unwrap()["error"], "bad_request");
}

#[tokio::test]
async fn an_unavailable_provider_answers_503_with_retry_after() {
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let bff = harness.bff(listener, NEW_KEY).await;
    let pending = bff.authorize("ada").await;
    http()
        .post(format!("{}/dev/faults", harness.coop.issuer))
        .json(&json!({ "unavailable_seconds": 30 }))
        .send()
        .await
        .unwrap();
    let response = bff.complete(&pending, &pending.nonce).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
}

#[tokio::test]
async fn tampered_truncated_and_foreign_key_cookies_are_no_session_and_keys_rotate() {
    let (old_listener, new_listener, other_listener) = (listener().await, listener().await, listener().await);
    let ports: Vec<u16> = [&old_listener, &new_listener, &other_listener]
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let mut harness = Harness::start(&ports).await;
    let old = harness.bff(old_listener, OLD_KEY).await;
    let rotated = harness.bff(new_listener, &format!("{NEW_KEY},{OLD_KEY}")).await;
    let stranger = harness.bff(other_listener, NEW_KEY).await;

    let (cookie, _) = old.login("ada").await;
    // Rotation: the new first key seals, the old one still opens.
    assert_eq!(rotated.session(Some(&cookie)).await.0, StatusCode::OK);
    // A server without the old key treats the cookie as no session, not as an error.
    assert_eq!(stranger.session(Some(&cookie)).await.0, StatusCode::UNAUTHORIZED);

    let (name, value) = cookie.split_once('=').unwrap();
    let mut flipped = value.as_bytes().to_vec();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    for bad in [
        format!("{name}={}", String::from_utf8(flipped).unwrap()),
        format!("{name}={}", &value[..value.len() - 10]),
        format!("{name}=not-a-cookie"),
        format!("{name}="),
    ] {
        let (status, body) = old.session(Some(&bad)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(body["error"], "unauthenticated");
        let page = http()
            .get(old.url("/"))
            .header("cookie", &bad)
            .send()
            .await
            .unwrap();
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "a bad cookie must not break the page"
        );
    }
}

#[tokio::test]
async fn state_changing_endpoints_refuse_requests_without_the_csrf_header_or_from_another_origin() {
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let bff = harness.bff(listener, NEW_KEY).await;
    let (cookie, _) = bff.login("ada").await;

    let no_header = http()
        .post(bff.url("/bff/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), StatusCode::FORBIDDEN);
    assert_eq!(no_header.json::<Value>().await.unwrap()["error"], "csrf_rejected");
    let cross_origin = http()
        .post(bff.url("/bff/logout"))
        .header("cookie", &cookie)
        .header("x-csrf", "1")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_origin.status(), StatusCode::FORBIDDEN);
    let login_without_header = http()
        .post(bff.url("/bff/login"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(login_without_header.status(), StatusCode::FORBIDDEN);
    // Still logged in: nothing above did anything.
    assert_eq!(bff.session(Some(&cookie)).await.0, StatusCode::OK);
    // No CORS for other origins.
    let preflight = http()
        .request(reqwest::Method::OPTIONS, bff.url("/bff/logout"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn logout_revokes_the_refresh_token_clears_the_cookie_and_goes_through_end_session() {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::start(&[port]).await;
    let bff = harness.bff(listener, NEW_KEY).await;
    let (cookie, _) = bff.login("ada").await;
    assert_eq!(harness.grants().await["grants"][0]["revoked_reason"], Value::Null);

    let response = http()
        .post(bff.url("/bff/logout"))
        .header("cookie", &cookie)
        .header("x-csrf", "1")
        .header("origin", bff.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = session_set_cookie(&response).expect("the cookie is cleared");
    assert!(
        cleared.contains("Max-Age=0") || cleared.to_lowercase().contains("expires=thu, 01 jan 1970"),
        "{cleared}"
    );
    // Browsers ignore a `__Host-` Set-Cookie (even a removal) without Secure and Path=/.
    assert!(
        cleared.contains("; Secure") && cleared.contains("Path=/"),
        "{cleared}"
    );
    let body: Value = response.json().await.unwrap();
    let redirect = url::Url::parse(body["redirect_to"].as_str().unwrap()).unwrap();
    assert_eq!(redirect.path(), "/end-session");
    let query: BTreeMap<String, String> = redirect.query_pairs().into_owned().collect();
    assert_eq!(
        query["post_logout_redirect_uri"],
        format!("http://127.0.0.1:{port}/")
    );
    assert_eq!(query["client_id"], "topcluck");

    assert_eq!(
        harness.grants().await["grants"][0]["revoked_reason"],
        "refresh token revoked"
    );
}
