//! Redeeming an authorization code: once, by the client it was issued to, with the same
//! redirect URI and the PKCE verifier. A replayed code that passes those checks (so the
//! replay comes from the client itself, with the verifier) revokes everything issued from it.
//!
//! The code makes a grant ([`GrantModel::PerAuthorization`]), or, with
//! [`GrantModel::PerClient`], renews the client's live grant for the farmer if it has one: the
//! grant gains the code's scope, its newest session and a new refresh token, and keeps the
//! refresh tokens it had. The answer's `scope`, access token and ID token are the code's.

use super::required;
use crate::backchannel::{self, Revoked};
use crate::config::{Client, GrantModel, RefreshTokenMode};
use crate::error::OAuthError;
use crate::issue::{self, TokenResponse};
use crate::params::Params;
use crate::pkce;
use crate::scope::Scopes;
use crate::state::{Coop, SharedCoop};
use crate::store::codes::Code;
use crate::store::{StoreError, codes, grants, refresh_tokens};

pub fn redeem(coop: &SharedCoop, client: &Client, params: &Params) -> Result<TokenResponse, OAuthError> {
    let code_value = required(params, "code")?;
    let redirect_uri = required(params, "redirect_uri")?;
    let verifier = required(params, "code_verifier")?;

    // Once the transaction that revoked a replayed code's grant has committed, the client is
    // sent its logout token.
    let mut revoked = None;
    let answer = coop.store.transaction(|db| -> Result<Result<TokenResponse, OAuthError>, StoreError> {
        let now = coop.clock.now_ms();
        let Some(code) = codes::find(db, code_value)? else {
            return Ok(Err(OAuthError::InvalidGrant("unknown authorization code")));
        };
        if code.client_id != client.id {
            return Ok(Err(OAuthError::InvalidGrant("the code was issued to another client")));
        }
        if code.expires_ms <= now {
            return Ok(Err(OAuthError::InvalidGrant("the code has expired")));
        }
        if code.redirect_uri != redirect_uri {
            return Ok(Err(OAuthError::InvalidGrant("redirect_uri differs from the authorization request")));
        }
        if !pkce::verify_s256(verifier, &code.code_challenge) {
            return Ok(Err(OAuthError::InvalidGrant("code_verifier does not match the code_challenge")));
        }
        if let Some(grant_id) = code.grant_id {
            // RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it. Only now,
            // once the client has authenticated and proved the PKCE verifier: someone who merely
            // saw the code (a leaked URL, a log) cannot end the farmer's grant with it.
            if grants::revoke(db, grant_id, "authorization code replayed")? {
                coop.counters.grants_revoked(1);
                revoked = grants::get(db, grant_id)?.map(|grant| Revoked {
                    client_id: grant.client_id,
                    sub: grant.username,
                });
            }
            tracing::warn!(client_id = %client.id, grant_id, "authorization code replayed; grant revoked");
            return Ok(Err(OAuthError::InvalidGrant("the code was already used")));
        }

        let grant = grant_for(coop, db, &code, now)?;
        codes::mark_redeemed(db, &code.digest, grant.id)?;
        let (refresh_ttl, _) = coop.config.refresh_lifetimes(grant.offline);
        let scope = Scopes::parse(&code.scope);
        let reported = issue::reported_scope(coop, &scope);
        let (access_token, expires_in) = issue::access_token(coop, db, &grant, &reported, now)?;
        let (refresh_token, refresh_expires_in) = match client.refresh_token_mode {
            RefreshTokenMode::None => (None, None),
            RefreshTokenMode::Rotate | RefreshTokenMode::Reuse => {
                let expires = (now + refresh_ttl.as_millis() as i64).min(grant.expires_ms);
                let token = refresh_tokens::insert(db, grant.id, now, expires)?;
                (Some(token), Some(((expires - now) / 1000).max(0) as u64))
            }
        };
        let id_token = scope
            .contains("openid")
            .then(|| issue::id_token(
                coop,
                &grant,
                &scope,
                code.nonce.as_deref(),
                code.auth_time_s,
                &code.session_digest,
                now,
            ));
        tracing::info!(client_id = %client.id, grant_id = grant.id, username = %grant.username, "code redeemed");
        Ok(Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            scope: reported.to_string(),
            refresh_token,
            refresh_expires_in,
            id_token,
        }))
    })?;
    backchannel::after_revocation(coop, revoked);
    answer
}

/// The grant `code` is redeemed into at `now`: a new one, or (per-client grants) the client's
/// live grant for the farmer, renewed with the code's scope and session.
fn grant_for(
    coop: &Coop,
    db: &rusqlite::Connection,
    code: &Code,
    now: i64,
) -> Result<grants::Grant, StoreError> {
    let existing = match coop.config.grant_model {
        GrantModel::PerAuthorization => None,
        GrantModel::PerClient => grants::live_of_client(db, &code.client_id, &code.username, now)?,
    };
    let scope = match &existing {
        Some(grant) => Scopes::parse(&grant.scope).union(&Scopes::parse(&code.scope)),
        None => Scopes::parse(&code.scope),
    };
    let (_, max_lifetime) = coop.config.refresh_lifetimes(scope.contains("offline_access"));
    let scope = scope.to_string();
    let new = grants::NewGrant {
        client_id: &code.client_id,
        username: &code.username,
        scope: &scope,
        session_digest: &code.session_digest,
        max_lifetime_ms: max_lifetime.as_millis() as i64,
    };
    match existing {
        Some(grant) => {
            tracing::info!(client_id = %code.client_id, grant_id = grant.id, scope = %scope, "grant renewed by a new authorization");
            grants::renew(db, grant.id, &new, now)
        }
        None => grants::create(db, &new, now),
    }
}
