//! COOP's token endpoint parameters: a form body (and an `Authorization` header) through what
//! `POST /token` runs before any grant is looked up — `Params::parse` (RFC 6749 §3.1: a
//! parameter sent twice is an error, an empty one is absent), the grant type, client
//! authentication (`client_secret_basic` or `client_secret_post`) against COOP's default
//! clients — and the parsers the grants apply to it (`scope`, the PKCE verifier).
//!
//! Properties: never a panic; a parse keeps no empty value and refuses a repeated name; its
//! `to_query` parses back to the same parameters; a request authenticates only with a
//! registered client's secret, by exactly one method.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, header};
use coop::config::Config;
use coop::fuzzing::{Params, Scopes, authenticate, read_token_request, verify_s256};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "fuzz-secret";

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| Config::new(PathBuf::from("/nonexistent"), SECRET.into()))
}

// The input: the `Authorization` header up to the first newline (none when empty), then the
// form body.
fuzz_target!(|data: &[u8]| {
    let (authorization, body) = match data.iter().position(|&b| b == b'\n') {
        Some(newline) => (&data[..newline], &data[newline + 1..]),
        None => (&[][..], data),
    };
    if let Ok(params) = Params::parse(body) {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        for (name, value) in &pairs {
            if !value.is_empty() {
                assert_eq!(params.get(name), Some(value.as_str()), "{name}");
                let sent = pairs.iter().filter(|(n, v)| n == name && !v.is_empty()).count();
                assert_eq!(sent, 1, "{name} accepted twice");
            }
        }
        let again = Params::parse(params.to_query().as_bytes()).expect("its own query parses");
        assert_eq!(again.to_query(), params.to_query());
    }

    let mut headers = HeaderMap::new();
    if let Some(value) = Some(authorization)
        .filter(|v| !v.is_empty())
        .and_then(|v| HeaderValue::from_bytes(v).ok())
    {
        headers.insert(header::AUTHORIZATION, value);
    }
    let Ok((params, grant_type)) = read_token_request(body) else {
        return;
    };
    assert!(grant_type == "authorization_code" || grant_type == "refresh_token");
    if let Ok(client) = authenticate(config(), &headers, &params) {
        let registered = config().client(&client.id).expect("a registered client");
        assert!(
            client.secret == SECRET || client.secret == format!("{SECRET}.counting"),
            "authenticated as {}",
            client.id
        );
        assert_eq!(registered.secret, client.secret);
        // One method: a form secret, when sent, is the one that authenticated.
        if let Some(secret) = params.get("client_secret") {
            assert_eq!(secret, client.secret, "two methods accepted");
        }
    }
    if let Some(scope) = params.get("scope") {
        let scopes = Scopes::parse(scope);
        let _ = (scopes.unsupported(), scopes.in_words(), scopes.api_only());
        assert!(scopes.is_subset_of(&scopes.union(&Scopes::parse("openid"))));
    }
    if let (Some(verifier), Some(challenge)) = (params.get("code_verifier"), params.get("code_challenge")) {
        let _ = verify_s256(verifier, challenge);
    }
});
