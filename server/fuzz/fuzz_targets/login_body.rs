//! The SPA's login requests, through the extractors and checks the handlers use:
//! `GET /bff/login?…` (axum's `Query<LoginStart>`, then `checked_start`) and the callback's
//! `POST /bff/login` body (axum's `Json<CodeExchange>`, then the open transaction of its `state`
//! taken from the ledger, `check_exchange` and the `iss` check against discovery).
//!
//! Properties: never a panic; an accepted start has an S256 challenge of 32 bytes and a
//! `prompt` its purpose allows; an accepted exchange has this site's `redirect_uri`, a code, an
//! RFC 7636 verifier whose S256 is the transaction's challenge; an accepted `iss` is the
//! provider's (or absent where the provider does not send one).

#![no_main]

use app::wire::{CodeExchange, LoginStart};
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Query};
use axum::http::{Request, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use server::bff::fuzzing::{check_exchange, check_issuer, checked_start};
use server::bff::transaction::{Ledger, Purpose, Transaction};
use server::cookies::SealedCookies;
use server::oidc::Metadata;
use server_fuzz::{keys, runtime};
use sha2::Digest;

const REDIRECT_URI: &str = "https://topcluck.example/callback";
const ISSUER: &str = "https://coop.example";
const NOW: i64 = 1_800_000_000;
/// The verifier of the open transaction (RFC 7636 Appendix B's).
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const STATE: &str = "state-of-the-open-transaction";

fn metadata(sends_iss: bool) -> Metadata {
    Metadata {
        issuer: ISSUER.into(),
        authorization_endpoint: format!("{ISSUER}/authorize"),
        token_endpoint: format!("{ISSUER}/token"),
        jwks_uri: format!("{ISSUER}/jwks"),
        revocation_endpoint: None,
        end_session_endpoint: None,
        introspection_endpoint: None,
        id_token_algorithms: Vec::new(),
        pushed_authorization_request_endpoint: None,
        require_pushed_authorization_requests: false,
        authorization_response_iss_parameter_supported: sends_iss,
    }
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn open_transaction() -> Transaction {
    Transaction {
        state: STATE.into(),
        nonce: "nonce".into(),
        challenge: s256(VERIFIER),
        scopes: vec!["openid".into()],
        expires_at: NOW + 600,
        purpose: Purpose::Login,
    }
}

// The input: a flags byte (bit 0: a counting transaction; bit 1: discovery says the provider
// sends `iss`), the `GET /bff/login` query up to the first newline, then the `POST` body (JSON).
fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (query, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(newline) => (&rest[..newline], &rest[newline + 1..]),
        None => (rest, &[][..]),
    };
    if let Ok(query) = std::str::from_utf8(query) {
        runtime().block_on(start(query, flags & 1 != 0));
    }
    runtime().block_on(exchange(body, flags & 2 != 0));
});

async fn start(query: &str, counting: bool) {
    let Ok(request) = Request::builder().uri(format!("/bff/login?{query}")).body(()) else {
        return;
    };
    let (mut parts, ()) = request.into_parts();
    let extracted = Query::<LoginStart>::from_request_parts(&mut parts, &()).await;
    let purpose = if counting {
        Purpose::Counting
    } else {
        Purpose::Login
    };
    let Ok((start, prompt)) = checked_start(extracted, purpose) else {
        return;
    };
    assert_eq!(start.code_challenge_method, "S256");
    let challenge = URL_SAFE_NO_PAD.decode(&start.code_challenge).expect("base64url");
    assert_eq!(challenge.len(), 32);
    match purpose {
        Purpose::Login => assert!(start.prompt.is_none() || prompt == Some("none")),
        Purpose::Counting => assert_eq!((start.prompt, prompt), (None, Some("consent"))),
    }
}

async fn exchange(body: &[u8], sends_iss: bool) {
    let request = Request::builder()
        .method("POST")
        .uri("/bff/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("a request");
    let Ok(Json(exchange)) = Json::<CodeExchange>::from_request(request, &()).await else {
        return;
    };
    // The handler's order: the transaction of `state` is taken, then checked.
    let cookies = SealedCookies::new(tower_cookies::Cookies::default(), keys().clone());
    let ledger = Ledger::default();
    let Some(opened) = ledger.take(&cookies, vec![open_transaction()], &exchange.state, NOW) else {
        assert_ne!(exchange.state, STATE, "the open transaction was not found");
        return;
    };
    assert_eq!(opened.state, exchange.state);
    assert!(
        ledger
            .take(&cookies, vec![open_transaction()], &exchange.state, NOW)
            .is_none(),
        "a transaction taken twice"
    );
    if check_exchange(&exchange, REDIRECT_URI, &opened).is_ok() {
        assert_eq!(exchange.redirect_uri, REDIRECT_URI);
        assert!(!exchange.code.is_empty());
        assert!((43..=128).contains(&exchange.code_verifier.len()));
        assert_eq!(s256(&exchange.code_verifier), opened.challenge);
    }
    if check_issuer(&metadata(sends_iss), exchange.iss.as_deref()).is_ok() {
        match exchange.iss.as_deref() {
            Some(iss) => assert_eq!(iss, ISSUER),
            None => assert!(!sends_iss, "a missing iss accepted"),
        }
    }
}
