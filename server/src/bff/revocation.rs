//! Withdrawing TopCluck's access at the provider (RFC 7009) when a session ends: the refresh
//! token (and every successor the renewer still remembers), which ends the grant; without one,
//! the access token. A revocation the provider could not receive (unreachable, 5xx) is retried
//! in the background ([`RETRY_DELAYS`]); the logs say truthfully what happened — revoked, not
//! revoked because the provider has no revocation endpoint, or refused.

use std::sync::Arc;
use std::time::Duration;

use app::auth::wire::Revocation;

use crate::oidc::{Provider, ProviderError, Tokens};
use crate::session::SessionData;
use crate::state::AppState;

/// Waits between background attempts (about 13 minutes in all). In memory: a restart forgets
/// them (the log says which were still pending).
pub const RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
];

/// What to revoke for `data`: the refresh tokens, else the access token. Forgets the session's
/// successors in the renewer, so no request still carrying its cookie brings it back.
fn tokens_of(state: &AppState, data: &SessionData) -> Vec<(String, &'static str)> {
    let successors = state.renewer.end(data);
    let refresh: Vec<(String, &'static str)> = data
        .refresh_token
        .iter()
        .cloned()
        .chain(successors)
        .map(|token| (token, "refresh_token"))
        .collect();
    if refresh.is_empty() {
        vec![(data.access_token.clone(), "access_token")]
    } else {
        refresh
    }
}

/// Ends `data`'s grant now (logout): tries each token once, leaves failures that may pass later
/// to the background, and says what came of it.
pub async fn end_grant(state: &AppState, data: &SessionData) -> Revocation {
    let mut result = Revocation::Revoked;
    for (token, hint) in tokens_of(state, data) {
        let outcome = match state.provider.revoke(&token, hint).await {
            Ok(()) => {
                tracing::info!(sub = %data.farmer.sub, hint, "revoked");
                Revocation::Revoked
            }
            Err(error) => settle(&state.provider, &data.farmer.sub, token, hint, error),
        };
        result = worst(result, outcome);
    }
    result
}

/// [`end_grant`] on its own task (a replaced session, a session too large to keep).
pub fn end_grant_later(state: &AppState, data: &SessionData) {
    let tokens = tokens_of(state, data);
    spawn_revocations(&state.provider, &data.farmer.sub, tokens);
}

/// Revokes what a refused login was issued, on its own task.
pub fn revoke_tokens_later(state: &AppState, sub: &str, tokens: &Tokens) {
    let token = match &tokens.refresh_token {
        Some(refresh) => (refresh.clone(), "refresh_token"),
        None => (tokens.access_token.clone(), "access_token"),
    };
    spawn_revocations(&state.provider, sub, vec![token]);
}

fn spawn_revocations(provider: &Arc<Provider>, sub: &str, tokens: Vec<(String, &'static str)>) {
    let (provider, sub) = (Arc::clone(provider), sub.to_owned());
    tokio::spawn(async move {
        for (token, hint) in tokens {
            match provider.revoke(&token, hint).await {
                Ok(()) => tracing::info!(%sub, hint, "revoked"),
                Err(error) => {
                    settle(&provider, &sub, token, hint, error);
                }
            }
        }
    });
}

/// Logs a failed revocation truthfully; retries it in the background when the provider may
/// take it later.
fn settle(
    provider: &Arc<Provider>,
    sub: &str,
    token: String,
    hint: &'static str,
    error: ProviderError,
) -> Revocation {
    match error {
        ProviderError::NoRevocationEndpoint => {
            tracing::warn!(%sub, hint, "not revoked: the provider has no revocation endpoint");
            Revocation::Unsupported
        }
        ProviderError::Unavailable(detail) => {
            tracing::warn!(%sub, hint, %detail, "not revoked yet: the provider is unavailable; retrying in the background");
            retry_in_background(Arc::clone(provider), sub.to_owned(), token, hint);
            Revocation::Retrying
        }
        error => {
            tracing::error!(%sub, hint, %error, "not revoked: the provider refused");
            Revocation::Failed
        }
    }
}

fn retry_in_background(provider: Arc<Provider>, sub: String, token: String, hint: &'static str) {
    tokio::spawn(async move {
        for (attempt, delay) in RETRY_DELAYS.iter().enumerate() {
            tokio::time::sleep(*delay).await;
            match provider.revoke(&token, hint).await {
                Ok(()) => {
                    tracing::info!(%sub, hint, attempt = attempt + 1, "revoked on a background retry");
                    return;
                }
                Err(ProviderError::Unavailable(_)) => continue,
                Err(error) => {
                    tracing::error!(%sub, hint, %error, "not revoked: the provider refused a background retry");
                    return;
                }
            }
        }
        tracing::error!(%sub, hint, "not revoked: the provider stayed unavailable; gave up retrying");
    });
}

/// The outcome to report when several tokens were revoked.
fn worst(a: Revocation, b: Revocation) -> Revocation {
    let rank = |r: Revocation| match r {
        Revocation::NothingToRevoke => 0,
        Revocation::Revoked => 1,
        Revocation::Unsupported => 2,
        Revocation::Retrying => 3,
        Revocation::Failed => 4,
    };
    if rank(b) > rank(a) { b } else { a }
}
