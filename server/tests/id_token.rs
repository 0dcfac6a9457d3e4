//! ID tokens and discovery end to end: a real BFF logs in against a small OpenID provider
//! served over HTTP on a loopback socket (an axum server with a discovery document, a JWKS
//! and a token endpoint), which hands out exactly the ID token each case needs — COOP only
//! signs good ones. Every bad token must end the login with 400 `login_failed`, never a 5xx.
//!
//! Each row prints `ROW|id-token|<request>|<expected>|<seen>` (see `-- --nocapture`).

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use leptos::prelude::LeptosOptions;
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::bff::transaction::{self, Transaction};
use server::cookies::KeyRing;
use server::oidc::Provider;
use server::settings::Settings;
use server::state::AppState;
use support::{NEW_KEY, SECRET, http, listener, pkce};

const CLIENT: &str = "topcluck";
const NONCE: &str = "n1";

/// A P-256 signing key with its kid.
struct Key {
    kid: String,
    encoding: EncodingKey,
}

impl Key {
    fn new(seed: u8, kid: &str) -> Self {
        let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        }
    }

    /// Its public JWK, declaring `alg` (or none).
    fn jwk(&self, alg: Option<&str>) -> Value {
        let jwk = Jwk::from_encoding_key(&self.encoding, Algorithm::ES256).unwrap();
        let mut jwk = serde_json::to_value(jwk).unwrap();
        let object = jwk.as_object_mut().unwrap();
        object.remove("alg");
        object.insert("kid".into(), json!(self.kid));
        object.insert("use".into(), json!("sig"));
        if let Some(alg) = alg {
            object.insert("alg".into(), json!(alg));
        }
        jwk
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with(Header::new(Algorithm::ES256), claims)
    }

    fn sign_with(&self, mut header: Header, claims: &Value) -> String {
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// What the small provider serves; tests change it between logins.
struct Served {
    /// The `issuer` its discovery document names.
    issuer: String,
    algorithms: Vec<&'static str>,
    jwks: Value,
    id_token: String,
    /// When set, discovery answers with this status (a 302 to another host, a 503…).
    discovery_status: Option<u16>,
    /// Discovery leaves out `id_token_signing_alg_values_supported` (a required field).
    without_algorithms: bool,
    /// Discovery names these endpoints instead of the provider's own.
    endpoints: Option<(&'static str, &'static str)>,
}

#[derive(Clone)]
struct Op {
    served: Arc<Mutex<Served>>,
    jwks_fetches: Arc<AtomicUsize>,
}

async fn discovery(State(op): State<Op>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let served = op.served.lock().unwrap();
    if let Some(status) = served.discovery_status {
        let status = axum::http::StatusCode::from_u16(status).unwrap();
        return (status, [("location", "http://127.0.0.1:9/elsewhere")], "no").into_response();
    }
    let base = served.issuer.trim_end_matches('/');
    let mut document = json!({
        "issuer": served.issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": served.algorithms,
    });
    if let Some((authorization, token)) = served.endpoints {
        document["authorization_endpoint"] = json!(authorization);
        document["token_endpoint"] = json!(token);
    }
    if served.without_algorithms {
        document
            .as_object_mut()
            .unwrap()
            .remove("id_token_signing_alg_values_supported");
    }
    Json(document).into_response()
}

async fn jwks_document(State(op): State<Op>) -> Json<Value> {
    op.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    Json(op.served.lock().unwrap().jwks.clone())
}

async fn token(State(op): State<Op>) -> Json<Value> {
    Json(json!({
        "access_token": "an-opaque-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": server::settings::DEFAULT_SCOPES,
        "id_token": op.served.lock().unwrap().id_token,
    }))
}

/// The small provider and a BFF configured with `configured_issuer` (`None`: the provider's
/// own address, no trailing slash).
struct Setup {
    op: Op,
    /// The provider's address, `http://127.0.0.1:port`.
    issuer: String,
    bff: String,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn start(algorithms: Vec<&'static str>, jwks: Value, discovered_issuer_suffix: &str) -> Self {
        let op_listener = listener().await;
        let issuer = format!("http://{}", op_listener.local_addr().unwrap());
        let op = Op {
            served: Arc::new(Mutex::new(Served {
                issuer: format!("{issuer}{discovered_issuer_suffix}"),
                algorithms,
                jwks,
                id_token: String::new(),
                discovery_status: None,
                endpoints: None,
                without_algorithms: false,
            })),
            jwks_fetches: Arc::new(AtomicUsize::new(0)),
        };
        let routes = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks_document))
            .route("/token", post(token))
            .with_state(op.clone());
        tokio::spawn(async move { axum::serve(op_listener, routes).await.unwrap() });

        let bff_listener = listener().await;
        let addr = bff_listener.local_addr().unwrap();
        let site = url::Url::parse(&format!("http://{addr}")).unwrap();
        let vars: BTreeMap<String, String> = [
            ("TOPCLUCK_ISSUER", issuer.as_str()),
            ("TOPCLUCK_CLIENT_SECRET", SECRET),
            ("TOPCLUCK_COOKIE_KEYS", NEW_KEY),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::from_vars(&vars, &site, true, dir.path()).unwrap();
        let keys = KeyRing::new(&settings.cookie_keys).unwrap();
        // The issuer exactly as configured (no URL normalisation).
        let provider = Provider::new(
            &issuer,
            CLIENT,
            server::settings::Secret::new(SECRET),
            settings.redirect_uri.as_str(),
        );
        let options = LeptosOptions::builder()
            .output_name("topcluck")
            .site_addr(addr)
            .build();
        let state = AppState::with_clock(options, settings, provider, server::clock::Clock::default());
        let app = server::app(state, keys);
        tokio::spawn(async move {
            server::edges::serve(bff_listener, app, std::future::pending())
                .await
                .unwrap()
        });
        Self {
            op,
            issuer,
            bff: format!("http://{addr}"),
            _dir: dir,
        }
    }

    /// Claims of a good ID token for this provider.
    fn claims(&self) -> Value {
        json!({
            "iss": self.issuer, "aud": CLIENT, "sub": "ada", "exp": now() + 300, "iat": now(),
            "nonce": NONCE, "name": "Ada Henhouse", "email": "ada@coop.example",
        })
    }

    /// `GET /bff/login` (discovery happens there first): the status and error code.
    async fn parameters(&self) -> (StatusCode, Option<String>) {
        answer(begin_login(&self.bff).await).await
    }

    /// A login whose token endpoint answers with `id_token`: the status and error code.
    async fn login(&self, id_token: String) -> (StatusCode, Option<String>) {
        self.op.served.lock().unwrap().id_token = id_token;
        let parameters = begin_login(&self.bff).await;
        if parameters.status() != StatusCode::OK {
            return answer(parameters).await;
        }
        let parameters: Value = parameters.json().await.unwrap();
        // The tokens here are signed ahead with the nonce `NONCE`: this browser's login
        // transaction is sealed by the test (with the BFF's cookie key) to carry that nonce.
        let (verifier, challenge) = pkce();
        let state = transaction::random_token(16);
        let opened = Transaction {
            state: state.clone(),
            nonce: NONCE.into(),
            challenge,
            scopes: server::settings::DEFAULT_SCOPES
                .split(' ')
                .map(str::to_owned)
                .collect(),
            expires_at: now() + 600,
            purpose: transaction::Purpose::Login,
        };
        let keys = KeyRing::new(&[server::settings::Secret::new(NEW_KEY)]).unwrap();
        let jar = server::cookies::SealedCookies::new(tower_cookies::Cookies::default(), keys);
        transaction::Ledger::default().with(&jar, Vec::new(), opened, now());
        let cookie = jar.jar().get(server::cookies::LOGIN).unwrap().to_string();
        let response = http()
            .post(format!("{}/bff/login", self.bff))
            .header("x-csrf", "1")
            .header("cookie", cookie.split(';').next().unwrap())
            .json(&json!({
                "code": "a-code",
                "code_verifier": verifier,
                "state": state,
                "redirect_uri": parameters["redirect_uri"],
            }))
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    fn jwks_fetches(&self) -> usize {
        self.op.jwks_fetches.load(Ordering::SeqCst)
    }
}

/// `GET /bff/login` as the SPA sends it.
async fn begin_login(bff: &str) -> reqwest::Response {
    http()
        .get(format!("{bff}/bff/login"))
        .header("x-csrf", "1")
        .query(&[
            ("code_challenge", pkce().1.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap()
}

async fn answer(response: reqwest::Response) -> (StatusCode, Option<String>) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["error"].as_str().map(str::to_owned))
}

/// Prints the row; returns whether it matched.
fn row(request: &str, expected: (StatusCode, Option<&str>), seen: &(StatusCode, Option<String>)) -> bool {
    let show = |(status, code): (StatusCode, Option<&str>)| match code {
        Some(code) => format!("{} {code}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    println!(
        "ROW|id-token|{request}|{}|{}",
        show(expected),
        show((seen.0, seen.1.as_deref()))
    );
    seen.0.as_u16() < 500 && seen.0 == expected.0 && seen.1.as_deref() == expected.1
}

const REFUSED: (StatusCode, Option<&str>) = (StatusCode::BAD_REQUEST, Some("login_failed"));
const ACCEPTED: (StatusCode, Option<&str>) = (StatusCode::OK, None);

fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

#[tokio::test]
async fn bad_id_tokens_end_the_login_with_400_and_good_ones_log_in() {
    let key = Key::new(1, "k1");
    let setup = Setup::start(
        vec!["ES256", "RS256"],
        json!({ "keys": [key.jwk(Some("ES256"))] }),
        "",
    )
    .await;
    let good = setup.claims();
    assert_eq!(
        setup.login(key.sign(&good)).await.0,
        StatusCode::OK,
        "a good token logs in"
    );
    let two_audiences = json!([CLIENT, "another-client"]);
    assert_eq!(
        setup
            .login(key.sign(&with(
                good.clone(),
                json!({ "aud": two_audiences, "azp": CLIENT })
            )))
            .await
            .0,
        StatusCode::OK,
        "several audiences, azp naming this client"
    );
    assert_eq!(
        setup
            .login(key.sign(&with(good.clone(), json!({ "iat": now() + 30 }))))
            .await
            .0,
        StatusCode::OK,
        "iat within the leeway"
    );

    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let unsigned = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        hs256.split('.').nth(1).unwrap()
    );
    let mut access_token_type = Header::new(Algorithm::ES256);
    access_token_type.typ = Some("at+jwt".into());
    let cases: Vec<(&str, String)> = vec![
        (
            "two audiences, no azp",
            key.sign(&with(good.clone(), json!({ "aud": two_audiences }))),
        ),
        (
            "two audiences, azp another client",
            key.sign(&with(
                good.clone(),
                json!({ "aud": two_audiences, "azp": "another-client" }),
            )),
        ),
        (
            "one audience, azp another client",
            key.sign(&with(good.clone(), json!({ "azp": "another-client" }))),
        ),
        ("no iat", key.sign(&with(good.clone(), json!({ "iat": null })))),
        (
            "iat 1 h in the future",
            key.sign(&with(
                good.clone(),
                json!({ "iat": now() + 3600, "exp": now() + 7200 }),
            )),
        ),
        (
            "iat 1 h old, exp not reached",
            key.sign(&with(good.clone(), json!({ "iat": now() - 3600 }))),
        ),
        (
            "iss with a trailing slash",
            key.sign(&with(
                good.clone(),
                json!({ "iss": format!("{}/", setup.issuer) }),
            )),
        ),
        (
            "typ at+jwt (an access token)",
            key.sign_with(access_token_type, &good),
        ),
        ("HS256 with the client secret", hs256),
        ("alg none", unsigned),
        (
            "exp 2 min ago",
            key.sign(&with(good.clone(), json!({ "exp": now() - 120 }))),
        ),
        (
            "aud another client",
            key.sign(&with(good.clone(), json!({ "aud": "another-client" }))),
        ),
        ("signed by another key, same kid", Key::new(2, "k1").sign(&good)),
        (
            "no nonce",
            key.sign(&with(good.clone(), json!({ "nonce": null }))),
        ),
        ("not a JWT", "not.a.jwt".into()),
    ];
    let mut failed = Vec::new();
    for (request, id_token) in cases {
        if !row(
            &format!("POST /bff/login, ID token: {request}"),
            REFUSED,
            &setup.login(id_token).await,
        ) {
            failed.push(request);
        }
    }

    // An unknown kid refetches the JWKS once, then fails.
    let fetches = setup.jwks_fetches();
    let seen = setup.login(Key::new(3, "k3").sign(&good)).await;
    if !row("POST /bff/login, ID token: unknown kid", REFUSED, &seen) {
        failed.push("unknown kid");
    }
    assert_eq!(setup.jwks_fetches(), fetches + 1, "one refetch per unknown kid");
    assert!(failed.is_empty(), "rows not as expected: {failed:?}");
}

#[tokio::test]
async fn the_algorithm_is_pinned_to_discovery_and_to_the_key() {
    let key = Key::new(1, "k1");
    // Discovery lists RS256 only: an ES256 token, though signed by the provider's key, is refused.
    let rs256_only = Setup::start(vec!["RS256"], json!({ "keys": [key.jwk(None)] }), "").await;
    let seen = rs256_only.login(key.sign(&rs256_only.claims())).await;
    let alg_not_discovered = row(
        "POST /bff/login, ID token: ES256, discovery lists RS256 only",
        REFUSED,
        &seen,
    );
    // The JWK says ES384, the header ES256 (both listed by discovery).
    let es384_key = Setup::start(
        vec!["ES256", "ES384"],
        json!({ "keys": [key.jwk(Some("ES384"))] }),
        "",
    )
    .await;
    let seen = es384_key.login(key.sign(&es384_key.claims())).await;
    let key_alg_differs = row(
        "POST /bff/login, ID token: header ES256, its JWK alg ES384",
        REFUSED,
        &seen,
    );
    // Discovery lists HS256 too: still refused (the key would be the client secret).
    let with_hs256 = Setup::start(vec!["HS256", "ES256"], json!({ "keys": [key.jwk(None)] }), "").await;
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &with_hs256.claims(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let symmetric_listed = row(
        "POST /bff/login, ID token: HS256, discovery lists HS256",
        REFUSED,
        &with_hs256.login(hs256).await,
    );
    // A JWK without alg accepts the header's algorithm when discovery lists it.
    assert_eq!(
        with_hs256.login(key.sign(&with_hs256.claims())).await.0,
        StatusCode::OK
    );
    assert!(alg_not_discovered && key_alg_differs && symmetric_listed);
}

#[tokio::test]
async fn the_discovered_issuer_must_equal_the_configured_one_exactly() {
    let key = Key::new(1, "k1");
    // Configured `http://127.0.0.1:port`, discovery says `http://127.0.0.1:port/`.
    let setup = Setup::start(vec!["ES256"], json!({ "keys": [key.jwk(None)] }), "/").await;
    let refused = row(
        "GET /bff/login, discovery issuer = configured + \"/\"",
        REFUSED,
        &setup.parameters().await,
    );
    assert!(refused);
    assert_eq!(
        setup.login(key.sign(&setup.claims())).await.0,
        StatusCode::BAD_REQUEST
    );
    // The failed discovery is retried: once the document is right, login works.
    setup.op.served.lock().unwrap().issuer = setup.issuer.clone();
    assert_eq!(setup.login(key.sign(&setup.claims())).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_rotated_key_is_found_by_refetching_the_jwks_once() {
    let (old, new) = (Key::new(1, "old"), Key::new(2, "new"));
    let setup = Setup::start(vec!["ES256"], json!({ "keys": [old.jwk(Some("ES256"))] }), "").await;
    assert_eq!(setup.login(old.sign(&setup.claims())).await.0, StatusCode::OK);
    let fetches = setup.jwks_fetches();
    assert_eq!(fetches, 1, "discovery fetched the JWKS once");
    // Cached: another token of the old key fetches nothing.
    assert_eq!(setup.login(old.sign(&setup.claims())).await.0, StatusCode::OK);
    assert_eq!(setup.jwks_fetches(), 1);

    setup.op.served.lock().unwrap().jwks = json!({ "keys": [new.jwk(Some("ES256"))] });
    let seen = setup.login(new.sign(&setup.claims())).await;
    let rotated = row(
        "POST /bff/login, ID token: kid of a rotated-in key",
        ACCEPTED,
        &seen,
    );
    assert!(rotated);
    assert_eq!(setup.jwks_fetches(), 2, "one refetch");
    assert_eq!(setup.login(new.sign(&setup.claims())).await.0, StatusCode::OK);
    assert_eq!(setup.jwks_fetches(), 2, "then cached");
}

#[tokio::test]
async fn a_failed_discovery_is_refused_or_unavailable_and_retried() {
    let key = Key::new(1, "k1");
    let setup = Setup::start(vec!["ES256"], json!({ "keys": [key.jwk(None)] }), "").await;
    let set = |status: Option<u16>, without_algorithms: bool| {
        let mut served = setup.op.served.lock().unwrap();
        served.discovery_status = status;
        served.without_algorithms = without_algorithms;
    };
    set(Some(302), false);
    let redirected = row(
        "GET /bff/login, discovery answers 302 elsewhere",
        REFUSED,
        &setup.parameters().await,
    );
    set(Some(404), false);
    let missing = row(
        "GET /bff/login, discovery answers 404",
        REFUSED,
        &setup.parameters().await,
    );
    set(None, true);
    let no_algorithms = row(
        "GET /bff/login, discovery without id_token_signing_alg_values_supported",
        REFUSED,
        &setup.parameters().await,
    );
    // Endpoints the browser or the client secret must not be sent to.
    let mut endpoints_refused = true;
    for (request, authorization, token) in [
        (
            "GET /bff/login, discovery: authorization_endpoint javascript:",
            "javascript:alert(document.cookie)//",
            "http://127.0.0.1:9/token",
        ),
        (
            "GET /bff/login, discovery: authorization_endpoint plain http elsewhere",
            "http://203.0.113.9/authorize",
            "http://127.0.0.1:9/token",
        ),
        (
            "GET /bff/login, discovery: token_endpoint plain http elsewhere",
            "http://127.0.0.1:9/authorize",
            "http://203.0.113.9/token",
        ),
    ] {
        setup.op.served.lock().unwrap().endpoints = Some((authorization, token));
        endpoints_refused &= row(request, REFUSED, &setup.parameters().await);
    }
    setup.op.served.lock().unwrap().endpoints = None;
    // Down: 503 with Retry-After (not a bad input: the provider's outage), then retried.
    set(Some(503), false);
    let down = begin_login(&setup.bff).await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.headers().get("retry-after").is_some());
    set(None, false);
    assert_eq!(setup.login(key.sign(&setup.claims())).await.0, StatusCode::OK);
    assert!(redirected && missing && no_algorithms && endpoints_refused);
}
