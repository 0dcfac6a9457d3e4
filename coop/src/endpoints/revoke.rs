//! `POST /revoke` (RFC 7009). Revoking a refresh token revokes its grant; revoking an access
//! token revokes that token, or with per-client grants ([`GrantModel::PerClient`], as
//! node-oidc-provider and Google do) its whole grant. Unknown (or expired, or malformed) tokens
//! get 200: RFC 7009 §2.2 says an invalid token is not an error, the client has nothing left to
//! do.
//!
//! With [`Config::revocation_cascades`] off nothing cascades, in either grant model: the token
//! presented, refresh or access, becomes unusable on its own, and its grant with the grant's
//! other refresh and access tokens lives on (RFC 7009 §2.1 leaves the cascade to the server).
//!
//! A token issued to another client is refused and stays alive. RFC 7009 §2.1: the server
//! "verifies whether the token was issued to the client making the revocation request. If this
//! validation fails, the request is refused and the client is informed of the error", with the
//! error responses of RFC 6749 §5.2 (§2.2.1). Of those, `invalid_grant` is the one whose
//! definition names this case ("… or was issued to another client"), so: 400 `invalid_grant`.
//!
//! `unsupported_token_type` (§2.2.1) is for token types the server cannot revoke at all: with
//! [`Config::revokes_access_tokens`] off (node-oidc-provider's JWT access tokens), an access
//! token — one COOP issued and still valid, or any token sent with
//! `token_type_hint=access_token` that is not a refresh token — gets 400
//! `unsupported_token_type` and nothing is revoked. Refresh tokens are revoked all the same.
//!
//! [`Config::revokes_access_tokens`]: crate::config::Config::revokes_access_tokens
//! [`Config::revocation_cascades`]: crate::config::Config::revocation_cascades

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::backchannel::{self, Revoked};
use crate::client_auth;
use crate::config::{Client, GrantModel};
use crate::error::OAuthError;
use crate::issue::AccessClaims;
use crate::params::Params;
use crate::state::SharedCoop;
use crate::store::refresh_tokens::RefreshToken;
use crate::store::{StoreError, access_tokens, grants, refresh_tokens};

const OTHER_CLIENT: &str = "the token was issued to another client";
const ACCESS_TOKENS_NOT_REVOCABLE: &str =
    "COOP does not revoke access tokens: they stay valid until they expire";

/// The answer for the client, inside a store transaction's result.
type Answer = Result<(), OAuthError>;

pub async fn revoke(State(coop): State<SharedCoop>, headers: HeaderMap, body: Bytes) -> Response {
    // An outage (`/dev/faults`) takes the revocation endpoint down with the token endpoint.
    if let Err(error) = coop.faults.apply(&coop.clock).await {
        return error.into_response();
    }
    match handle(&coop, &headers, &body) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => error.into_response(),
    }
}

fn handle(coop: &SharedCoop, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    let params = Params::parse(body).map_err(OAuthError::InvalidRequest)?;
    let client = client_auth::authenticate(&coop.config, headers, &params)?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".into()))?;
    let access_claims: Option<AccessClaims> = coop.keys.verify(
        token,
        "at+jwt",
        &coop.issuer,
        &coop.api_audience(),
        coop.clock.now_s(),
    );

    let hinted_access_token = params.get("token_type_hint") == Some("access_token");

    // A grant revoked here (cascade) is remembered, and once the transaction has committed its
    // client is sent its logout token.
    let revoked = std::cell::RefCell::new(None);
    let answer = coop.store.transaction(|db| -> Result<Answer, StoreError> {
        if let Some(refresh) = refresh_tokens::find(db, token)? {
            return revoke_refresh_token(coop, db, client, &refresh, &revoked);
        }
        if access_claims.is_none() && !hinted_access_token {
            return Ok(Ok(()));
        }
        if !coop.config.revokes_access_tokens {
            tracing::info!(client_id = %client.id, "access-token revocation refused: unsupported_token_type");
            return Ok(Err(OAuthError::UnsupportedTokenType(ACCESS_TOKENS_NOT_REVOCABLE)));
        }
        match access_claims {
            Some(claims) => revoke_access_token(coop, db, client, &claims, &revoked),
            None => Ok(Ok(())),
        }
    })?;
    backchannel::after_revocation(coop, revoked.into_inner());
    answer
}

/// Where a grant revoked in the transaction is remembered.
type RevokedCell = std::cell::RefCell<Option<Revoked>>;

/// Revokes the grant of `refresh` (or without cascade `refresh` alone), if it was issued to
/// `client`.
fn revoke_refresh_token(
    coop: &SharedCoop,
    db: &rusqlite::Connection,
    client: &Client,
    refresh: &RefreshToken,
    revoked: &RevokedCell,
) -> Result<Answer, StoreError> {
    let Some(grant) = grants::get(db, refresh.grant_id)? else {
        return Ok(Ok(()));
    };
    if grant.client_id != client.id {
        tracing::warn!(client_id = %client.id, grant_id = grant.id, "revocation of another client's refresh token refused");
        return Ok(Err(OAuthError::InvalidGrant(OTHER_CLIENT)));
    }
    if coop.config.revocation_cascades {
        revoke_grant(coop, db, client, grant.id, "refresh token revoked", revoked)?;
    } else if refresh_tokens::revoke(db, &refresh.digest)? {
        coop.counters.refresh_token_revoked();
        tracing::info!(client_id = %client.id, grant_id = grant.id, "refresh token revoked; its grant lives on");
    }
    Ok(Ok(()))
}

/// Revokes an access token issued to `client`: that token, or with per-client grants (and
/// cascade) its grant.
fn revoke_access_token(
    coop: &SharedCoop,
    db: &rusqlite::Connection,
    client: &Client,
    claims: &AccessClaims,
    revoked: &RevokedCell,
) -> Result<Answer, StoreError> {
    if claims.client_id != client.id {
        tracing::warn!(client_id = %client.id, "revocation of another client's access token refused");
        return Ok(Err(OAuthError::InvalidGrant(OTHER_CLIENT)));
    }
    let cascades = coop.config.grant_model == GrantModel::PerClient && coop.config.revocation_cascades;
    if !cascades {
        access_tokens::revoke(db, &claims.jti)?;
    } else if let Some(grant_id) = access_tokens::grant_of(db, &claims.jti)? {
        revoke_grant(coop, db, client, grant_id, "access token revoked", revoked)?;
    }
    Ok(Ok(()))
}

fn revoke_grant(
    coop: &SharedCoop,
    db: &rusqlite::Connection,
    client: &Client,
    grant_id: i64,
    reason: &str,
    revoked: &RevokedCell,
) -> Result<(), StoreError> {
    if grants::revoke(db, grant_id, reason)? {
        coop.counters.grants_revoked(1);
        if let Some(grant) = grants::get(db, grant_id)? {
            *revoked.borrow_mut() = Some(Revoked {
                client_id: grant.client_id,
                sub: grant.username,
            });
        }
        tracing::info!(client_id = %client.id, grant_id, reason, "grant revoked");
    }
    Ok(())
}
