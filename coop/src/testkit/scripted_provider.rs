//! A small OpenID provider on a loopback socket that serves exactly what a case needs: a
//! discovery document (its issuer, algorithms and endpoints chosen, or an error status), a
//! JWKS, and a token endpoint answering with the ID token the test signed — claims, header and
//! key of its choosing. COOP signs only good ID tokens; this one lets the server's tests check
//! that every bad one is refused.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{Value, json};

use super::http::listener;

/// A P-256 signing key with its kid.
pub struct Key {
    pub kid: String,
    encoding: EncodingKey,
}

impl Key {
    /// The key whose secret scalar is `seed` repeated (the same seed, the same key).
    pub fn new(seed: u8, kid: &str) -> Self {
        let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        }
    }

    /// Its public JWK, declaring `alg` (or none).
    pub fn jwk(&self, alg: Option<&str>) -> Value {
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

    /// `claims` signed ES256 with this key's kid.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(Header::new(Algorithm::ES256), claims)
    }

    /// `claims` signed with this header (its kid set to this key's).
    pub fn sign_with(&self, mut header: Header, claims: &Value) -> String {
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// `claims` signed HS256 with `secret` (what a client secret must never verify).
pub fn sign_hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Seconds since the Unix epoch, by the system clock.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `claims` with `changes` applied: a `null` removes that claim, any other value sets it.
pub fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// What the provider serves; tests change it between requests.
pub struct Served {
    /// The `issuer` its discovery document names.
    pub issuer: String,
    pub algorithms: Vec<&'static str>,
    pub jwks: Value,
    /// What the token endpoint's answer carries.
    pub id_token: String,
    pub scope: String,
    /// When set, discovery answers with this status (a 302 to another host, a 503…).
    pub discovery_status: Option<u16>,
    /// Discovery leaves out `id_token_signing_alg_values_supported` (a required field).
    pub without_algorithms: bool,
    /// Discovery names these authorization and token endpoints instead of its own.
    pub endpoints: Option<(&'static str, &'static str)>,
}

/// The provider, running.
#[derive(Clone)]
pub struct ScriptedProvider {
    /// Its address, `http://127.0.0.1:port`.
    pub issuer: String,
    served: Arc<Mutex<Served>>,
    jwks_fetches: Arc<AtomicUsize>,
}

impl ScriptedProvider {
    /// A provider whose discovery lists `algorithms` and names the issuer
    /// `http://127.0.0.1:port{issuer_suffix}`, serving `jwks`; its token answers grant `scope`.
    pub async fn start(algorithms: Vec<&'static str>, jwks: Value, issuer_suffix: &str, scope: &str) -> Self {
        let listener = listener().await;
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let provider = Self {
            served: Arc::new(Mutex::new(Served {
                issuer: format!("{issuer}{issuer_suffix}"),
                algorithms,
                jwks,
                id_token: String::new(),
                scope: scope.to_owned(),
                discovery_status: None,
                endpoints: None,
                without_algorithms: false,
            })),
            jwks_fetches: Arc::new(AtomicUsize::new(0)),
            issuer,
        };
        let routes = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks_document))
            .route("/token", post(token))
            .with_state(provider.clone());
        tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
        provider
    }

    /// What it serves, to read or change.
    pub fn served(&self) -> MutexGuard<'_, Served> {
        self.served.lock().unwrap()
    }

    /// How many times its JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }
}

async fn discovery(State(provider): State<ScriptedProvider>) -> Response {
    let served = provider.served();
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

async fn jwks_document(State(provider): State<ScriptedProvider>) -> Json<Value> {
    provider.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    Json(provider.served().jwks.clone())
}

async fn token(State(provider): State<ScriptedProvider>) -> Json<Value> {
    let served = provider.served();
    Json(json!({
        "access_token": "an-opaque-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": served.scope,
        "id_token": served.id_token,
    }))
}
