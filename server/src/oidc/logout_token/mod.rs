//! Logout-token validation, OpenID Connect Back-Channel Logout 1.0 §2.6, with the ID token's
//! machinery ([`super::id_token`]): the provider's JWKS from discovery (an unknown `kid`
//! refetches it, at most once per 30 s, [`super::Provider`]), the algorithms discovery lists for ID tokens less the
//! symmetric ones and `none` (§2.6 step 3), a key that allows the algorithm, and the ID token's
//! leeways. A logout token is a JWT but not an ID token — it may lack `sub` and `exp` — so the
//! signature is checked here with `openidconnect`'s key ([`JsonWebKey::verify_signature`]) rather
//! than its ID-token verifier.
//!
//! Checked, each refused with its own reason ([`LogoutTokenError`]):
//! - three base64url parts (an encrypted token is refused: TopCluck registers no encryption
//!   key), a JSON header without `crit` or `cty`, `typ` `logout+jwt` (§2.4: explicit typing, so
//!   no other kind of JWT — an ID token, `typ: JWT` — can pass for one; a token without `typ` is
//!   accepted, for providers built to drafts before typing);
//! - `iss` exactly the discovered issuer; `aud` the login client's id and no other (the daily
//!   counting client's id is not accepted: its grant is not a browser session's);
//! - `iat` (required) at most [`IAT_LEEWAY`] ahead and [`IAT_MAX_AGE`] behind the clock, as for
//!   ID tokens; `exp` (required, as in an ID token; §2.4 lists it) not passed (less
//!   [`EXP_LEEWAY`]); both within `0..2^53` ([`LATEST_DATE`]), so no sum overflows;
//! - `jti` present (its reuse is the store's to refuse: [`LogoutClaims::replay_key`]);
//! - `events` a JSON object with the member [`EVENT`], itself a JSON object (§2.4);
//! - `sub` and/or `sid` present, as strings; no `nonce` (§2.4: what keeps an ID token out).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyUse, JwsSigningAlgorithm};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::id_token::{EXP_LEEWAY, IAT_LEEWAY, IAT_MAX_AGE, asymmetric};

/// The event a logout token carries (§2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The `typ` of a logout token (§2.4), compared as RFC 7515 §4.1.9 says: without its
/// `application/` prefix, ignoring case.
pub const TYP: &str = "logout+jwt";

/// Why a logout token was refused: the `error_description` of the 400 (never the token).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogoutTokenError {
    #[error("logout_token is not a signed JWT: {0}")]
    Malformed(&'static str),
    #[error("logout_token typ is not logout+jwt")]
    Type,
    #[error("logout_token algorithm refused: {0}")]
    Algorithm(&'static str),
    #[error("logout_token: no key of the provider has this kid and allows this algorithm")]
    NoMatchingKey,
    #[error("logout_token signature does not verify")]
    Signature,
    #[error("logout_token iss is not the provider")]
    Issuer,
    #[error("logout_token aud is not this client alone")]
    Audience,
    #[error("logout_token iat: {0}")]
    IssuedAt(String),
    #[error("logout_token has expired")]
    Expired,
    #[error("logout_token has no jti")]
    NoJti,
    #[error("logout_token claim: {0}")]
    Claim(&'static str),
    #[error("logout_token events: {0}")]
    Events(&'static str),
    #[error("logout_token has neither sub nor sid")]
    NoSubject,
    #[error("logout_token has a nonce: it is not a logout token")]
    Nonce,
    #[error("logout_token was already used")]
    Replayed,
}

/// What the logout token must match, besides the provider's keys.
pub struct Expected<'a> {
    /// The discovered issuer; `iss` must equal it exactly.
    pub issuer: &'a str,
    /// The login client's id: the only audience accepted.
    pub client_id: &'a str,
    /// Discovery's `id_token_signing_alg_values_supported` (symmetric ones and `none` are
    /// dropped here too).
    pub algorithms: &'a [CoreJwsSigningAlgorithm],
    /// The BFF's clock, in Unix seconds.
    pub now: i64,
}

/// What a valid logout token says.
#[derive(Debug)]
pub struct LogoutClaims {
    pub sub: Option<String>,
    pub sid: Option<String>,
    /// The SHA-256 of issuer and `jti`: what the store keeps to refuse a replay.
    pub replay_key: Vec<u8>,
    /// From this time on the token would be refused as too old or expired anyway on this
    /// instance's clock.
    pub refused_from: i64,
    /// Until when [`LogoutClaims::replay_key`] is kept: [`LogoutClaims::refused_from`] plus the
    /// `iat` and `exp` leeways, for instances whose clocks lag this one's.
    pub replay_key_expires_at: i64,
}

/// The parts of the token's JOSE header that are read.
fn header(encoded: &str) -> Result<Map<String, Value>, LogoutTokenError> {
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| LogoutTokenError::Malformed("header is not base64url"))?;
    match serde_json::from_slice(&json) {
        Ok(Value::Object(header)) => Ok(header),
        _ => Err(LogoutTokenError::Malformed("header is not a JSON object")),
    }
}

/// The checks that need no key — three parts, the header's `alg`, `typ`, no `crit` or `cty` —
/// and then the header's `kid`: a token refused here never makes the provider's JWKS be
/// fetched again ([`crate::oidc::Provider`]).
pub fn precheck(
    token: &str,
    algorithms: &[CoreJwsSigningAlgorithm],
) -> Result<Option<String>, LogoutTokenError> {
    let (header, _) = checked_header(token, algorithms)?;
    Ok(header.get("kid").and_then(Value::as_str).map(str::to_owned))
}

/// A token's header, its algorithm and its three encoded parts.
type Checked<'t> = (Map<String, Value>, (CoreJwsSigningAlgorithm, [&'t str; 3]));

/// The token's parts and header, checked as [`precheck`] says, and its algorithm.
fn checked_header<'t>(
    token: &'t str,
    algorithms: &[CoreJwsSigningAlgorithm],
) -> Result<Checked<'t>, LogoutTokenError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [encoded_header, encoded_payload, encoded_signature] = parts[..] else {
        return Err(LogoutTokenError::Malformed(if parts.len() == 5 {
            "an encrypted token (none is expected)"
        } else {
            "not three parts"
        }));
    };
    let header = header(encoded_header)?;
    let algorithm = algorithm(&header, algorithms)?;
    check_type(&header)?;
    if header.contains_key("crit") || header.contains_key("cty") {
        return Err(LogoutTokenError::Malformed("crit or cty in the header"));
    }
    Ok((
        header,
        (algorithm, [encoded_header, encoded_payload, encoded_signature]),
    ))
}

/// Validates `token` against the provider's `keys` and what is `expected` (all but the replay
/// check, which needs the store).
pub fn validate(
    token: &str,
    keys: &CoreJsonWebKeySet,
    expected: &Expected,
) -> Result<LogoutClaims, LogoutTokenError> {
    let (header, (algorithm, [encoded_header, encoded_payload, encoded_signature])) =
        checked_header(token, expected.algorithms)?;
    let kid = header.get("kid").and_then(Value::as_str);
    let key = signing_key(keys, kid, &algorithm)?;
    let signature = URL_SAFE_NO_PAD
        .decode(encoded_signature)
        .map_err(|_| LogoutTokenError::Malformed("signature is not base64url"))?;
    let message = format!("{encoded_header}.{encoded_payload}");
    key.verify_signature(&algorithm, message.as_bytes(), &signature)
        .map_err(|_| LogoutTokenError::Signature)?;
    let payload = URL_SAFE_NO_PAD
        .decode(encoded_payload)
        .map_err(|_| LogoutTokenError::Malformed("payload is not base64url"))?;
    let Ok(Value::Object(claims)) = serde_json::from_slice(&payload) else {
        return Err(LogoutTokenError::Malformed("payload is not a JSON object"));
    };
    check_claims(&claims, expected)
}

/// The header's `alg`: one discovery lists, asymmetric, never `none` (§2.6 step 3).
fn algorithm(
    header: &Map<String, Value>,
    allowed: &[CoreJwsSigningAlgorithm],
) -> Result<CoreJwsSigningAlgorithm, LogoutTokenError> {
    let alg = header
        .get("alg")
        .filter(|alg| alg.is_string())
        .ok_or(LogoutTokenError::Malformed("no alg"))?;
    let algorithm: CoreJwsSigningAlgorithm =
        serde_json::from_value(alg.clone()).map_err(|_| LogoutTokenError::Algorithm("unknown"))?;
    if !asymmetric(&algorithm) {
        return Err(LogoutTokenError::Algorithm("none or symmetric"));
    }
    if !allowed.contains(&algorithm) {
        return Err(LogoutTokenError::Algorithm(
            "not one the provider's discovery lists",
        ));
    }
    Ok(algorithm)
}

/// `typ`, when present, is `logout+jwt` (`application/logout+jwt`, any case).
fn check_type(header: &Map<String, Value>) -> Result<(), LogoutTokenError> {
    match header.get("typ") {
        None => Ok(()),
        Some(Value::String(typ)) => {
            let typ = typ.to_ascii_lowercase();
            let typ = typ.strip_prefix("application/").unwrap_or(&typ);
            if typ == TYP {
                Ok(())
            } else {
                Err(LogoutTokenError::Type)
            }
        }
        Some(_) => Err(LogoutTokenError::Type),
    }
}

/// The one key of `keys` with this `kid` (any, without one) that may verify `algorithm`: its use
/// allows signatures, its type is the algorithm's, and its own `alg`, if any, is `algorithm`.
fn signing_key<'k>(
    keys: &'k CoreJsonWebKeySet,
    kid: Option<&str>,
    algorithm: &CoreJwsSigningAlgorithm,
) -> Result<&'k openidconnect::core::CoreJsonWebKey, LogoutTokenError> {
    let fitting: Vec<_> = keys
        .keys()
        .iter()
        .filter(|key| kid.is_none_or(|kid| key.key_id().map(|id| id.as_str()) == Some(kid)))
        .filter(|key| key.key_use().is_none_or(|usage| usage.allows_signature()))
        .filter(|key| algorithm.key_type().as_ref() == Some(key.key_type()))
        .filter(|key| match key.signing_alg() {
            JsonWebKeyAlgorithm::Unspecified => true,
            JsonWebKeyAlgorithm::Algorithm(alg) => alg == algorithm,
            JsonWebKeyAlgorithm::Unsupported => false,
        })
        .collect();
    match fitting[..] {
        [key] => Ok(key),
        _ => Err(LogoutTokenError::NoMatchingKey),
    }
}

/// The latest date accepted, exclusive: 2^53 seconds (JSON numbers are exact up to there;
/// anything later is no real date, and sums with it could overflow).
pub const LATEST_DATE: i64 = 1 << 53;

/// A NumericDate claim (RFC 7519 §2), to whole seconds, within `0..`[`LATEST_DATE`].
fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, LogoutTokenError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = value
        .as_i64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && *f < LATEST_DATE as f64)
                .map(|f| f.floor() as i64)
        })
        .ok_or(LogoutTokenError::Claim(
            "iat or exp is not a number within 0..2^53",
        ))?;
    if (0..LATEST_DATE).contains(&seconds) {
        Ok(Some(seconds))
    } else {
        Err(LogoutTokenError::Claim(
            "iat or exp is not a number within 0..2^53",
        ))
    }
}

/// A claim that must be a non-empty string when present.
fn text<'c>(claims: &'c Map<String, Value>, name: &str) -> Result<Option<&'c str>, LogoutTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(value)) if !value.is_empty() => Ok(Some(value)),
        Some(_) => Err(LogoutTokenError::Claim(
            "sub, sid or jti is not a non-empty string",
        )),
    }
}

/// The claims, in §2.6's order (steps 4–7).
fn check_claims(claims: &Map<String, Value>, expected: &Expected) -> Result<LogoutClaims, LogoutTokenError> {
    if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
        return Err(LogoutTokenError::Issuer);
    }
    let only_this_client = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expected.client_id,
        Some(Value::Array(auds)) => {
            !auds.is_empty() && auds.iter().all(|aud| aud.as_str() == Some(expected.client_id))
        }
        _ => false,
    };
    if !only_this_client {
        return Err(LogoutTokenError::Audience);
    }
    let refused_from = check_times(claims, expected.now)?;
    let jti = text(claims, "jti")?.ok_or(LogoutTokenError::NoJti)?;
    let Some(Value::Object(events)) = claims.get("events") else {
        return Err(LogoutTokenError::Events("missing, or not a JSON object"));
    };
    match events.get(EVENT) {
        Some(Value::Object(_)) => {}
        Some(_) => {
            return Err(LogoutTokenError::Events(
                "the back-channel logout member is not a JSON object",
            ));
        }
        None => return Err(LogoutTokenError::Events("no back-channel logout member")),
    }
    let (sub, sid) = (text(claims, "sub")?, text(claims, "sid")?);
    if sub.is_none() && sid.is_none() {
        return Err(LogoutTokenError::NoSubject);
    }
    if claims.contains_key("nonce") {
        return Err(LogoutTokenError::Nonce);
    }
    Ok(LogoutClaims {
        sub: sub.map(str::to_owned),
        sid: sid.map(str::to_owned),
        replay_key: Sha256::digest(format!("{}\n{jti}", expected.issuer)).to_vec(),
        refused_from,
        replay_key_expires_at: refused_from.saturating_add((IAT_LEEWAY + EXP_LEEWAY).as_secs() as i64),
    })
}

/// `iat` and `exp` as an ID token's (§2.6 step 4): both required (OpenID Connect Core §2 makes
/// `exp` required in an ID token, and §2.4 lists it in a logout token). Returns the first time
/// at which the token is refused as too old or expired. All arithmetic is checked: a date
/// outside `0..2^53` is refused before any sum is made.
fn check_times(claims: &Map<String, Value>, now: i64) -> Result<i64, LogoutTokenError> {
    let leeway = IAT_LEEWAY.as_secs() as i64;
    let iat = seconds(claims, "iat")?.ok_or_else(|| LogoutTokenError::IssuedAt("missing".into()))?;
    let exp = seconds(claims, "exp")?.ok_or(LogoutTokenError::Claim("exp is missing"))?;
    if iat > now.saturating_add(leeway) {
        return Err(LogoutTokenError::IssuedAt(format!(
            "{} s in the future",
            iat.saturating_sub(now)
        )));
    }
    let max_age = IAT_MAX_AGE.as_secs() as i64;
    if iat < now.saturating_sub(max_age) {
        return Err(LogoutTokenError::IssuedAt(format!(
            "{} s old",
            now.saturating_sub(iat)
        )));
    }
    // Both are within 0..2^53 (see `seconds`): these sums cannot overflow.
    let too_old_from = iat + max_age + 1;
    let expires = exp + EXP_LEEWAY.as_secs() as i64;
    if expires <= now {
        return Err(LogoutTokenError::Expired);
    }
    Ok(expires.min(too_old_from))
}

#[cfg(test)]
mod tests;
