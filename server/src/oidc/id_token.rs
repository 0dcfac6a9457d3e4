//! ID-token validation (OpenID Connect Core §3.1.3.7): signature by a key of the issuer's
//! JWKS, `iss`, `aud`, `exp` and `nonce`. Only asymmetric algorithms are accepted.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The claims the BFF keeps from an ID token.
#[derive(Debug, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
    nonce: Option<String>,
}

/// Why an ID token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("not a JWT")]
    Malformed,
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(Algorithm),
    #[error("no key with this kid")]
    UnknownKey,
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("nonce mismatch")]
    Nonce,
}

const ACCEPTED: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The header's algorithm and key id, checked against the accepted algorithms.
pub fn header(token: &str) -> Result<(Algorithm, Option<String>), IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if !ACCEPTED.contains(&header.alg) {
        return Err(IdTokenError::Algorithm(header.alg));
    }
    Ok((header.alg, header.kid))
}

/// Validates `token` with `key`; `nonce` is the one the SPA generated for this login.
pub fn validate(
    token: &str,
    algorithm: Algorithm,
    key: &DecodingKey,
    issuer: &str,
    client_id: &str,
    nonce: &str,
) -> Result<IdClaims, IdTokenError> {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["iss", "aud", "exp", "sub"]);
    validation.leeway = 30;
    let claims = jsonwebtoken::decode::<IdClaims>(token, key, &validation)
        .map_err(|e| IdTokenError::Invalid(format!("{:?}", e.kind())))?
        .claims;
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(IdTokenError::Nonce);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    use serde_json::json;

    use super::*;

    struct Signer {
        encoding: EncodingKey,
        decoding: DecodingKey,
    }

    fn signer(seed: u8) -> Signer {
        let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
        let private = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let public = secret.public_key().to_public_key_pem(LineEnding::LF).unwrap();
        Signer {
            encoding: EncodingKey::from_ec_pem(private.as_bytes()).unwrap(),
            decoding: DecodingKey::from_ec_pem(public.as_bytes()).unwrap(),
        }
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn token(key: &Signer, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &key.encoding).unwrap()
    }

    fn claims() -> serde_json::Value {
        json!({ "iss": "https://coop.example", "aud": "topcluck", "sub": "ada", "exp": now() + 300, "iat": now(), "nonce": "n1", "name": "Ada" })
    }

    fn check(token: &str, key: &Signer) -> Result<IdClaims, IdTokenError> {
        validate(
            token,
            Algorithm::ES256,
            &key.decoding,
            "https://coop.example",
            "topcluck",
            "n1",
        )
    }

    #[test]
    fn accepts_a_good_token() {
        let key = signer(1);
        let claims = check(&token(&key, claims()), &key).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.name.as_deref()),
            ("ada", Some("Ada"))
        );
    }

    #[test]
    fn refuses_bad_signature_wrong_audience_issuer_nonce_and_expired_tokens() {
        let key = signer(1);
        assert!(
            matches!(
                check(&token(&signer(2), claims()), &key),
                Err(IdTokenError::Invalid(_))
            ),
            "bad signature"
        );
        let cases = [
            ("aud", json!("someone-else")),
            ("iss", json!("https://evil.example")),
            ("exp", json!(now() - 120)),
        ];
        for (claim, value) in cases {
            let mut bad = claims();
            bad[claim] = value;
            assert!(
                matches!(check(&token(&key, bad), &key), Err(IdTokenError::Invalid(_))),
                "{claim}"
            );
        }
        let mut other_nonce = claims();
        other_nonce["nonce"] = json!("n2");
        assert_eq!(
            check(&token(&key, other_nonce), &key).unwrap_err(),
            IdTokenError::Nonce
        );
        let mut no_nonce = claims();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert_eq!(
            check(&token(&key, no_nonce), &key).unwrap_err(),
            IdTokenError::Nonce
        );
    }

    #[test]
    fn refuses_symmetric_and_unsigned_algorithms() {
        let hs256 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert_eq!(
            header(&hs256).unwrap_err(),
            IdTokenError::Algorithm(Algorithm::HS256)
        );
        let unsigned = format!("{}.{}.", "eyJhbGciOiJub25lIn0", hs256.split('.').nth(1).unwrap());
        assert_eq!(header(&unsigned).unwrap_err(), IdTokenError::Malformed);
        assert_eq!(header("garbage").unwrap_err(), IdTokenError::Malformed);
    }
}
