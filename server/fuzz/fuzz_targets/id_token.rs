//! The ID-token checks (`server::oidc::id_token::validate`, and `key_id`) and the back-channel
//! logout-token checks (`server::oidc::logout_token::{precheck, validate}`) with a fixed JWKS
//! (one ES256 key, `kid` `k1`) and configuration; discovery's list holds ES256, RS256, and the
//! HS256 and `none` that must never be used.
//!
//! Inputs: a header and claims (claims built around a good token's, or JSON fragments)
//! base64url-encoded into a JWS signed by the test key, by another key, or not at all (a bogus
//! signature); or any compact JWS.
//!
//! Properties: never a panic; an accepted token is ES256 signed by the test key (checked here
//! with `p256` on the token as sent), has the expected `iss` and, for an ID token, the nonce;
//! a logout token is never accepted as an ID token's nonce-less substitute or vice versa
//! without its own checks.

#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::{Value, json};
use server::oidc::{id_token, logout_token};

const ISSUER: &str = "https://coop.example";
const CLIENT: &str = "topcluck";
const NONCE: &str = "n1";
const NOW: i64 = 1_800_000_000;
const ALGORITHMS: &[CoreJwsSigningAlgorithm] = &[
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::HmacSha256,
    CoreJwsSigningAlgorithm::None,
];

struct Fixed {
    key: SigningKey,
    other: SigningKey,
    jwks: CoreJsonWebKeySet,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let key = SigningKey::from_slice(&[3; 32]).expect("a P-256 key");
        let point = key.verifying_key().to_encoded_point(false);
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
            "y": URL_SAFE_NO_PAD.encode(point.y().expect("y")),
        });
        Fixed {
            key,
            other: SigningKey::from_slice(&[4; 32]).expect("a P-256 key"),
            jwks: serde_json::from_value(json!({ "keys": [jwk] })).expect("a JWKS"),
        }
    })
}

/// Whether `token` is three parts whose signature is the test key's ES256 over the first two.
fn signed_by_test_key(token: &str) -> bool {
    let Some((message, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(&signature) else {
        return false;
    };
    let verifying: &VerifyingKey = fixed().key.verifying_key();
    verifying.verify(message.as_bytes(), &signature).is_ok()
}

fn payload(token: &str) -> Value {
    let encoded = token.split('.').nth(1).expect("a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).expect("base64url")).expect("JSON")
}

#[derive(Arbitrary, Debug)]
enum Signing<'a> {
    TestKey,
    OtherKey,
    Bogus(&'a [u8]),
}

/// Claims around a good ID token's (or logout token's), each changed or not by the fuzzer.
#[derive(Arbitrary, Debug)]
struct Claims<'a> {
    logout: bool,
    iss: Option<&'a str>,
    aud: Option<Vec<&'a str>>,
    azp: Option<&'a str>,
    exp: Option<i64>,
    iat: Option<i64>,
    nonce: Option<&'a str>,
    sid: Option<&'a str>,
    sub: Option<&'a str>,
    events: Option<&'a str>,
    drop: u16,
}

impl Claims<'_> {
    fn json(&self) -> Value {
        let mut claims = json!({ "iss": ISSUER, "aud": CLIENT, "sub": "ada", "exp": NOW + 300, "iat": NOW });
        if self.logout {
            claims["jti"] = json!("j-1");
            claims["events"] = json!({ logout_token::EVENT: {} });
            claims["sid"] = json!("s-1");
        } else {
            claims["nonce"] = json!(NONCE);
        }
        let set = |claims: &mut Value, name: &str, value: Option<Value>| {
            if let Some(value) = value {
                claims[name] = value;
            }
        };
        set(&mut claims, "iss", self.iss.map(|v| json!(v)));
        set(&mut claims, "aud", self.aud.as_ref().map(|v| json!(v)));
        set(&mut claims, "azp", self.azp.map(|v| json!(v)));
        set(&mut claims, "exp", self.exp.map(|v| json!(v)));
        set(&mut claims, "iat", self.iat.map(|v| json!(v)));
        set(&mut claims, "nonce", self.nonce.map(|v| json!(v)));
        set(&mut claims, "sid", self.sid.map(|v| json!(v)));
        set(&mut claims, "sub", self.sub.map(|v| json!(v)));
        set(
            &mut claims,
            "events",
            self.events.map(|v| serde_json::from_str(v).unwrap_or(json!(v))),
        );
        let names = ["iss", "aud", "sub", "exp", "iat", "nonce", "jti", "events", "sid"];
        for (bit, name) in names.iter().enumerate() {
            if self.drop & (1 << bit) != 0 {
                claims.as_object_mut().expect("an object").remove(*name);
            }
        }
        claims
    }
}

#[derive(Arbitrary, Debug)]
enum Input<'a> {
    /// A header over claims built around a good token's: `alg` ES256 and `kid` `k1` unless
    /// given (or left out), `typ` if given. First, so that an input of zeros is a good ID
    /// token signed by the test key.
    Built {
        alg: Option<&'a str>,
        kid: Option<&'a str>,
        no_kid: bool,
        typ: Option<&'a str>,
        claims: Claims<'a>,
        signing: Signing<'a>,
    },
    /// A compact JWS as sent.
    Compact(&'a str),
    /// Header and claims as JSON text.
    Fragments {
        header: &'a str,
        claims: &'a str,
        signing: Signing<'a>,
    },
}

fn jws(header: &[u8], claims: &[u8], signing: &Signing) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = match signing {
        Signing::TestKey => Signer::<Signature>::sign(&fixed().key, message.as_bytes())
            .to_bytes()
            .to_vec(),
        Signing::OtherKey => Signer::<Signature>::sign(&fixed().other, message.as_bytes())
            .to_bytes()
            .to_vec(),
        Signing::Bogus(bytes) => bytes.to_vec(),
    };
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn check(token: &str) {
    let _ = id_token::key_id(token);
    let expected = id_token::Expected {
        issuer: ISSUER,
        client_id: CLIENT,
        nonce: NONCE,
        algorithms: ALGORITHMS,
        now: NOW,
    };
    if let Ok(claims) = id_token::validate(token, &fixed().jwks, &expected) {
        assert!(
            signed_by_test_key(token),
            "an ID token not signed by the test key accepted: {token}"
        );
        let payload = payload(token);
        assert_eq!(payload["iss"], ISSUER, "{token}");
        assert_eq!(payload["nonce"], NONCE, "{token}");
        assert_eq!(payload["sub"], claims.sub.as_str(), "{token}");
        let iat = claims.issued_at;
        let window =
            NOW - id_token::IAT_MAX_AGE.as_secs() as i64..=NOW + id_token::IAT_LEEWAY.as_secs() as i64;
        assert!(window.contains(&iat), "iat {iat} accepted");
    }
    let _ = logout_token::precheck(token, ALGORITHMS);
    let expected = logout_token::Expected {
        issuer: ISSUER,
        client_id: CLIENT,
        algorithms: ALGORITHMS,
        now: NOW,
    };
    if logout_token::validate(token, &fixed().jwks, &expected).is_ok() {
        assert!(
            signed_by_test_key(token),
            "a logout token not signed by the test key accepted: {token}"
        );
        let payload = payload(token);
        assert_eq!(payload["iss"], ISSUER, "{token}");
        assert!(
            payload.get("nonce").is_none(),
            "a logout token with a nonce accepted: {token}"
        );
        assert!(payload["events"].get(logout_token::EVENT).is_some(), "{token}");
    }
}

fuzz_target!(|input: Input| {
    let token = match input {
        Input::Compact(token) => token.to_owned(),
        Input::Fragments {
            header,
            claims,
            signing,
        } => jws(header.as_bytes(), claims.as_bytes(), &signing),
        Input::Built {
            alg,
            kid,
            no_kid,
            typ,
            claims,
            signing,
        } => {
            let mut header = json!({ "alg": alg.unwrap_or("ES256") });
            if !no_kid {
                header["kid"] = json!(kid.unwrap_or("k1"));
            }
            if let Some(typ) = typ {
                header["typ"] = json!(typ);
            }
            let header = serde_json::to_vec(&header).expect("JSON");
            let claims = serde_json::to_vec(&claims.json()).expect("JSON");
            jws(&header, &claims, &signing)
        }
    };
    check(&token);
});
