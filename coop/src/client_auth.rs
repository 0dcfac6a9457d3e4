//! Client authentication at the token and revocation endpoints: `client_secret_basic` and
//! `client_secret_post` (RFC 6749 §2.3.1). One method per request.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;

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
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Basic ")
                .or_else(|| value.strip_prefix("basic "))
        });
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
    // Comparing digests keeps the comparison's timing independent of the secret.
    if digest(&client.secret) != digest(&secret) {
        tracing::info!(client_id = %id, "client authentication failed");
        return Err(OAuthError::InvalidClient);
    }
    Ok(client)
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
