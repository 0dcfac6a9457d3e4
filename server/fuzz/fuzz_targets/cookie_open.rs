//! Opening TopCluck's cookies, behind the real layers: a request's `Cookie` header goes through
//! the session layer (`server::cookies::session_layer`: the key ring opens the sealed value —
//! AES-256-GCM, `KeyRing::open` — then the store decodes the record) into
//! `server::session::load`, and through `SealedCookies` into the login transactions' decode
//! (`Ledger::open`).
//!
//! Five shapes of input: a `Cookie` header as sent (almost never opens: the AEAD); a plaintext
//! record (as is, or its JSON envelope base64url-encoded as the store does) or login-cookie
//! value sealed here with the fixed key (`KeyRing::seal`), so the
//! fuzzer reaches the decoders behind the AEAD; any name and value sealed then opened, which
//! must give the value back; and a structured session sealed into a real record, which must
//! load as it was.

#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use app::wire::Farmer;
use arbitrary::Arbitrary;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header::COOKIE};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use server::bff::transaction::Ledger;
use server::cookies::{LOGIN, SESSION, SealedCookies, attributes, session_layer};
use server::session::{Gate, SessionData};
use server_fuzz::{keys, runtime};
use time::OffsetDateTime;
use tower::ServiceExt;
use tower_cookies::cookie::Cookie;
use tower_sessions::Session;

/// The BFF's clock in the checks (the record's own expiry is on the wall clock).
const NOW: i64 = 1_800_000_000;

/// A handler behind the real layers, reporting what it read: the session (`load`'s outcome)
/// and the open login transactions. Built once (sizing the cookie budget seals test records).
fn app() -> axum::Router {
    static APP: OnceLock<axum::Router> = OnceLock::new();
    APP.get_or_init(|| {
        axum::Router::new()
            .route(
                "/",
                get(|session: Session, cookies: SealedCookies| async move {
                    let loaded = match server::session::load(&session, NOW, &Gate::default()).await {
                        Ok(Some(data)) => json!({ "data": serde_json::to_value(&data).unwrap() }),
                        Ok(None) => json!("none"),
                        Err(error) => json!({ "error": error.to_string() }),
                    };
                    let open = Ledger::default().open(&cookies, NOW);
                    axum::Json(json!({ "session": loaded, "login": serde_json::to_value(open).unwrap() }))
                }),
            )
            .layer(axum::Extension(keys().clone()))
            .layer(session_layer(keys().clone()))
    })
    .clone()
}

/// What [`app`] reads from a request with this `Cookie` header.
fn read(cookie_header: HeaderValue) -> Value {
    let app = app();
    let request = Request::builder()
        .uri("/")
        .header(COOKIE, cookie_header)
        .body(Body::empty())
        .expect("a request");
    runtime().block_on(async {
        let response = app.oneshot(request).await.expect("infallible");
        assert!(
            response.status().is_success(),
            "status {} for a cookie",
            response.status()
        );
        let body = response.into_body().collect().await.expect("a body").to_bytes();
        serde_json::from_slice(&body).expect("the handler's JSON")
    })
}

/// `name=<value sealed with the fixed key>`.
fn sealed(name: &'static str, value: &str) -> HeaderValue {
    let cookie = keys().seal(attributes(name, value.to_owned()).build());
    HeaderValue::from_str(&format!("{}={}", cookie.name(), cookie.value())).expect("sealed is ASCII")
}

/// A session's fields, made by the fuzzer; times relative to [`NOW`].
#[derive(Arbitrary, Debug)]
struct Fields {
    sub: String,
    name: Option<String>,
    email: Option<String>,
    access_token: String,
    access_ttl: u32,
    access_issued_ago: Option<u32>,
    refresh_token: Option<String>,
    refresh_ttl: Option<u32>,
    scopes: Vec<String>,
    max_age: u32,
    renewed_ago: Option<u32>,
    id_token: Option<String>,
    session_id: String,
    provider_sid: Option<String>,
    logged_in_ago: Option<u16>,
}

impl Fields {
    fn session(self) -> SessionData {
        SessionData {
            farmer: Farmer {
                sub: self.sub,
                name: self.name,
                email: self.email,
            },
            access_token: self.access_token,
            access_token_expires_at: NOW + 1 + i64::from(self.access_ttl),
            access_token_issued_at: self.access_issued_ago.map(|ago| NOW - i64::from(ago)),
            refresh_token: self.refresh_token,
            refresh_token_expires_at: self.refresh_ttl.map(|ttl| NOW + 1 + i64::from(ttl)),
            scopes: self.scopes,
            session_expires_at: NOW + 1 + i64::from(self.max_age),
            renewed_at: self.renewed_ago.map(|ago| NOW - i64::from(ago)),
            id_token: self.id_token,
            // An empty id is a cookie from before ids (tested by the unit tests): one is given.
            session_id: format!("s{}", self.session_id),
            provider_sid: self.provider_sid,
            id_token_issued_at: self.logged_in_ago.map(|ago| NOW - i64::from(ago)),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Input<'a> {
    /// A `Cookie` header as a browser (or anyone) sends it.
    Header(&'a [u8]),
    /// The session record's plaintext, sealed.
    SessionRecord(&'a str),
    /// The session record's envelope (JSON), encoded as the store encodes it (base64url), sealed.
    SessionEnvelope(&'a str),
    /// The login cookie's plaintext, sealed.
    LoginValue(&'a str),
    /// Sealed under a name, opened under it: the value comes back.
    RoundTrip { login: bool, value: &'a str },
    /// A session written as the session layer writes it, then loaded.
    Session(Box<Fields>),
}

fuzz_target!(|input: Input| {
    match input {
        Input::Header(bytes) => {
            if let Ok(value) = HeaderValue::from_bytes(bytes) {
                read(value);
            }
        }
        Input::SessionRecord(plaintext) => {
            read(sealed(SESSION, plaintext));
        }
        Input::SessionEnvelope(json) => {
            read(sealed(SESSION, &URL_SAFE_NO_PAD.encode(json)));
        }
        Input::LoginValue(plaintext) => {
            let open = read(sealed(LOGIN, plaintext));
            for transaction in open["login"].as_array().expect("a list") {
                assert!(
                    transaction["e"].as_i64().expect("an expiry") > NOW,
                    "an expired transaction is open"
                );
            }
        }
        Input::RoundTrip { login, value } => {
            let name = if login { LOGIN } else { SESSION };
            let sealed = keys().seal(Cookie::new(name, value.to_owned()));
            assert_ne!(sealed.value(), value, "sealed");
            let opened = keys().open(&sealed).expect("what the ring sealed opens");
            assert_eq!(opened.value(), value);
            assert_eq!(opened.name(), name);
            let other = if login { SESSION } else { LOGIN };
            let renamed = Cookie::new(other, sealed.value().to_owned());
            assert!(keys().open(&renamed).is_none(), "opened under another name");
        }
        Input::Session(fields) => {
            let data = (*fields).session();
            let expected = serde_json::to_value(&data).expect("a session serializes");
            // What tower-sessions-cookie-store writes: its record around the data, under "s".
            let record = tower_sessions::session::Record {
                id: tower_sessions::session::Id::default(),
                data: HashMap::from([("s".to_owned(), expected.clone())]),
                expiry_date: OffsetDateTime::now_utc() + time::Duration::days(1),
            };
            let value = tower_sessions_cookie_store::encode_record(&record).expect("a record encodes");
            let loaded = read(sealed(SESSION, &value));
            assert_eq!(
                loaded["session"],
                json!({ "data": expected }),
                "a session did not load as written"
            );
        }
    }
});
