//! ID tokens and discovery end to end: a real BFF logs in against a small OpenID provider
//! served over HTTP on a loopback socket (an axum server with a discovery document, a JWKS
//! and a token endpoint), which hands out exactly the ID token each case needs — COOP only
//! signs good ones. Every bad token must end the login with 400 `login_failed`, never a 5xx.
//!
//! Each row prints `ROW|id-token|<request>|<expected>|<seen>` (see `-- --nocapture`).

mod support;

use std::collections::BTreeMap;

use coop::testkit::scripted_provider::{Key, ScriptedProvider, now, sign_hs256, with};
use jsonwebtoken::{Algorithm, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::bff::transaction::{self, Transaction};
use server::cookies::KeyRing;
use support::{BadInputs, NEW_KEY, SECRET, http, listener, pkce, start_bff, status_and_code};

const CLIENT: &str = "topcluck";
const NONCE: &str = "n1";

/// The small provider and a BFF configured with `configured_issuer` (`None`: the provider's
/// own address, no trailing slash).
struct Setup {
    op: ScriptedProvider,
    /// The provider's address, `http://127.0.0.1:port`.
    issuer: String,
    bff: String,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn start(algorithms: Vec<&'static str>, jwks: Value, discovered_issuer_suffix: &str) -> Self {
        let op = ScriptedProvider::start(
            algorithms,
            jwks,
            discovered_issuer_suffix,
            server::settings::DEFAULT_SCOPES,
        )
        .await;
        let issuer = op.issuer.clone();
        let vars: BTreeMap<String, String> = [
            ("TOPCLUCK_ISSUER", issuer.as_str()),
            ("TOPCLUCK_CLIENT_SECRET", SECRET),
            ("TOPCLUCK_COOKIE_KEYS", NEW_KEY),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let dir = tempfile::tempdir().unwrap();
        // The issuer exactly as configured (no URL normalisation).
        let bff = start_bff(
            listener().await,
            &vars,
            dir.path(),
            server::clock::Clock::default(),
            |_| {},
        )
        .await;
        Self {
            op,
            issuer,
            bff: bff.base.clone(),
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
        self.op.served().id_token = id_token;
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
        self.op.jwks_fetches()
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

/// Prints the row in `table`; returns whether it matched (and was no 5xx).
fn row(
    table: &mut BadInputs,
    request: &str,
    expected: (StatusCode, Option<&str>),
    seen: &(StatusCode, Option<String>),
) -> bool {
    let show = |status: StatusCode, code: Option<&str>| status_and_code(status, &json!({ "error": code }));
    table.row(
        "id-token",
        request,
        &show(expected.0, expected.1),
        &show(seen.0, seen.1.as_deref()),
        seen.0,
    )
}

const REFUSED: (StatusCode, Option<&str>) = (StatusCode::BAD_REQUEST, Some("login_failed"));
const ACCEPTED: (StatusCode, Option<&str>) = (StatusCode::OK, None);

#[tokio::test]
async fn bad_id_tokens_end_the_login_with_400_and_good_ones_log_in() {
    let mut table = BadInputs::default();
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

    let hs256 = sign_hs256(&good, SECRET);
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
            &mut table,
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
    if !row(
        &mut table,
        "POST /bff/login, ID token: unknown kid",
        REFUSED,
        &seen,
    ) {
        failed.push("unknown kid");
    }
    assert_eq!(setup.jwks_fetches(), fetches + 1, "one refetch per unknown kid");
    assert!(failed.is_empty(), "rows not as expected: {failed:?}");
    table.finish();
}

#[tokio::test]
async fn the_algorithm_is_pinned_to_discovery_and_to_the_key() {
    let mut table = BadInputs::default();
    let key = Key::new(1, "k1");
    // Discovery lists RS256 only: an ES256 token, though signed by the provider's key, is refused.
    let rs256_only = Setup::start(vec!["RS256"], json!({ "keys": [key.jwk(None)] }), "").await;
    let seen = rs256_only.login(key.sign(&rs256_only.claims())).await;
    let alg_not_discovered = row(
        &mut table,
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
        &mut table,
        "POST /bff/login, ID token: header ES256, its JWK alg ES384",
        REFUSED,
        &seen,
    );
    // Discovery lists HS256 too: still refused (the key would be the client secret).
    let with_hs256 = Setup::start(vec!["HS256", "ES256"], json!({ "keys": [key.jwk(None)] }), "").await;
    let hs256 = sign_hs256(&with_hs256.claims(), SECRET);
    let symmetric_listed = row(
        &mut table,
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
    table.finish();
}

#[tokio::test]
async fn the_discovered_issuer_must_equal_the_configured_one_exactly() {
    let mut table = BadInputs::default();
    let key = Key::new(1, "k1");
    // Configured `http://127.0.0.1:port`, discovery says `http://127.0.0.1:port/`.
    let setup = Setup::start(vec!["ES256"], json!({ "keys": [key.jwk(None)] }), "/").await;
    let refused = row(
        &mut table,
        "GET /bff/login, discovery issuer = configured + \"/\"",
        REFUSED,
        &setup.parameters().await,
    );
    assert!(refused);
    table.finish();
    assert_eq!(
        setup.login(key.sign(&setup.claims())).await.0,
        StatusCode::BAD_REQUEST
    );
    // The failed discovery is retried: once the document is right, login works.
    setup.op.served().issuer = setup.issuer.clone();
    assert_eq!(setup.login(key.sign(&setup.claims())).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_rotated_key_is_found_by_refetching_the_jwks_once() {
    let mut table = BadInputs::default();
    let (old, new) = (Key::new(1, "old"), Key::new(2, "new"));
    let setup = Setup::start(vec!["ES256"], json!({ "keys": [old.jwk(Some("ES256"))] }), "").await;
    assert_eq!(setup.login(old.sign(&setup.claims())).await.0, StatusCode::OK);
    let fetches = setup.jwks_fetches();
    assert_eq!(fetches, 1, "discovery fetched the JWKS once");
    // Cached: another token of the old key fetches nothing.
    assert_eq!(setup.login(old.sign(&setup.claims())).await.0, StatusCode::OK);
    assert_eq!(setup.jwks_fetches(), 1);

    setup.op.served().jwks = json!({ "keys": [new.jwk(Some("ES256"))] });
    let seen = setup.login(new.sign(&setup.claims())).await;
    let rotated = row(
        &mut table,
        "POST /bff/login, ID token: kid of a rotated-in key",
        ACCEPTED,
        &seen,
    );
    assert!(rotated);
    table.finish();
    assert_eq!(setup.jwks_fetches(), 2, "one refetch");
    assert_eq!(setup.login(new.sign(&setup.claims())).await.0, StatusCode::OK);
    assert_eq!(setup.jwks_fetches(), 2, "then cached");
}

#[tokio::test]
async fn a_failed_discovery_is_refused_or_unavailable_and_retried() {
    let mut table = BadInputs::default();
    let key = Key::new(1, "k1");
    let setup = Setup::start(vec!["ES256"], json!({ "keys": [key.jwk(None)] }), "").await;
    let set = |status: Option<u16>, without_algorithms: bool| {
        let mut served = setup.op.served();
        served.discovery_status = status;
        served.without_algorithms = without_algorithms;
    };
    set(Some(302), false);
    let redirected = row(
        &mut table,
        "GET /bff/login, discovery answers 302 elsewhere",
        REFUSED,
        &setup.parameters().await,
    );
    set(Some(404), false);
    let missing = row(
        &mut table,
        "GET /bff/login, discovery answers 404",
        REFUSED,
        &setup.parameters().await,
    );
    set(None, true);
    let no_algorithms = row(
        &mut table,
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
        setup.op.served().endpoints = Some((authorization, token));
        endpoints_refused &= row(&mut table, request, REFUSED, &setup.parameters().await);
    }
    setup.op.served().endpoints = None;
    // Down: 503 with Retry-After (not a bad input: the provider's outage), then retried.
    set(Some(503), false);
    let down = begin_login(&setup.bff).await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.headers().get("retry-after").is_some());
    set(None, false);
    assert_eq!(setup.login(key.sign(&setup.claims())).await.0, StatusCode::OK);
    assert!(redirected && missing && no_algorithms && endpoints_refused);
    table.finish();
}
