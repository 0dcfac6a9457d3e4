//! Withdrawing TopCluck's access at the provider (RFC 7009) when a session ends: the refresh
//! token (and every successor the renewer still remembers), which ends the grant, and the
//! access token (RFC 7009 leaves it to the provider whether revoking the one revokes the
//! other). The tokens are revoked concurrently, each on its own task; logout waits for them at
//! most [`LOGOUT_WAIT`]. One the provider could not receive (unreachable, 5xx) is retried in the
//! background ([`RETRY_DELAYS`]). The logs say truthfully what happened — revoked; not revoked
//! because the provider has no revocation endpoint; not revoked because the provider does not
//! revoke that kind of token (`unsupported_token_type`, as node-oidc-provider answers for its
//! JWT access tokens: with the refresh token revoked, logout answers `grant_revoked`, not a
//! failure); refused by the provider; not sent.

use std::sync::Arc;
use std::time::Duration;

use app::wire::Revocation;
use tokio::task::JoinSet;

use crate::oidc::{Provider, ProviderError, Tokens};
use crate::session::SessionData;
use crate::state::AppState;

/// How long logout waits for the provider before answering "retrying".
pub const LOGOUT_WAIT: Duration = Duration::from_secs(3);

/// Waits between attempts, then every last one until [`crate::store::outbox::KEEP_SECONDS`]. With a store the
/// attempts are kept in its outbox (any instance retries them, across restarts); without one,
/// in memory, five attempts (a restart forgets them; the log says which were still pending).
pub const RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
];

type Token = (String, &'static str);

/// Where a revocation that could not be sent goes: the store's outbox, or memory.
#[derive(Clone)]
struct Retry {
    outbox: Option<(crate::store::Store, crate::clock::Clock)>,
}

impl Retry {
    fn of(state: &AppState) -> Self {
        Self {
            outbox: state.store.clone().map(|store| (store, state.clock.clone())),
        }
    }
}

/// What to revoke for `data`: its tokens, and every successor the renewer remembers or the
/// store committed. Forgets the session's successors in the renewer, so no request still
/// carrying its cookie brings it back.
async fn tokens_of(state: &AppState, data: &SessionData) -> Vec<Token> {
    let mut tokens = remembered_tokens_of(state, data);
    tokens.extend(committed_tokens_of(state, data, &tokens).await);
    tokens
}

/// `data`'s tokens and the successors the renewer remembers (forgetting them there).
fn remembered_tokens_of(state: &AppState, data: &SessionData) -> Vec<Token> {
    let successors = state.renewer.end(data);
    data.refresh_token
        .iter()
        .cloned()
        .chain(successors)
        .map(|token| (token, "refresh_token"))
        .chain([(data.access_token.clone(), "access_token")])
        .collect()
}

/// The successors the store committed for `data` that are not in `known`.
async fn committed_tokens_of(state: &AppState, data: &SessionData, known: &[Token]) -> Vec<Token> {
    state
        .renewer
        .committed_chain(data)
        .await
        .into_iter()
        .filter(|token| !known.iter().any(|(known, _)| known == token))
        .map(|token| (token, "refresh_token"))
        .collect()
}

/// Ends `data`'s grant (logout) and says what came of it within [`LOGOUT_WAIT`]; what is still
/// under way then goes on, and is retried, in the background.
pub async fn end_grant(state: &AppState, data: &SessionData) -> Revocation {
    let mut tasks = revoke_all(
        &state.provider,
        Retry::of(state),
        &data.farmer.sub,
        tokens_of(state, data).await,
    );
    let mut result = Revocation::Revoked;
    // Whether an access token lives on (not revocable there), and whether a refresh token, so
    // the grant, was revoked.
    let (mut lives_on, mut grant_revoked) = (false, false);
    let deadline = tokio::time::sleep(LOGOUT_WAIT);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(Ok((_, Outcome::LivesUntilExpiry))) => lives_on = true,
                Some(Ok((hint, Outcome::Done(outcome)))) => {
                    grant_revoked |= hint == "refresh_token" && outcome == Revocation::Revoked;
                    result = worst(result, outcome);
                }
                Some(Err(_)) => result = worst(result, Revocation::Failed),
                None => break,
            },
            () = &mut deadline => {
                tracing::warn!(sub = %data.farmer.sub, "revocation still under way after {LOGOUT_WAIT:?}: continuing in the background");
                tasks.detach_all();
                result = worst(result, Revocation::Retrying);
                break;
            }
        }
    }
    // An access token the provider does not revoke (a JWT, say) lives until it expires: with a
    // refresh token revoked, the grant is over all the same; without, nothing was withdrawn.
    match (lives_on, grant_revoked) {
        (false, _) => result,
        (true, true) => worst(result, Revocation::GrantRevoked),
        (true, false) => worst(result, Revocation::Unsupported),
    }
}

/// [`end_grant`] without waiting (a replaced session, a session too large to keep).
pub fn end_grant_later(state: &AppState, data: &SessionData) {
    let known = remembered_tokens_of(state, data);
    revoke_all(&state.provider, Retry::of(state), &data.farmer.sub, known.clone()).detach_all();
    let (state, data) = (state.clone(), data.clone());
    tokio::spawn(async move {
        let committed = committed_tokens_of(&state, &data, &known).await;
        revoke_all(&state.provider, Retry::of(&state), &data.farmer.sub, committed).detach_all();
    });
}

/// Revokes one token issued to `provider`'s client, without waiting (a replaced or turned-off
/// offline grant).
pub fn revoke_later(
    state: &AppState,
    provider: &Arc<Provider>,
    sub: &str,
    token: String,
    hint: &'static str,
) {
    revoke_all(provider, Retry::of(state), sub, vec![(token, hint)]).detach_all();
}

/// Revokes what a refused login was issued (by `provider`'s client), without waiting.
pub fn revoke_tokens_later(state: &AppState, provider: &Arc<Provider>, sub: &str, tokens: &Tokens) {
    let issued = tokens
        .refresh_token
        .iter()
        .map(|token| (token.clone(), "refresh_token"))
        .chain([(tokens.access_token.clone(), "access_token")])
        .collect();
    revoke_all(provider, Retry::of(state), sub, issued).detach_all();
}

/// What became of one token.
enum Outcome {
    Done(Revocation),
    /// An access token the provider does not revoke (`unsupported_token_type`): it lives until
    /// it expires.
    LivesUntilExpiry,
}

/// One task per token; each answers its token's hint and what became of it.
fn revoke_all(
    provider: &Arc<Provider>,
    retry: Retry,
    sub: &str,
    tokens: Vec<Token>,
) -> JoinSet<(&'static str, Outcome)> {
    let mut tasks = JoinSet::new();
    for (token, hint) in tokens {
        let (provider, sub, retry) = (Arc::clone(provider), sub.to_owned(), retry.clone());
        tasks.spawn(async move {
            let outcome = match provider.revoke(&token, hint).await {
                Ok(()) => {
                    tracing::info!(%sub, hint, "revoked");
                    Outcome::Done(Revocation::Revoked)
                }
                Err(ProviderError::UnsupportedTokenType) if hint == "access_token" => {
                    tracing::info!(%sub, hint, "not revoked: the provider does not revoke access tokens; it lives until it expires");
                    Outcome::LivesUntilExpiry
                }
                Err(error) => Outcome::Done(settle(&provider, &retry, &sub, token, hint, error).await),
            };
            (hint, outcome)
        });
    }
    tasks
}

/// Logs a failed revocation truthfully; retries it in the background when the provider may
/// take it later.
async fn settle(
    provider: &Arc<Provider>,
    retry: &Retry,
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
        ProviderError::UnsupportedTokenType => {
            tracing::warn!(%sub, hint, "not revoked: the provider does not revoke this kind of token (unsupported_token_type)");
            Revocation::Unsupported
        }
        ProviderError::Unavailable(detail) | ProviderError::AnswerLost(detail) => {
            tracing::warn!(%sub, hint, %detail, "not revoked yet: the provider is unavailable; retrying in the background");
            match &retry.outbox {
                Some((store, clock)) => {
                    let kept = store
                        .enqueue_revocation(provider.client_id(), sub, hint, &token, clock.now())
                        .await;
                    if let Err(error) = kept {
                        tracing::error!(%sub, hint, %error, "the outbox could not keep it: retrying in memory only");
                        retry_in_background(Arc::clone(provider), sub.to_owned(), token, hint);
                    }
                }
                None => retry_in_background(Arc::clone(provider), sub.to_owned(), token, hint),
            }
            Revocation::Retrying
        }
        ProviderError::Refused { code } => {
            tracing::error!(%sub, hint, %code, "not revoked: the provider refused");
            Revocation::Failed
        }
        error => {
            tracing::error!(%sub, hint, %error, "not revoked: the request was not sent");
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
                Err(ProviderError::Unavailable(_) | ProviderError::AnswerLost(_)) => continue,
                Err(ProviderError::UnsupportedTokenType) => {
                    tracing::warn!(%sub, hint, "not revoked: the provider does not revoke this kind of token (unsupported_token_type)");
                    return;
                }
                Err(error) => {
                    tracing::error!(%sub, hint, %error, "not revoked: a background retry failed");
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
        Revocation::GrantRevoked => 2,
        Revocation::Unsupported => 3,
        Revocation::Retrying => 4,
        Revocation::Failed => 5,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Retries the store's outbox: every second, the revocations due are sent with the client they
/// were issued to; unavailable again → later ([`RETRY_DELAYS`], then every last one), done or
/// refused for good → forgotten. Any instance may take any row (each is claimed for a minute).
pub fn spawn_outbox(state: &AppState) {
    let Some(store) = state.store.clone() else {
        return;
    };
    let (clock, login, counting) = (
        state.clock.clone(),
        Arc::clone(&state.provider),
        state.counting_provider.clone(),
    );
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let due = match store.due_revocations(clock.now(), 32).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(%error, "revocation outbox: the store could not be read");
                    continue;
                }
            };
            for due in due {
                let provider = [Some(&login), counting.as_ref()]
                    .into_iter()
                    .flatten()
                    .find(|provider| provider.client_id() == due.client_id);
                let Some(provider) = provider else {
                    tracing::error!(sub = %due.subject, client_id = %due.client_id, "revocation outbox: a token of a client this server no longer has; dropped");
                    let _ = store.revocation_done(&due.reference).await;
                    continue;
                };
                let hint = if due.hint == "access_token" {
                    "access_token"
                } else {
                    "refresh_token"
                };
                let result = match provider.revoke(&due.token, hint).await {
                    Ok(()) => {
                        tracing::info!(sub = %due.subject, hint, attempt = due.attempts + 1, "revoked from the outbox");
                        store.revocation_done(&due.reference).await
                    }
                    Err(ProviderError::Unavailable(_) | ProviderError::AnswerLost(_)) => {
                        let attempts = due.attempts + 1;
                        let wait = RETRY_DELAYS[(attempts as usize).min(RETRY_DELAYS.len() - 1)];
                        store
                            .revocation_later(&due.reference, attempts, clock.now() + wait.as_secs() as i64)
                            .await
                    }
                    Err(error) => {
                        tracing::error!(sub = %due.subject, hint, %error, "revocation outbox: not revoked, and not retried");
                        store.revocation_done(&due.reference).await
                    }
                };
                if let Err(error) = result {
                    tracing::warn!(%error, "revocation outbox: the store could not record an attempt");
                }
            }
        }
    });
}
