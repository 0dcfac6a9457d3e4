//! Minting tokens: access tokens (RFC 9068 JWTs), ID tokens, and the token response.

use serde::{Deserialize, Serialize};

use crate::config::TokenScope;
use crate::random::random_token;
use crate::scope::Scopes;
use crate::state::Coop;
use crate::store::grants::Grant;
use crate::store::{StoreError, access_tokens};

/// The claims of a COOP access token (RFC 9068).
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
}

impl AccessClaims {
    pub fn scopes(&self) -> Scopes {
        Scopes::parse(&self.scope)
    }
}

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    /// The COOP session the farmer logged in with (Back-Channel Logout 1.0 §2.1).
    sid: &'a str,
}

/// The token endpoint's success body (RFC 6749 §5.1).
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds the refresh token lives (an extension Keycloak and others send): its sliding
    /// lifetime, capped by the grant's maximum. Clients should end sessions by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// What a token answer reports in `scope`, and its access token carries, for an access token
/// issued for `scope`: all of it, or only the API scopes ([`TokenScope::Resource`]); plus the
/// `extra_scope` fault's scopes.
pub fn reported_scope(coop: &Coop, scope: &Scopes) -> Scopes {
    let issued = match coop.config.token_scope {
        TokenScope::Grant => scope.clone(),
        TokenScope::Resource => scope.api_only(),
    };
    coop.faults.widen(issued)
}

/// Mints an access token for `grant` with `scope` (the grant's or a subset), issued at
/// `now_ms`, and records its id.
pub fn access_token(
    coop: &Coop,
    db: &rusqlite::Connection,
    grant: &Grant,
    scope: &Scopes,
    now_ms: i64,
) -> Result<(String, u64), StoreError> {
    let ttl = coop.config.access_token_ttl.as_secs();
    let now = now_ms.div_euclid(1000);
    let claims = AccessClaims {
        iss: coop.issuer.clone(),
        sub: grant.username.clone(),
        aud: coop.api_audience(),
        client_id: grant.client_id.clone(),
        scope: scope.to_string(),
        exp: now + ttl as i64,
        iat: now,
        jti: random_token(),
    };
    coop.purge_expired(db)?;
    access_tokens::record(db, &claims.jti, grant.id, claims.exp * 1000)?;
    Ok((coop.keys.sign("at+jwt", &claims), ttl))
}

/// Mints an ID token for the farmer of `grant`, issued at `now_ms`, with the claims `scopes`
/// (the authorization's) allow, and the `sid` of the COOP session whose digest is
/// `session_digest`.
pub fn id_token(
    coop: &Coop,
    grant: &Grant,
    scopes: &Scopes,
    nonce: Option<&str>,
    auth_time: i64,
    session_digest: &str,
    now_ms: i64,
) -> String {
    let sid = crate::backchannel::session_id(coop, session_digest);
    let user = coop.config.user(&grant.username);
    let now = now_ms.div_euclid(1000);
    let claims = IdClaims {
        iss: &coop.issuer,
        sub: &grant.username,
        aud: &grant.client_id,
        exp: now + 300,
        iat: now,
        auth_time,
        nonce,
        name: user
            .filter(|_| scopes.contains("profile"))
            .map(|u| u.name.as_str()),
        email: user
            .filter(|_| scopes.contains("email"))
            .map(|u| u.email.as_str()),
        sid: &sid,
    };
    coop.keys.sign("JWT", &claims)
}
