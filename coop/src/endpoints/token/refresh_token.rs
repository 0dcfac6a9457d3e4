//! The refresh-token grant: rotation with reuse detection (no grace period), the "reuse"
//! mode, sliding expiry up to the grant's absolute lifetime, and down-scoping. Offline grants
//! (`offline_access`) behave the same, on their own, longer lifetimes
//! ([`crate::config::Config::refresh_lifetimes`]).
//!
//! A refresh token is consumed only by a refresh that succeeds. Presenting a used one is
//! taken as theft: the whole grant is revoked (with per-client grants, the grant every login
//! of that client shares). Each refresh token of a grant rotates on its own.

use super::required;
use crate::config::{Client, RefreshTokenMode};
use crate::error::OAuthError;
use crate::issue::{self, TokenResponse};
use crate::params::Params;
use crate::scope::Scopes;
use crate::state::Coop;
use crate::store::{StoreError, grants, refresh_tokens};

pub fn refresh(coop: &Coop, client: &Client, params: &Params) -> Result<TokenResponse, OAuthError> {
    if client.refresh_token_mode == RefreshTokenMode::None {
        return Err(OAuthError::UnauthorizedClient(
            "this client gets no refresh tokens",
        ));
    }
    let presented = required(params, "refresh_token")?;
    let requested_scope = params.get("scope").map(Scopes::parse);

    // The transaction commits the revocation of a replayed token's grant even though the
    // request fails: the outer Result is the store's, the inner one the client's answer.
    coop.store.transaction(|db| -> Result<Result<TokenResponse, OAuthError>, StoreError> {
        let Some(token) = refresh_tokens::find(db, presented)? else {
            return Ok(Err(OAuthError::InvalidGrant("unknown refresh token")));
        };
        let Some(grant) = grants::get(db, token.grant_id)? else {
            return Ok(Err(OAuthError::InvalidGrant("unknown refresh token")));
        };
        if grant.client_id != client.id {
            return Ok(Err(OAuthError::InvalidGrant("the refresh token was issued to another client")));
        }
        if grant.is_revoked() {
            return Ok(Err(OAuthError::InvalidGrant("the grant was revoked")));
        }
        if token.used {
            grants::revoke(db, grant.id, "refresh token reused")?;
            coop.counters.reuse_detected();
            coop.counters.grants_revoked(1);
            tracing::warn!(client_id = %client.id, grant_id = grant.id, "refresh token reused; grant revoked");
            return Ok(Err(OAuthError::InvalidGrant("the refresh token was already used")));
        }
        let now = coop.clock.now_ms();
        if token.expires_ms <= now || grant.expires_ms <= now {
            return Ok(Err(OAuthError::InvalidGrant("the refresh token has expired")));
        }
        let granted = Scopes::parse(&grant.scope);
        let scope = match requested_scope {
            Some(requested) if !requested.is_subset_of(&granted) => {
                return Ok(Err(OAuthError::InvalidScope(format!("scope may only narrow the grant's: {granted}"))));
            }
            Some(requested) if !requested.is_empty() => requested,
            _ => granted,
        };

        let (refresh_ttl, _) = coop.config.refresh_lifetimes(grant.offline);
        let expires = (now + refresh_ttl.as_millis() as i64).min(grant.expires_ms);
        let refresh_token = match client.refresh_token_mode {
            RefreshTokenMode::Reuse => {
                refresh_tokens::set_expiry(db, &token.digest, expires)?;
                presented.to_owned()
            }
            _ => {
                refresh_tokens::mark_used(db, &token.digest)?;
                refresh_tokens::insert(db, grant.id, expires)?
            }
        };
        grants::mark_used(db, grant.id, now)?;
        let scope = issue::reported_scope(coop, &scope);
        let (access_token, expires_in) = issue::access_token(coop, db, &grant, &scope, now)?;
        Ok(Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            scope: scope.to_string(),
            refresh_token: Some(refresh_token),
            refresh_expires_in: Some(((expires - now) / 1000).max(0) as u64),
            id_token: None,
        }))
    })?
}
