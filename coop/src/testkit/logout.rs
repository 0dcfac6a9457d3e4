//! Back-channel logout in tests (OpenID Connect Back-Channel Logout 1.0): logout tokens of any
//! shape signed with COOP's own key ([`TestCoop::logout_token_with`]; a foreign key is
//! [`super::scripted_provider::Key`]), a farmer logging out of COOP on its confirmation page
//! ([`TestCoop::end_session_confirmed`]), and a receiver that keeps what COOP posts to a
//! client's back-channel logout URI ([`Receiver`]).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use super::browser::hidden;
use super::http::listener;
use super::test_coop::TestCoop;
use crate::keys::SigningKey;
use crate::store::Store;

/// The back-channel logout event (§2.4).
pub const LOGOUT_EVENT: &str = crate::backchannel::EVENT;

impl TestCoop {
    /// COOP's signing key, read from its store (COOP keeps it there).
    fn signing_key(&self) -> SigningKey {
        let store = Store::open(&self.config.data_dir).unwrap();
        SigningKey::load_or_create(&store).unwrap()
    }

    /// The id of COOP's signing key.
    pub fn key_id(&self) -> String {
        self.signing_key().kid().to_owned()
    }

    /// The claims of a good logout token from this COOP to `client_id` about `sub` (and `sid`),
    /// issued now on COOP's clock, expiring two minutes later, with a fresh `jti`.
    pub fn logout_claims(&self, client_id: &str, sub: Option<&str>, sid: Option<&str>) -> Value {
        let now = self.clock().now_s();
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).unwrap();
        let mut claims = json!({
            "iss": self.base,
            "aud": client_id,
            "iat": now,
            "exp": now + 120,
            "jti": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, jti),
            "events": { LOGOUT_EVENT: {} },
        });
        for (name, value) in [("sub", sub), ("sid", sid)] {
            if let Some(value) = value {
                claims[name] = json!(value);
            }
        }
        claims
    }

    /// `claims` signed ES256 by COOP's key, `typ: logout+jwt`.
    pub fn logout_token(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(crate::backchannel::TYP.to_owned());
        self.logout_token_with(header, claims)
    }

    /// `claims` signed by COOP's key with this `header` (its `kid` set to COOP's).
    pub fn logout_token_with(&self, header: Header, claims: &Value) -> String {
        self.signing_key().sign_with(header, claims)
    }

    /// The farmer of `browser` logs out of COOP as at its "Log out of COOP?" page: `GET
    /// /end-session` (no hint, no client), then the confirmation form posted back. COOP's
    /// answer to the post (back-channel logout tokens are sent before it).
    pub async fn end_session_confirmed(&self, browser: &reqwest::Client) -> reqwest::Response {
        let page = browser
            .get(self.end_session_url(&[]))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("Log out of COOP?"), "no confirmation page: {page}");
        browser
            .post(self.url("/end-session"))
            .form(&[("csrf", hidden(&page, "csrf"))])
            .send()
            .await
            .unwrap()
    }

    /// `GET /dev/counters`' `backchannel_logouts`: client id → outcome → count.
    pub async fn backchannel_logouts(&self) -> Value {
        self.counters().await["backchannel_logouts"].clone()
    }
}

/// What a back-channel logout URI received: each request's headers and body.
#[derive(Clone, Default)]
pub struct Received(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

impl Received {
    /// The requests so far.
    pub fn all(&self) -> Vec<(HeaderMap, Bytes)> {
        self.0.lock().unwrap().clone()
    }

    /// The `logout_token` of each request so far.
    pub fn tokens(&self) -> Vec<String> {
        self.all()
            .iter()
            .filter_map(|(_, body)| {
                url::form_urlencoded::parse(body)
                    .find(|(name, _)| name == "logout_token")
                    .map(|(_, token)| token.into_owned())
            })
            .collect()
    }
}

/// A client's back-channel logout endpoint on a loopback socket: it answers 200 and keeps every
/// request. Its URI, and what it received.
pub async fn receiver() -> (String, Received) {
    let listener = listener().await;
    let uri = format!("http://{}/backchannel-logout", listener.local_addr().unwrap());
    let received = Received::default();
    let app = axum::Router::new()
        .route(
            "/backchannel-logout",
            post(
                |State(kept): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    kept.0.lock().unwrap().push((headers, body));
                },
            ),
        )
        .with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (uri, received)
}
