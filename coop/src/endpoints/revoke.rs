//! `POST /revoke` (RFC 7009). Revoking a refresh token revokes its grant; revoking an access
//! token revokes that token. Unknown (or expired, or malformed) tokens get 200: RFC 7009 §2.2
//! says an invalid token is not an error, the client has nothing left to do.
//!
//! A token issued to another client is refused and stays alive. RFC 7009 §2.1: the server
//! "verifies whether the token was issued to the client making the revocation request. If this
//! validation fails, the request is refused and the client is informed of the error", with the
//! error responses of RFC 6749 §5.2 (§2.2.1). Of those, `invalid_grant` is the one whose
//! definition names this case ("… or was issued to another client"), so: 400 `invalid_grant`.
//! (`unsupported_token_type` is for token types the server cannot revoke at all, and a 200
//! would tell the client its token is gone when it is not.)

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::client_auth;
use crate::error::OAuthError;
use crate::issue::AccessClaims;
use crate::params::Params;
use crate::state::SharedCoop;
use crate::store::{StoreError, access_tokens, grants, refresh_tokens};

const OTHER_CLIENT: &str = "the token was issued to another client";

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

    coop.store
        .transaction(|db| -> Result<Result<(), OAuthError>, StoreError> {
            if let Some(refresh) = refresh_tokens::find(db, token)? {
                let Some(grant) = grants::get(db, refresh.grant_id)? else {
                    return Ok(Ok(()));
                };
                if grant.client_id != client.id {
                    tracing::warn!(client_id = %client.id, grant_id = grant.id, "revocation of another client's refresh token refused");
                    return Ok(Err(OAuthError::InvalidGrant(OTHER_CLIENT)));
                }
                if grants::revoke(db, grant.id, "refresh token revoked")? {
                    coop.counters.grants_revoked(1);
                    tracing::info!(client_id = %client.id, grant_id = grant.id, "grant revoked");
                }
            } else if let Some(claims) = access_claims {
                if claims.client_id != client.id {
                    tracing::warn!(client_id = %client.id, "revocation of another client's access token refused");
                    return Ok(Err(OAuthError::InvalidGrant(OTHER_CLIENT)));
                }
                access_tokens::revoke(db, &claims.jti)?;
            }
            Ok(Ok(()))
        })?
}
