//! `POST /revoke` (RFC 7009). Revoking a refresh token revokes its grant; revoking an access
//! token revokes that token. Unknown tokens, and tokens of other clients, get 200 all the same.

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

pub async fn revoke(State(coop): State<SharedCoop>, headers: HeaderMap, body: Bytes) -> Response {
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

    coop.store.transaction(|db| {
        if let Some(refresh) = refresh_tokens::find(db, token)? {
            let grant = grants::get(db, refresh.grant_id)?;
            if grant.is_some_and(|g| g.client_id == client.id)
                && grants::revoke(db, refresh.grant_id, "refresh token revoked")?
            {
                coop.counters.grants_revoked(1);
                tracing::info!(client_id = %client.id, grant_id = refresh.grant_id, "grant revoked");
            }
        } else if let Some(claims) = access_claims.filter(|c| c.client_id == client.id) {
            access_tokens::revoke(db, &claims.jti)?;
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(())
}
