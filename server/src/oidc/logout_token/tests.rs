//! The logout-token checks on the injected clock, with keys made here.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::json;

use super::*;

const ISSUER: &str = "https://coop.example";
const NOW: i64 = 1_800_000_000;
const ES256: &[CoreJwsSigningAlgorithm] = &[CoreJwsSigningAlgorithm::EcdsaP256Sha256];

fn encoding_key() -> EncodingKey {
    let secret = p256::SecretKey::from_slice(&[3; 32]).unwrap();
    EncodingKey::from_ec_pem(secret.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap()
}

fn keys() -> CoreJsonWebKeySet {
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&encoding_key(), Algorithm::ES256).unwrap()).unwrap();
    jwk["kid"] = json!("k1");
    serde_json::from_value(json!({ "keys": [jwk] })).unwrap()
}

fn sign(typ: Option<&str>, changes: Value) -> String {
    let mut claims = json!({
        "iss": ISSUER, "aud": "topcluck", "iat": NOW, "exp": NOW + 120, "jti": "j-1",
        "events": { EVENT: {} }, "sub": "ada", "sid": "s-1",
    });
    for (name, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => drop(claims.as_object_mut().unwrap().remove(name)),
            value => claims[name] = value.clone(),
        }
    }
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k1".into());
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, &encoding_key()).unwrap()
}

fn check(token: &str, now: i64) -> Result<LogoutClaims, LogoutTokenError> {
    let expected = Expected {
        issuer: ISSUER,
        client_id: "topcluck",
        algorithms: ES256,
        now,
    };
    validate(token, &keys(), &expected)
}

#[test]
fn accepts_typed_untyped_and_sid_or_sub_only_tokens_on_the_injected_clock() {
    let good = check(&sign(Some("logout+jwt"), json!({})), NOW).unwrap();
    assert_eq!(
        (good.sub.as_deref(), good.sid.as_deref()),
        (Some("ada"), Some("s-1"))
    );
    // Kept until exp plus the leeway: then it is refused as expired anyway.
    assert_eq!(good.refused_from, NOW + 120 + 30);
    for typ in [None, Some("application/logout+jwt"), Some("Logout+JWT")] {
        check(&sign(typ, json!({})), NOW).unwrap_or_else(|e| panic!("{typ:?}: {e}"));
    }
    let sid_only = check(&sign(Some("logout+jwt"), json!({ "sub": null })), NOW).unwrap();
    assert_eq!((sid_only.sub, sid_only.sid.as_deref()), (None, Some("s-1")));
    let sub_only = check(&sign(Some("logout+jwt"), json!({ "sid": null })), NOW).unwrap();
    assert_eq!((sub_only.sub.as_deref(), sub_only.sid), (Some("ada"), None));
    // The same jti from the same issuer: the same replay key.
    assert_eq!(sid_only.replay_key, sub_only.replay_key);
}

#[test]
fn times_are_checked_with_the_id_tokens_leeways_and_exp_is_required() {
    let token = sign(Some("logout+jwt"), json!({}));
    assert!(check(&token, NOW + 149).is_ok(), "within exp's leeway");
    assert_eq!(check(&token, NOW + 150).unwrap_err(), LogoutTokenError::Expired);
    assert!(check(&token, NOW - 60).is_ok(), "iat 60 s ahead");
    assert!(matches!(
        check(&token, NOW - 61),
        Err(LogoutTokenError::IssuedAt(_))
    ));
    let without_exp = sign(Some("logout+jwt"), json!({ "exp": null }));
    assert_eq!(
        check(&without_exp, NOW).unwrap_err(),
        LogoutTokenError::Claim("exp is missing")
    );
    let long_lived = sign(Some("logout+jwt"), json!({ "exp": NOW + 86_400 }));
    assert_eq!(check(&long_lived, NOW).unwrap().refused_from, NOW + 601);
    assert!(matches!(
        check(&long_lived, NOW + 601),
        Err(LogoutTokenError::IssuedAt(_))
    ));
}

#[test]
fn a_key_that_declares_another_algorithm_or_use_is_not_used() {
    let token = sign(Some("logout+jwt"), json!({}));
    for (name, value) in [("alg", "ES384"), ("use", "enc")] {
        let mut set = serde_json::to_value(keys()).unwrap();
        set["keys"][0][name] = json!(value);
        let set: CoreJsonWebKeySet = serde_json::from_value(set).unwrap();
        let expected = Expected {
            issuer: ISSUER,
            client_id: "topcluck",
            algorithms: ES256,
            now: NOW,
        };
        assert_eq!(
            validate(&token, &set, &expected).unwrap_err(),
            LogoutTokenError::NoMatchingKey,
            "{name}"
        );
    }
}

#[test]
fn absurd_dates_are_refused_without_overflow() {
    for (name, value) in [
        ("exp", json!(i64::MAX)),
        ("exp", json!(u64::MAX)),
        ("exp", json!(1e300)),
        ("exp", json!(1u64 << 53)),
        ("iat", json!(-1e300)),
        ("iat", json!(i64::MIN)),
        ("iat", json!(-1)),
        ("iat", json!(i64::MAX)),
    ] {
        let token = sign(Some("logout+jwt"), json!({ name: value.clone() }));
        assert!(
            matches!(check(&token, NOW), Err(LogoutTokenError::Claim(_))),
            "{name} = {value}"
        );
    }
}
