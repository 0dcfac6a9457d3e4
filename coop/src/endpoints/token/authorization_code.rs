//! Redeeming an authorization code: once, by the client it was issued to, with the same
//! redirect URI and the PKCE verifier. A replayed code that passes those checks (so the
//! replay comes from the client itself, with the verifier) revokes everything issued from it.

use super::required;
use crate::config::{Client, RefreshTokenMode};
use crate::error::OAuthError;
use crate::issue::{self, TokenResponse};
use crate::params::Params;
use crate::pkce;
use crate::scope::Scopes;
use crate::state::Coop;
use crate::store::{StoreError, codes, grants, refresh_tokens};

pub fn redeem(coop: &Coop, client: &Client, params: &Params) -> Result<TokenResponse, OAuthError> {
    let code_value = required(params, "code")?;
    let redirect_uri = required(params, "redirect_uri")?;
    let verifier = required(params, "code_verifier")?;

    coop.store.transaction(|db| -> Result<Result<TokenResponse, OAuthError>, StoreError> {
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
            }
            tracing::warn!(client_id = %client.id, grant_id, "authorization code replayed; grant revoked");
            return Ok(Err(OAuthError::InvalidGrant("the code was already used")));
        }

        let offline = Scopes::parse(&code.scope).contains("offline_access");
        let (refresh_ttl, max_lifetime) = coop.config.refresh_lifetimes(offline);
        let grant = grants::create(
            db,
            &grants::NewGrant {
                client_id: &client.id,
                username: &code.username,
                scope: &code.scope,
                session_digest: &code.session_digest,
                max_lifetime_ms: max_lifetime.as_millis() as i64,
            },
            now,
        )?;
        codes::mark_redeemed(db, &code.digest, grant.id)?;
        let scope = Scopes::parse(&grant.scope);
        let reported = coop.faults.widen(scope.clone());
        let (access_token, expires_in) = issue::access_token(coop, db, &grant, &reported, now)?;
        let (refresh_token, refresh_expires_in) = match client.refresh_token_mode {
            RefreshTokenMode::None => (None, None),
            RefreshTokenMode::Rotate | RefreshTokenMode::Reuse => {
                let expires = (now + refresh_ttl.as_millis() as i64).min(grant.expires_ms);
                let token = refresh_tokens::insert(db, grant.id, expires)?;
                (Some(token), Some(((expires - now) / 1000).max(0) as u64))
            }
        };
        let id_token = scope
            .contains("openid")
            .then(|| issue::id_token(coop, &grant, code.nonce.as_deref(), code.auth_time_s, now));
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
    })?
}
