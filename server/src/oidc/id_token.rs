//! ID-token validation (OpenID Connect Core §3.1.3.7) with `openidconnect`'s verifier:
//! signature by a key of the issuer's JWKS, with an algorithm that discovery lists, that is
//! asymmetric, and that the key allows (a JWK's `alg`, when present, must equal the header's);
//! `iss` exactly, `aud`, `exp`, `nonce`. Added here, as the crate leaves them to its users:
//! `azp` (required with several audiences, and equal to the client id whenever present) and
//! `iat` (required, at most [`IAT_LEEWAY`] ahead of the clock and [`IAT_MAX_AGE`] behind it).
//! The provider's login session (`sid`, OpenID Connect Back-Channel Logout 1.0 §2.1) is kept:
//! a logout token may name it.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, ClientId, IdToken, IssuerUrl, JsonWebKey, JwsSigningAlgorithm,
    Nonce, SignatureVerificationError,
};
use serde::{Deserialize, Serialize};

/// How far in the future `iat` may be (clock skew between the provider and the BFF).
pub const IAT_LEEWAY: Duration = Duration::from_secs(60);
/// How old an ID token may be: the BFF receives it straight from the token endpoint.
pub const IAT_MAX_AGE: Duration = Duration::from_secs(600);
/// How long after `exp` an ID token is still accepted (clock skew).
pub const EXP_LEEWAY: Duration = Duration::from_secs(30);

/// The claims the BFF keeps from an ID token.
#[derive(Debug)]
pub struct IdClaims {
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The provider's login session (`sid`), when the ID token names one: what a back-channel
    /// logout token names to end this login's session (Back-Channel Logout 1.0 §2.1, §2.4).
    pub sid: Option<String>,
    /// `iat`, Unix seconds: when the provider issued it for this login (a logout watermark at
    /// or after it ends the login, [`crate::store::watermarks`]).
    pub issued_at: i64,
}

/// The claims beyond OpenID Connect Core's that the BFF reads: `sid`.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct SessionClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

impl AdditionalClaims for SessionClaims {}

/// An ID token with its `sid`.
type SidIdToken =
    IdToken<SessionClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// Why an ID token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("not a readable ID token: {0}")]
    Malformed(String),
    #[error("algorithm refused: {0}")]
    Algorithm(String),
    #[error("no key of the provider has this kid and allows this algorithm")]
    NoMatchingKey,
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("azp: {0}")]
    AuthorizedParty(String),
    #[error("nonce mismatch")]
    Nonce,
}

/// What the token must match, besides the provider's keys.
pub struct Expected<'a> {
    /// The discovered issuer; `iss` must equal it exactly.
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce the SPA generated for this login.
    pub nonce: &'a str,
    /// Discovery's `id_token_signing_alg_values_supported`; symmetric ones and `none` are
    /// dropped here too.
    pub algorithms: &'a [CoreJwsSigningAlgorithm],
    /// The BFF's clock, in Unix seconds.
    pub now: i64,
}

/// Signature algorithms with a public key: not `none`, not HMAC (whose key would be the
/// client secret, known to more than the provider).
pub fn asymmetric(algorithm: &CoreJwsSigningAlgorithm) -> bool {
    !algorithm.uses_shared_secret() && *algorithm != CoreJwsSigningAlgorithm::None
}

/// The `kid` of the token's header, to decide whether the JWKS needs a refetch.
pub fn key_id(token: &str) -> Result<Option<String>, IdTokenError> {
    #[derive(Deserialize)]
    struct Header {
        kid: Option<String>,
    }
    let malformed = |what: &str| IdTokenError::Malformed(what.to_owned());
    let header = token.split('.').next().ok_or_else(|| malformed("no header"))?;
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| malformed("header is not base64url"))?;
    let header: Header = serde_json::from_slice(&json).map_err(|_| malformed("header is not JSON"))?;
    Ok(header.kid)
}

/// Whether `keys` has a key for `kid` (any key, when the token names none).
pub fn has_key(keys: &CoreJsonWebKeySet, kid: Option<&str>) -> bool {
    match kid {
        Some(kid) => keys
            .keys()
            .iter()
            .any(|key| key.key_id().map(|id| id.as_str()) == Some(kid)),
        None => !keys.keys().is_empty(),
    }
}

/// Validates `token` against the provider's `keys` and what is `expected`.
pub fn validate(
    token: &str,
    keys: &CoreJsonWebKeySet,
    expected: &Expected,
) -> Result<IdClaims, IdTokenError> {
    let token: SidIdToken = token
        .parse()
        .map_err(|e: serde_json::Error| IdTokenError::Malformed(e.to_string()))?;
    let issuer = IssuerUrl::new(expected.issuer.to_owned())
        .map_err(|e| IdTokenError::Invalid(format!("issuer: {e}")))?;
    let now = expected.now;
    let (leeway, max_age) = (IAT_LEEWAY.as_secs() as i64, IAT_MAX_AGE.as_secs() as i64);
    let verifier = openidconnect::IdTokenVerifier::new_public_client(
        ClientId::new(expected.client_id.to_owned()),
        issuer,
        keys.clone(),
    )
    .set_allowed_algs(expected.algorithms.iter().filter(|a| asymmetric(a)).cloned())
    // Other audiences are checked below: accepted only with `azp` naming this client.
    .set_other_audience_verifier_fn(|_| true)
    // `exp` is compared with this time, so it is the clock less the leeway.
    .set_time_fn(move || {
        DateTime::from_timestamp(now - EXP_LEEWAY.as_secs() as i64, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    })
    .set_issue_time_verifier_fn(move |iat| {
        let iat = iat.timestamp();
        if iat > now + leeway {
            Err(format!("iat is {} s in the future", iat - now))
        } else if iat < now - max_age {
            Err(format!("iat is {} s old", now - iat))
        } else {
            Ok(())
        }
    });
    let claims = token
        .into_claims(&verifier, &Nonce::new(expected.nonce.to_owned()))
        .map_err(claims_error)?;
    match claims.authorized_party() {
        Some(azp) if azp.as_str() != expected.client_id => {
            return Err(IdTokenError::AuthorizedParty(format!(
                "{:?} is not this client",
                azp.as_str()
            )));
        }
        None if claims.audiences().len() > 1 => {
            return Err(IdTokenError::AuthorizedParty(
                "missing, with several audiences".into(),
            ));
        }
        _ => {}
    }
    Ok(IdClaims {
        sub: claims.subject().to_string(),
        name: claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.to_string()),
        email: claims.email().map(|email| email.to_string()),
        sid: claims.additional_claims().sid.clone(),
        issued_at: claims.issue_time().timestamp(),
    })
}

fn claims_error(error: ClaimsVerificationError) -> IdTokenError {
    match error {
        ClaimsVerificationError::InvalidNonce(_) => IdTokenError::Nonce,
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey) => {
            IdTokenError::NoMatchingKey
        }
        ClaimsVerificationError::SignatureVerification(
            error @ (SignatureVerificationError::DisallowedAlg(_)
            | SignatureVerificationError::UnsupportedAlg(_)
            | SignatureVerificationError::NoSignature),
        ) => IdTokenError::Algorithm(error.to_string()),
        other => IdTokenError::Invalid(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    use serde_json::{Value, json};

    use super::*;

    const ISSUER: &str = "https://coop.example";
    const NOW: i64 = 1_800_000_000;

    fn encoding_key(seed: u8) -> EncodingKey {
        let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        EncodingKey::from_ec_pem(pem.as_bytes()).unwrap()
    }

    /// The JWKS of key `seed` (kid `k{seed}`), its JWK declaring `alg` if given.
    fn keys(seed: u8, alg: Option<&str>) -> CoreJsonWebKeySet {
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&encoding_key(seed), Algorithm::ES256).unwrap())
                .unwrap();
        let jwk_object = jwk.as_object_mut().unwrap();
        jwk_object.remove("alg");
        jwk_object.insert("kid".into(), json!(format!("k{seed}")));
        if let Some(alg) = alg {
            jwk_object.insert("alg".into(), json!(alg));
        }
        serde_json::from_value(json!({ "keys": [jwk] })).unwrap()
    }

    fn sign(seed: u8, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(format!("k{seed}"));
        jsonwebtoken::encode(&header, claims, &encoding_key(seed)).unwrap()
    }

    fn claims(changes: Value) -> Value {
        let mut claims = json!({ "iss": ISSUER, "aud": "topcluck", "sub": "ada", "exp": NOW + 300, "iat": NOW, "nonce": "n1", "name": "Ada" });
        for (name, value) in changes.as_object().unwrap() {
            match value {
                Value::Null => drop(claims.as_object_mut().unwrap().remove(name)),
                value => claims[name] = value.clone(),
            }
        }
        claims
    }

    fn check(
        token: &str,
        keys: &CoreJsonWebKeySet,
        algorithms: &[CoreJwsSigningAlgorithm],
    ) -> Result<IdClaims, IdTokenError> {
        let expected = Expected {
            issuer: ISSUER,
            client_id: "topcluck",
            nonce: "n1",
            algorithms,
            now: NOW,
        };
        validate(token, keys, &expected)
    }

    const ES256: &[CoreJwsSigningAlgorithm] = &[CoreJwsSigningAlgorithm::EcdsaP256Sha256];

    #[test]
    fn accepts_a_good_token_with_the_injected_clock() {
        let kept = check(&sign(1, &claims(json!({}))), &keys(1, Some("ES256")), ES256).unwrap();
        assert_eq!((kept.sub.as_str(), kept.name.as_deref()), ("ada", Some("Ada")));
        assert_eq!(kept.sid, None);
        let with_sid = check(&sign(1, &claims(json!({ "sid": "s-1" }))), &keys(1, None), ES256).unwrap();
        assert_eq!(with_sid.sid.as_deref(), Some("s-1"));
        // Within the leeways of the injected "now", though years away from the wall clock.
        for changes in [
            json!({ "iat": NOW + 60 }),
            json!({ "iat": NOW - 600 }),
            json!({ "exp": NOW - 29 }),
        ] {
            check(&sign(1, &claims(changes.clone())), &keys(1, None), ES256)
                .unwrap_or_else(|e| panic!("{changes}: {e}"));
        }
        let several = claims(json!({ "aud": ["topcluck", "other"], "azp": "topcluck" }));
        check(&sign(1, &several), &keys(1, None), ES256).unwrap();
    }

    #[test]
    fn refuses_each_bad_claim_for_its_own_reason() {
        type Reason = fn(&IdTokenError) -> bool;
        let azp: Reason = |e| matches!(e, IdTokenError::AuthorizedParty(_));
        let invalid: Reason = |e| matches!(e, IdTokenError::Invalid(_));
        let malformed: Reason = |e| matches!(e, IdTokenError::Malformed(_));
        let nonce: Reason = |e| *e == IdTokenError::Nonce;
        let cases: [(Value, Reason); 11] = [
            (json!({ "aud": ["topcluck", "other"] }), azp),
            (json!({ "aud": ["topcluck", "other"], "azp": "other" }), azp),
            (json!({ "azp": "other" }), azp),
            (json!({ "iat": null }), malformed),
            (json!({ "iat": NOW + 61 }), invalid),
            (json!({ "iat": NOW - 601 }), invalid),
            (json!({ "exp": NOW - 30 }), invalid),
            (json!({ "iss": format!("{ISSUER}/") }), invalid),
            (json!({ "aud": "other" }), invalid),
            (json!({ "nonce": "n2" }), nonce),
            (json!({ "nonce": null }), nonce),
        ];
        for (changes, reason) in cases {
            let error = check(&sign(1, &claims(changes.clone())), &keys(1, None), ES256).unwrap_err();
            assert!(reason(&error), "{changes}: {error}");
        }
        // Key 2's signature under key 1's kid.
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        let forged = jsonwebtoken::encode(&header, &claims(json!({})), &encoding_key(2)).unwrap();
        let error = check(&forged, &keys(1, None), ES256).unwrap_err();
        assert!(invalid(&error), "{error}");
    }

    #[test]
    fn pins_the_algorithm_to_discovery_asymmetric_ones_and_the_key() {
        let good = sign(1, &claims(json!({})));
        let rs256 = [CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256];
        assert!(matches!(
            check(&good, &keys(1, None), &rs256),
            Err(IdTokenError::Algorithm(_))
        ));
        let es256_es384 = [
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        ];
        assert_eq!(
            check(&good, &keys(1, Some("ES384")), &es256_es384).unwrap_err(),
            IdTokenError::NoMatchingKey
        );
        let hs256 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(json!({})),
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        let listed = [
            CoreJwsSigningAlgorithm::HmacSha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        ];
        assert!(matches!(
            check(&hs256, &keys(1, None), &listed),
            Err(IdTokenError::Algorithm(_))
        ));
        let unsigned = format!("eyJhbGciOiJub25lIn0.{}.", hs256.split('.').nth(1).unwrap());
        let none = [
            CoreJwsSigningAlgorithm::None,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        ];
        assert!(check(&unsigned, &keys(1, None), &none).is_err());
    }

    #[test]
    fn reads_the_kid_and_knows_which_keys_it_has() {
        let token = sign(1, &claims(json!({})));
        assert_eq!(key_id(&token).unwrap().as_deref(), Some("k1"));
        assert!(has_key(&keys(1, None), Some("k1")) && !has_key(&keys(1, None), Some("k2")));
        assert!(matches!(key_id("garbage!"), Err(IdTokenError::Malformed(_))));
    }
}
