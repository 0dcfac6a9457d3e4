//! `POST /introspect`: token introspection (RFC 7662), so a client can ask whether a token it
//! holds (or lost track of) is still usable: a refresh token whose refresh answer never arrived
//! is inactive once that refresh rotated it. Offered unless [`Config::introspection`] is off;
//! then discovery omits `introspection_endpoint` and `/introspect` answers 404.
//!
//! Clients authenticate as at `/token` and `/revoke` (`client_secret_basic` or
//! `client_secret_post`; 401 `invalid_client` otherwise). Parameters: `token`, required (400
//! `invalid_request` without it), and `token_type_hint`, which COOP does not need: refresh and
//! access tokens cannot be mistaken for each other, so every token is looked up as both
//! (RFC 7662 §2.1 lets the server ignore the hint).
//!
//! The answer is 200 `{"active": false}` for anything not active: unknown, malformed, expired,
//! revoked, an ID token, and a token issued to another client. RFC 7662 §2.2 allows that last
//! one, and it reveals nothing about another client's tokens. An active token answers
//! `{"active": true, "client_id", "sub", "scope", "exp", "iat", "token_type"}`, times in seconds:
//!
//! - a refresh token is active while it is known, not used (rotated away; the reuse grace
//!   period does not change that), not revoked on its own, not expired, and its grant is
//!   neither revoked nor expired. `scope` is its grant's, `exp` the earlier of its own expiry and
//!   its grant's, `iat` when it was issued (left out for a token an older COOP issued),
//!   `token_type` `refresh_token`;
//! - an access token (COOP's RFC 9068 JWT) is active while its signature, `typ`, `iss`, `aud`
//!   and `exp` verify (on COOP's clock), and neither it nor its grant was revoked: exactly
//!   when the egg API accepts it. `scope`, `exp` and `iat` are its claims, `token_type`
//!   `access_token`.
//!
//! The fault switch's outage (`unavailable_seconds`) takes introspection down too (503
//! `temporarily_unavailable` with `Retry-After`), and its `latency_ms` slows it. Every request
//! is counted in `/dev/counters` (`introspections`, and `introspection_outcomes` by outcome).
//!
//! [`Config::introspection`]: crate::config::Config::introspection

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::client_auth;
use crate::config::Client;
use crate::error::OAuthError;
use crate::issue::AccessClaims;
use crate::params::Params;
use crate::state::SharedCoop;
use crate::store::refresh_tokens::RefreshToken;
use crate::store::{StoreError, access_tokens, grants, refresh_tokens};

/// An introspection answer (RFC 7662 §2.2): `{"active": false}`, or the active token's claims.
#[derive(Debug, Default, Serialize)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
}

impl Introspection {
    fn inactive() -> Self {
        Self::default()
    }
}

pub async fn introspect(State(coop): State<SharedCoop>, headers: HeaderMap, body: Bytes) -> Response {
    // An outage (`/dev/faults`) takes the introspection endpoint down with the token endpoint.
    if let Err(error) = coop.faults.apply(&coop.clock).await {
        coop.counters.introspection(error.code());
        return error.into_response();
    }
    let result = handle(&coop, &headers, &body);
    coop.counters.introspection(match &result {
        Ok(answer) if answer.active => "active",
        Ok(_) => "inactive",
        Err(error) => error.code(),
    });
    match result {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

fn handle(coop: &SharedCoop, headers: &HeaderMap, body: &[u8]) -> Result<Introspection, OAuthError> {
    let params = Params::parse(body).map_err(OAuthError::InvalidRequest)?;
    let client = client_auth::authenticate(&coop.config, headers, &params)?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".into()))?;
    let now_ms = coop.clock.now_ms();
    let access_claims: Option<AccessClaims> = coop.keys.verify(
        token,
        "at+jwt",
        &coop.issuer,
        &coop.api_audience(),
        now_ms.div_euclid(1000),
    );
    let answer = coop
        .store
        .transaction(|db| -> Result<Introspection, StoreError> {
            if let Some(refresh) = refresh_tokens::find(db, token)? {
                return refresh_token(db, client, &refresh, now_ms);
            }
            match access_claims {
                Some(claims) => access_token(db, client, claims),
                None => Ok(Introspection::inactive()),
            }
        })?;
    Ok(answer)
}

fn refresh_token(
    db: &rusqlite::Connection,
    client: &Client,
    refresh: &RefreshToken,
    now_ms: i64,
) -> Result<Introspection, StoreError> {
    let Some(grant) = grants::get(db, refresh.grant_id)? else {
        return Ok(Introspection::inactive());
    };
    if grant.client_id != client.id {
        tracing::info!(client_id = %client.id, "introspection of another client's refresh token: inactive");
        return Ok(Introspection::inactive());
    }
    let expires_ms = refresh.expires_ms.min(grant.expires_ms);
    if refresh.used || refresh.revoked || grant.is_revoked() || expires_ms <= now_ms {
        return Ok(Introspection::inactive());
    }
    Ok(Introspection {
        active: true,
        client_id: Some(grant.client_id),
        sub: Some(grant.username),
        scope: Some(grant.scope),
        exp: Some(expires_ms.div_euclid(1000)),
        iat: refresh.issued_ms.map(|ms| ms.div_euclid(1000)),
        token_type: Some("refresh_token"),
    })
}

/// `claims` have verified (signature, `typ`, `iss`, `aud`, `exp`).
fn access_token(
    db: &rusqlite::Connection,
    client: &Client,
    claims: AccessClaims,
) -> Result<Introspection, StoreError> {
    if claims.client_id != client.id {
        tracing::info!(client_id = %client.id, "introspection of another client's access token: inactive");
        return Ok(Introspection::inactive());
    }
    if !access_tokens::is_live(db, &claims.jti)? {
        return Ok(Introspection::inactive());
    }
    Ok(Introspection {
        active: true,
        client_id: Some(claims.client_id),
        sub: Some(claims.sub),
        scope: Some(claims.scope),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        token_type: Some("access_token"),
    })
}
