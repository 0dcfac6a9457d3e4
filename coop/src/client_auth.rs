//! Client authentication at the token and revocation endpoints: `client_secret_basic` and
//! `client_secret_post` (RFC 6749 §2.3.1). One method per request. The `Basic` scheme name is
//! case-insensitive (RFC 9110 §11.1); secrets are compared in constant time.

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;
use subtle::ConstantTimeEq;

use crate::authorization;
use crate::config::{Client, Config};
use crate::error::OAuthError;
use crate::params::Params;
use crate::random::digest;

/// The registered client that authenticated the request.
pub fn authenticate<'a>(
    config: &'a Config,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'a Client, OAuthError> {
    let basic = authorization::credentials(headers, "Basic");
    let (id, secret) = match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::InvalidRequest(
                "use one client authentication method".into(),
            ));
        }
        (Some(encoded), None) => {
            let (id, secret) = decode_basic(encoded).ok_or(OAuthError::InvalidClient)?;
            if params.get("client_id").is_some_and(|form_id| form_id != id) {
                return Err(OAuthError::InvalidRequest(
                    "client_id differs from the authenticated client".into(),
                ));
            }
            (id, secret)
        }
        (None, Some(secret)) => {
            let id = params.get("client_id").ok_or(OAuthError::InvalidClient)?;
            (id.to_owned(), secret.to_owned())
        }
        (None, None) => return Err(OAuthError::InvalidClient),
    };
    let client = config.client(&id).ok_or(OAuthError::InvalidClient)?;
    if !secrets_match(&client.secret, &secret) {
        tracing::info!(client_id = %id, "client authentication failed");
        return Err(OAuthError::InvalidClient);
    }
    Ok(client)
}

/// Compares the SHA-256 digests of the two secrets in constant time: equal-length inputs to
/// `ct_eq`, so neither the position of the first difference nor the secret's length shows in
/// the timing.
fn secrets_match(registered: &str, presented: &str) -> bool {
    digest(registered)
        .as_bytes()
        .ct_eq(digest(presented).as_bytes())
        .into()
}

/// `base64(urlencode(id) ":" urlencode(secret))`.
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}
