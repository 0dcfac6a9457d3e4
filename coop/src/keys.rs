//! The signing key (ES256), kept in the store so tokens stay valid across restarts, and its
//! public half as a JWKS.

use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::random::random_bytes;
use crate::store::{Store, StoreError, settings};

const SETTING: &str = "signing_key_pem";

pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwks: JwkSet,
}

impl SigningKey {
    /// The stored key, or a new one (stored) on first start.
    pub fn load_or_create(store: &Store) -> Result<Self, StoreError> {
        let pem = store.transaction(|db| match settings::get(db, SETTING)? {
            Some(pem) => Ok::<_, StoreError>(pem),
            None => {
                let pem = generate_pem();
                settings::set(db, SETTING, &pem)?;
                Ok(pem)
            }
        })?;
        Ok(Self::from_pem(&pem))
    }

    fn from_pem(pem: &str) -> Self {
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).expect("a valid stored ES256 key");
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).expect("an ES256 JWK");
        let kid = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .expect("a JWK thumbprint");
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
        let decoding = DecodingKey::from_jwk(&jwk).expect("a decoding key from our own JWK");
        Self {
            kid,
            encoding,
            decoding,
            jwks: JwkSet { keys: vec![jwk] },
        }
    }

    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// Signs `claims` as a JWT with the given `typ` header.
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(typ.to_owned());
        self.sign_with(header, claims)
    }

    /// Signs `claims` with this `header` (its `kid` set to this key's): for the test kit's
    /// tokens of chosen shapes.
    pub fn sign_with(&self, mut header: Header, claims: &impl Serialize) -> String {
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signing with our own key")
    }

    /// The key's id (its JWK thumbprint).
    #[cfg(feature = "testkit")]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Verifies signature, `typ`, `iss`, `aud` and `exp` of a JWT signed by this key; `exp`
    /// against `now_s` (COOP's clock, in seconds), not the wall clock.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
        audience: &str,
        now_s: i64,
    ) -> Option<T> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.typ.as_deref() != Some(typ) {
            return None;
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.leeway = 0;
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Value>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        // RFC 7519 §4.1.4: not accepted on or after `exp`.
        let exp = claims.get("exp")?.as_i64()?;
        if now_s >= exp {
            return None;
        }
        serde_json::from_value(claims).ok()
    }

    /// Verifies signature, `typ` and `iss` of a JWT signed by this key, and that it has `aud`
    /// and `sub`, but neither its `exp` nor its audience: for an `id_token_hint`, which may have
    /// expired and whose audience the caller compares itself.
    pub fn verify_ignoring_expiry<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
    ) -> Option<T> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.typ.as_deref() != Some(typ) {
            return None;
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[issuer]);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["iss", "aud", "sub"]);
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

fn generate_pem() -> String {
    loop {
        // Nearly every 32-byte string is a valid P-256 scalar; retry the rare one that is not.
        if let Ok(secret) = p256::SecretKey::from_slice(&random_bytes::<32>()) {
            return secret
                .to_pkcs8_pem(LineEnding::LF)
                .expect("PKCS#8 encoding")
                .to_string();
        }
    }
}
