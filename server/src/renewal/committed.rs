//! One refresh with the store as its commit point: across instances, restarts and lost answers,
//! a refresh token is presented at most once and its outcome is never lost.
//!
//! 1. A committed outcome for the token (this instance's or another's, minutes or days ago) is
//!    the answer: the provider is not asked.
//! 2. Otherwise the token's lease is taken (one holder across instances; the others poll for the
//!    outcome), `sent` is recorded, and the provider is called while the lease is extended.
//! 3. The answer is committed — new tokens sealed in `successors`, or `ended` — in the
//!    transaction that gives the lease back, before any response uses it.
//! 4. An answer not fully received (a reset or timeout after sending, an unreadable 2xx, a 5xx
//!    without the provider's own OAuth error) may have rotated the token. It is resolved, never
//!    guessed: the provider's introspection (RFC 7662) says whether the token is still active
//!    (active: nothing was rotated, try again later; inactive: the rotation is lost, the session
//!    ends honestly and the token is revoked). Introspection unreachable: still unknown — 503,
//!    the lease stays "sent" and expired, and a later request settles it. No introspection: a
//!    configured reuse grace period allows one more attempt within it; else the session ends.
//!    A lease whose holder died after sending is uncertain in the same way.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::outcome::{Outcome, Successor};
use crate::clock::Clock;
use crate::oidc::{Provider, ProviderError};
use crate::store::Store;
use crate::store::successors::{Committed, Lease, LeaseTry};

/// How long a lease lasts unless extended; the holder extends it every third of this while the
/// provider call runs, so it never expires mid-call.
pub const LEASE_SECONDS: i64 = 30;

/// How long a request waiting for another instance's refresh waits before looking for its
/// outcome again: on PostgreSQL it wakes at once on the committing instance's NOTIFY, and this is
/// only the fallback; on SQLite (one process, or one file) it is the poll.
const POLL: Duration = Duration::from_millis(50);
const POLL_NOTIFIED: Duration = Duration::from_millis(500);

/// How long this task waits for another holder's outcome before answering "retry" (the other
/// holder's refresh may take the whole refresh timeout).
const WAIT_FOR_HOLDER: Duration = Duration::from_secs(70);

/// What this refresh is for.
pub struct Presented<'a> {
    pub refresh_token: &'a str,
    pub session_id: &'a str,
    /// When the session ends: until then its cookie (and this token) may come back.
    pub ends_at: i64,
    pub sub: &'a str,
    /// The session's scopes: an answer granting more is refused.
    pub scopes: &'a [String],
    /// A committed renewal that did not rotate (the token is not used up) is only used while
    /// its access token is fresh by this skew; a stale one is refreshed again.
    pub skew: Duration,
    /// The token came in the request's cookie (not reached by following the chain).
    pub from_cookie: bool,
}

/// What settles an uncertain outcome.
#[derive(Clone, Copy, Debug, Default)]
pub struct Uncertainty {
    /// The provider's documented reuse grace period: one more attempt within it.
    pub reuse_grace: Option<Duration>,
}

/// Refreshes `presented`'s token through the store (see the module doc).
pub async fn refresh(
    store: &Store,
    provider: &Arc<Provider>,
    presented: &Presented<'_>,
    clock: &Clock,
    uncertainty: Uncertainty,
) -> Outcome {
    match run(store, provider, presented, clock, uncertainty).await {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::error!(sub = %presented.sub, %error, "refresh: the store failed; nothing was sent");
            Outcome::Unavailable
        }
    }
}

async fn run(
    store: &Store,
    provider: &Arc<Provider>,
    presented: &Presented<'_>,
    clock: &Clock,
    uncertainty: Uncertainty,
) -> Result<Outcome, crate::store::StoreError> {
    let digest = Sha256::digest(presented.refresh_token.as_bytes()).to_vec();
    if let Some(outcome) = usable(store, &digest, presented, clock).await? {
        return Ok(served(outcome));
    }
    // No outcome for it, and the session's newest token is another: an older copy of the cookie
    // whose link was pruned. Never sent. Unless the outcome was committed (by another instance)
    // between the two reads: the head moves in the transaction that commits the outcome, so
    // once the head has moved, the outcome is there to be read.
    if let Some(head) = store.head(presented.session_id).await?
        && head != digest
    {
        return Ok(usable(store, &digest, presented, clock)
            .await?
            .map_or(Outcome::StaleCopy, served));
    }
    let waiting_since = tokio::time::Instant::now();
    let lease = loop {
        let now = clock.now();
        match store
            .try_lease(
                &digest,
                now,
                LEASE_SECONDS,
                presented.ends_at,
                presented.from_cookie,
            )
            .await?
        {
            LeaseTry::Acquired(lease) => break lease,
            LeaseTry::Held => {
                let wait = match store.backend() {
                    crate::store::Backend::Postgres => POLL_NOTIFIED,
                    crate::store::Backend::Sqlite => POLL,
                };
                store.wait_for_commit(wait).await;
                if let Some(outcome) = usable(store, &digest, presented, clock).await? {
                    tracing::info!(sub = %presented.sub, "refresh: joined another instance's");
                    crate::metrics::refresh_joined(crate::metrics::Via::Store);
                    return Ok(outcome);
                }
                if waiting_since.elapsed() > WAIT_FOR_HOLDER {
                    return Ok(Outcome::Unavailable);
                }
            }
        }
    };
    // The previous holder may have committed just before giving the lease back.
    if let Some(outcome) = usable(store, &digest, presented, clock).await? {
        store.release(&lease).await?;
        return Ok(outcome);
    }
    if lease.inherited_uncertain {
        tracing::warn!(sub = %presented.sub, "refresh: a previous holder sent this token and gave no outcome; settling it");
        return settle(
            store,
            provider,
            presented,
            &lease,
            clock,
            None,
            Outcome::Unavailable,
        )
        .await;
    }
    send(store, provider, presented, &lease, clock, uncertainty).await
}

/// Presents the token under `lease` and commits what came of it.
async fn send(
    store: &Store,
    provider: &Arc<Provider>,
    presented: &Presented<'_>,
    lease: &Lease,
    clock: &Clock,
    uncertainty: Uncertainty,
) -> Result<Outcome, crate::store::StoreError> {
    if !store.mark_sent(lease, clock.now()).await? {
        tracing::warn!(sub = %presented.sub, "refresh: the lease was taken over before sending; not sent");
        return Ok(Outcome::Unavailable);
    }
    let sent_at = tokio::time::Instant::now();
    let answer = extended(store, lease, clock, provider.refresh(presented.refresh_token)).await;
    crate::metrics::provider_refresh(&answer);
    match answer {
        Ok(tokens) => {
            let successor = Successor::from_tokens(tokens, clock.now());
            // What ends the new grant if it is not used: its refresh token (or the same one).
            let new_grant = successor
                .refresh_token
                .clone()
                .unwrap_or_else(|| presented.refresh_token.to_owned());
            if let Some(extra) = successor
                .scopes
                .iter()
                .flatten()
                .find(|scope| !presented.scopes.contains(scope))
            {
                // RFC 6749 §6: never more than the grant had. The new grant is not used: it is
                // revoked, and the session ends (its old token is not sent again).
                tracing::warn!(sub = %presented.sub, scope = %extra, "refresh: the provider granted more than the session's scopes; refused, session ended");
                revoke_later(Some(store), clock, provider, presented.sub, new_grant);
                return commit(store, lease, presented, clock, Committed::Ended).await;
            }
            let next_digest = successor
                .refresh_token
                .as_deref()
                .filter(|new| *new != presented.refresh_token)
                .map(|new| Sha256::digest(new.as_bytes()).to_vec());
            let json = serde_json::to_vec(&successor).expect("a successor serializes");
            let committed = Committed::Renewed {
                successor: json,
                next_digest,
            };
            match commit(store, lease, presented, clock, committed).await {
                Ok(outcome) => Ok(outcome),
                Err(error) => {
                    // Not committed: nothing may use it. The new grant is ended rather than
                    // kept where no other instance (or restart) could find it.
                    tracing::error!(sub = %presented.sub, %error, "refresh: the successor could not be committed; revoking it, the session ends");
                    revoke_later(Some(store), clock, provider, presented.sub, new_grant);
                    Ok(Outcome::Ended)
                }
            }
        }
        Err(ProviderError::Refused { .. }) => commit(store, lease, presented, clock, Committed::Ended).await,
        Err(ProviderError::Unavailable(detail)) => {
            tracing::warn!(sub = %presented.sub, %detail, "refresh: provider unavailable (the request was not acted on)");
            store.release(lease).await?;
            Ok(Outcome::Unavailable)
        }
        Err(ProviderError::Misconfigured { code }) => {
            tracing::error!(sub = %presented.sub, %code, "refresh refused: the provider does not accept this client's configuration");
            store.release(lease).await?;
            Ok(Outcome::Misconfigured(code))
        }
        Err(error @ (ProviderError::AnswerLost(_) | ProviderError::BadAnswer(_))) => {
            tracing::warn!(sub = %presented.sub, %error, "refresh: the answer was not fully received; the token may have been rotated");
            let grace = uncertainty.reuse_grace.filter(|grace| sent_at.elapsed() < *grace);
            // Still active: as if the provider had answered this failure plainly.
            let if_active = match error {
                ProviderError::BadAnswer(detail) => Outcome::BadAnswer(detail),
                _ => Outcome::Unavailable,
            };
            settle(store, provider, presented, lease, clock, grace, if_active).await
        }
        Err(error) => {
            tracing::error!(sub = %presented.sub, %error, "refresh failed");
            store.release(lease).await?;
            Ok(Outcome::BadAnswer(error.to_string()))
        }
    }
}

/// Settles an outcome that may or may not have rotated the token (see the module doc).
/// `grace`: a reuse grace period still open, which allows one more attempt; `if_active`: the
/// answer when the token turns out still active (nothing was rotated, the session is kept).
async fn settle(
    store: &Store,
    provider: &Arc<Provider>,
    presented: &Presented<'_>,
    lease: &Lease,
    clock: &Clock,
    grace: Option<Duration>,
    if_active: Outcome,
) -> Result<Outcome, crate::store::StoreError> {
    let introspected = provider.introspect(presented.refresh_token).await;
    crate::metrics::refresh_settled(&introspected, grace.is_some());
    match introspected {
        Ok(Some(true)) => {
            tracing::info!(sub = %presented.sub, "refresh settled: the token is still active, nothing was rotated; retry later");
            store.release(lease).await?;
            Ok(if_active)
        }
        Ok(Some(false)) => {
            tracing::warn!(sub = %presented.sub, "refresh settled: the token is no longer active, the rotation was lost; the session ends");
            end_honestly(store, provider, presented, lease, clock).await
        }
        Ok(None) if grace.is_some() => {
            tracing::info!(sub = %presented.sub, "refresh: trying once more inside the provider's reuse grace period");
            Box::pin(send(
                store,
                provider,
                presented,
                lease,
                clock,
                Uncertainty::default(),
            ))
            .await
        }
        Ok(None) => {
            tracing::warn!(sub = %presented.sub, "refresh: no introspection to settle a lost answer; the session ends rather than replay the token");
            end_honestly(store, provider, presented, lease, clock).await
        }
        Err(error) => {
            // Still unknown: the lease stays "sent" and is let go at once, so the next request
            // (here or elsewhere) settles it again instead of presenting the token.
            tracing::warn!(sub = %presented.sub, %error, "refresh: still unknown (introspection failed); retry later");
            store.extend(lease, clock.now()).await?;
            Ok(Outcome::Unavailable)
        }
    }
}

/// The token may have been used and will never be presented again: it is revoked (its grant
/// with it, at most providers) and the session's end committed.
async fn end_honestly(
    store: &Store,
    provider: &Arc<Provider>,
    presented: &Presented<'_>,
    lease: &Lease,
    clock: &Clock,
) -> Result<Outcome, crate::store::StoreError> {
    let token = presented.refresh_token.to_owned();
    revoke_later(Some(store), clock, provider, presented.sub, token);
    commit(store, lease, presented, clock, Committed::Ended).await
}

/// Commits `committed` and answers what is committed (ours, or an earlier outcome), retrying
/// the write: the provider has already used the old token.
async fn commit(
    store: &Store,
    lease: &Lease,
    presented: &Presented<'_>,
    clock: &Clock,
    committed: Committed,
) -> Result<Outcome, crate::store::StoreError> {
    let mut last = None;
    for wait in [0, 100, 500, 2000] {
        tokio::time::sleep(Duration::from_millis(wait)).await;
        match store
            .commit(
                lease,
                presented.session_id,
                &committed,
                clock.now(),
                presented.ends_at,
            )
            .await
        {
            Ok(now_committed) => return Ok(decode(now_committed, presented.sub)),
            Err(error) => last = Some(error),
        }
    }
    Err(last.expect("tried"))
}

/// Runs `call` while extending `lease` every third of [`LEASE_SECONDS`].
async fn extended<T>(store: &Store, lease: &Lease, clock: &Clock, call: impl Future<Output = T>) -> T {
    let keeper = {
        let (store, lease, clock) = (store.clone(), lease.clone(), clock.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(LEASE_SECONDS as u64 / 3));
            ticks.tick().await;
            loop {
                ticks.tick().await;
                match store.extend(&lease, clock.now() + LEASE_SECONDS).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::error!("refresh: the lease was taken over while the provider call ran");
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "refresh: the lease could not be extended; retrying")
                    }
                }
            }
        })
    };
    let answer = call.await;
    keeper.abort();
    answer
}

/// The committed outcome for the presented token, when it answers the request: a rotation or an
/// end always; a renewal that did not rotate only while its access token is fresh.
/// An outcome committed in the store, counted when it gives the request newer tokens.
fn served(outcome: Outcome) -> Outcome {
    if matches!(outcome, Outcome::Renewed(_)) {
        crate::metrics::successor_served(crate::metrics::Via::Store);
    }
    outcome
}

async fn usable(
    store: &Store,
    digest: &[u8],
    presented: &Presented<'_>,
    clock: &Clock,
) -> Result<Option<Outcome>, crate::store::StoreError> {
    let Some(committed) = store.successor(digest, presented.session_id).await? else {
        return Ok(None);
    };
    let outcome = decode(committed, presented.sub);
    match &outcome {
        Outcome::Renewed(successor)
            if !successor.rotated_from(presented.refresh_token)
                && successor.is_stale(clock.now(), presented.skew) =>
        {
            Ok(None)
        }
        _ => Ok(Some(outcome)),
    }
}

/// What a committed outcome means to a request.
fn decode(committed: Committed, sub: &str) -> Outcome {
    match committed {
        Committed::Ended => Outcome::Ended,
        Committed::Renewed { successor, .. } => match serde_json::from_slice::<Successor>(&successor) {
            Ok(successor) => Outcome::Renewed(Arc::new(successor)),
            Err(error) => {
                tracing::error!(%sub, %error, "refresh: a committed successor does not read; the session ends");
                Outcome::Ended
            }
        },
    }
}

/// Revokes `token` at the provider on its own task; when the provider cannot take it now, it
/// waits in the store's outbox (retried by any instance, across restarts).
pub(super) fn revoke_later(
    store: Option<&Store>,
    clock: &Clock,
    provider: &Arc<Provider>,
    sub: &str,
    token: String,
) {
    let (store, clock, provider, sub) = (
        store.cloned(),
        clock.clone(),
        Arc::clone(provider),
        sub.to_owned(),
    );
    tokio::spawn(async move {
        match provider.revoke(&token, "refresh_token").await {
            Ok(()) => tracing::info!(%sub, "revoked a refresh token that must not live on"),
            Err(ProviderError::Unavailable(_) | ProviderError::AnswerLost(_)) if store.is_some() => {
                let kept = store
                    .expect("checked")
                    .enqueue_revocation(provider.client_id(), &sub, "refresh_token", &token, clock.now())
                    .await;
                match kept {
                    Ok(()) => {
                        tracing::warn!(%sub, "a refresh token that must not live on waits in the outbox: the provider is unavailable")
                    }
                    Err(error) => {
                        tracing::error!(%sub, %error, "a refresh token that must not live on was NOT revoked, nor kept to retry")
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%sub, %error, "a refresh token that must not live on was NOT revoked")
            }
        }
    });
}
