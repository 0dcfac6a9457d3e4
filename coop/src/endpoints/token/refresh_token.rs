//! The refresh-token grant: rotation with reuse detection (no grace period unless
//! [`Config::reuse_grace`] gives one), the "reuse" mode, sliding expiry up to the grant's
//! absolute lifetime, and down-scoping. Offline grants (`offline_access`) behave the same, on
//! their own, longer lifetimes ([`Config::refresh_lifetimes`]).
//!
//! A refresh token is consumed only by a refresh that succeeds. Presenting a used one is
//! taken as theft: the whole grant is revoked (with per-client grants, the grant every login
//! of that client shares). Each refresh token of a grant rotates on its own.
//!
//! Within the reuse grace period (counted on COOP's clock from the rotation, not extended by
//! later presentations) a used token is refreshed as if it were not: a new refresh token from
//! the same grant, while the successor issued before stays valid too. A refresh token revoked on
//! its own (`/revoke` without cascade) is refused with `invalid_grant`, and that is not reuse.
//!
//! [`Config::reuse_grace`]: crate::config::Config::reuse_grace
//! [`Config::refresh_lifetimes`]: crate::config::Config::refresh_lifetimes

use super::required;
use crate::backchannel::{self, Revoked};
use crate::config::{Client, RefreshTokenMode};
use crate::error::OAuthError;
use crate::issue::{self, TokenResponse};
use crate::params::Params;
use crate::scope::Scopes;
use crate::state::SharedCoop;
use crate::store::refresh_tokens::RefreshToken;
use crate::store::{StoreError, grants, refresh_tokens};

pub fn refresh(coop: &SharedCoop, client: &Client, params: &Params) -> Result<TokenResponse, OAuthError> {
    if client.refresh_token_mode == RefreshTokenMode::None {
        return Err(OAuthError::UnauthorizedClient(
            "this client gets no refresh tokens",
        ));
    }
    let presented = required(params, "refresh_token")?;
    let requested_scope = params.get("scope").map(Scopes::parse);

    // The transaction commits the revocation of a replayed token's grant even though the
    // request fails: the outer Result is the store's, the inner one the client's answer. Once
    // it has committed, the client is sent its logout token.
    let mut revoked = None;
    let answer = coop.store.transaction(|db| -> Result<Result<TokenResponse, OAuthError>, StoreError> {
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
        if token.revoked {
            return Ok(Err(OAuthError::InvalidGrant("the refresh token was revoked")));
        }
        let now = coop.clock.now_ms();
        let within_grace = token.used && within_reuse_grace(coop, &token, now);
        if token.used && !within_grace {
            if grants::revoke(db, grant.id, "refresh token reused")? {
                revoked = Some(Revoked {
                    client_id: grant.client_id.clone(),
                    sub: grant.username.clone(),
                });
            }
            coop.counters.reuse_detected();
            coop.counters.grants_revoked(1);
            tracing::warn!(client_id = %client.id, grant_id = grant.id, "refresh token reused; grant revoked");
            return Ok(Err(OAuthError::InvalidGrant("the refresh token was already used")));
        }
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
                if within_grace {
                    // Used already: it keeps the time of its rotation, and its grace period.
                    coop.counters.reuse_within_grace();
                    tracing::info!(client_id = %client.id, grant_id = grant.id, "used refresh token presented within the reuse grace period; refreshed");
                } else {
                    refresh_tokens::mark_used(db, &token.digest, now)?;
                }
                refresh_tokens::insert(db, grant.id, now, expires)?
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
    })?;
    backchannel::after_revocation(coop, revoked);
    answer
}

/// Whether `token`, used, was rotated less than [`Config::reuse_grace`] ago at `now_ms`. A
/// token whose rotation time is unknown (an older COOP rotated it) is outside any grace.
///
/// [`Config::reuse_grace`]: crate::config::Config::reuse_grace
fn within_reuse_grace(coop: &crate::state::Coop, token: &RefreshToken, now_ms: i64) -> bool {
    let grace_ms = coop.config.reuse_grace.as_millis() as i64;
    grace_ms > 0 && token.used_ms.is_some_and(|used_ms| now_ms < used_ms + grace_ms)
}
