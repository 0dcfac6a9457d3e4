//! Silent renewal of access tokens, safe under concurrency, rotation and abandoned requests.
//!
//! The rule: a refresh token is never replayed and never lost. How this module keeps it:
//! - **Single flight.** Requests presenting the same refresh token share one refresh.
//! - **A refresh, once sent, finishes.** It runs on its own task (never inside a request's
//!   future, which hyper drops when the browser goes away) with a longer timeout than any
//!   request waits ([`crate::oidc::REFRESH_TIMEOUT`]). A request that stops waiting answers
//!   503 "retry"; the answer still lands in the cache.
//! - **The successor cache.** The outcome is remembered for a window, keyed by the (hash of
//!   the) old refresh token: a request still carrying the old cookie gets the new tokens — and
//!   a new cookie — instead of replaying a used refresh token, which a rotating provider with
//!   no grace period punishes by revoking the whole grant.
//! - **Never a stale token from memory.** A remembered access token that has expired (or will
//!   within the skew) is not handed out: when the provider rotated, renewal continues from the
//!   successor's refresh token; when it did not (the same token or none came back), refreshing
//!   with the same token again is no replay, and is done.
//! - Failures that may pass (provider unavailable, unreadable answer, our misconfiguration)
//!   are not remembered: the next request tries again.
//! - **The store is the commit point** ([`committed`]): with a store, every refresh goes through
//!   it — one lease per token across instances, the outcome committed before any response uses
//!   it, an older cookie answered from the committed chain for as long as its session lives,
//!   an answer not fully received settled by introspection rather than guessed. The cache above
//!   is only memory in front of it.

mod cache;
pub mod committed;
mod outcome;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::watch;

pub use cache::Limits;
use cache::{Cache, Ending, Key, State};
pub use outcome::{Outcome, Successor};

use crate::clock::Clock;
use crate::oidc::{Provider, RETRY_AFTER_SECONDS};
use crate::session::SessionData;
use crate::store::Store;

/// What a request gets from [`Renewer::renew`].
#[derive(Clone, Debug)]
pub enum Renewal {
    /// New tokens, merged into a copy of the request's session.
    Renewed(Box<SessionData>),
    /// The refresh token is expired or revoked (`invalid_grant`), or there is none.
    Ended,
    /// The cookie is an older copy of its session's (see [`Outcome::StaleCopy`]): this copy
    /// ends, the session lives on in the browser that has the newest.
    StaleCopy,
    /// The provider could not be reached, failed, or has not answered yet.
    Unavailable { retry_after_seconds: u64 },
    /// The provider refused TopCluck's client: a configuration fault.
    Misconfigured(String),
    /// The provider's answer was not a token response.
    BadAnswer(String),
}

/// How the renewer behaves.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub limits: Limits,
    /// Renew when the access token expires within this (bounded by its lifetime, see
    /// [`crate::session::effective_skew`]). Remembered tokens this close to expiry are stale.
    pub skew: Duration,
    /// How long a request waits for a refresh before answering "retry" (the refresh goes on).
    pub wait: Duration,
    /// How an answer not fully received is settled.
    pub uncertainty: committed::Uncertainty,
}

impl Config {
    pub fn new(skew: Duration, wait: Duration) -> Self {
        Self {
            limits: Limits {
                window_seconds: 120,
                max_entries: 50_000,
                max_bytes: 32 << 20,
            },
            skew,
            wait,
            uncertainty: committed::Uncertainty::default(),
        }
    }
}

/// Single-flight refreshes on their own tasks, with a bounded successor cache.
pub struct Renewer {
    cache: Mutex<Cache>,
    config: Config,
    clock: Clock,
    /// The commit point of every refresh (`None`: this process's memory only).
    store: Option<Store>,
    /// Refreshes running now: a graceful stop waits for them ([`Renewer::drain`]).
    in_flight: Arc<tokio::sync::RwLock<()>>,
}

/// How many remembered rotations one renewal follows at most (a tab asleep across several).
const MAX_CHAIN: usize = 8;

/// What to do after looking at the cache.
enum Step {
    Done(Renewal),
    Follow(Box<SessionData>),
    Wait(watch::Receiver<Option<Outcome>>),
}

impl Renewer {
    pub fn new(config: Config, clock: Clock) -> Self {
        Self {
            cache: Mutex::new(Cache::new(config.limits)),
            config,
            clock,
            store: None,
            in_flight: Arc::default(),
        }
    }

    /// With `store` as the commit point of every refresh.
    pub fn with_store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Waits (at most `limit`) for the refreshes in flight to finish and commit their answers;
    /// `false` if some did not. A graceful stop calls this after the last request.
    pub async fn drain(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.in_flight.write()).await.is_ok()
    }

    /// Entries and bytes the successor cache holds now, and outcomes it dropped early.
    pub fn cache_usage(&self) -> (usize, usize, u64) {
        let cache = self.lock();
        (cache.len(), cache.bytes(), cache.evicted_early)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Renews `data`'s tokens. `rejected` is the access token the API just refused, if that is
    /// why: a remembered result carrying that same token is not good enough.
    ///
    /// The second value is the session as far as renewal got before a failure: when it
    /// followed a remembered rotation and then could not refresh, the caller must still store
    /// it — the remembered successor is the only copy of the current refresh token.
    pub async fn renew(
        self: &Arc<Self>,
        provider: &Arc<Provider>,
        data: &SessionData,
        rejected: Option<&str>,
    ) -> (Renewal, Option<SessionData>) {
        let mut current = data.clone();
        let mut followed = false;
        for _ in 0..MAX_CHAIN {
            let Some(refresh_token) = current.refresh_token.clone() else {
                return (Renewal::Ended, None);
            };
            let step = self.look(provider, &current, &refresh_token, rejected, !followed);
            let mut done = match step {
                Step::Done(renewal) => return (renewal, followed.then_some(current)),
                Step::Follow(next) => {
                    current = *next;
                    followed = true;
                    continue;
                }
                Step::Wait(done) => done,
            };
            let waiting = crate::metrics::renewal_waiting();
            let waited = tokio::time::timeout(self.config.wait, done.wait_for(Option::is_some)).await;
            drop(waiting);
            let outcome = match waited {
                Ok(Ok(outcome)) => outcome.clone().expect("waited for Some"),
                // The task died (it cannot, short of a panic): nothing is known.
                Ok(Err(_)) => Outcome::Unavailable,
                Err(_elapsed) => {
                    tracing::warn!(sub = %current.farmer.sub, "refresh still in flight; answering retry, it goes on");
                    Outcome::Unavailable
                }
            };
            // A rotation answered from the store may be old: its access token expired long ago.
            // Continue from its refresh token then (never hand out a stale token).
            if let Outcome::Renewed(successor) = &outcome
                && successor.rotated_from(&refresh_token)
                && (successor.is_stale(self.clock.now(), self.config.skew)
                    || rejected == Some(successor.access_token.as_str()))
            {
                current = successor.apply(&current);
                followed = true;
                continue;
            }
            return (outcome.for_session(&current), followed.then_some(current));
        }
        tracing::warn!(sub = %data.farmer.sub, "too many remembered rotations to follow");
        let progressed = followed.then_some(current);
        (
            Renewal::Unavailable {
                retry_after_seconds: RETRY_AFTER_SECONDS,
            },
            progressed,
        )
    }

    /// Ends a session (logout): every remembered successor of its refresh token becomes
    /// "ended", so no request still carrying the cookie brings the session back, and a refresh
    /// in flight has its answer revoked when it lands. Returns the refresh tokens the chain
    /// had rotated to, newest last: they must be revoked too.
    pub fn end(&self, data: &SessionData) -> Vec<String> {
        let now = self.clock.now();
        let mut cache = self.lock();
        let mut successors = Vec::new();
        let mut next = data.refresh_token.clone();
        for _ in 0..MAX_CHAIN {
            let Some(refresh_token) = next.take() else { break };
            match cache.end(digest(&refresh_token), now) {
                Ending::Successor(Outcome::Renewed(successor)) if successor.rotated_from(&refresh_token) => {
                    let rotated = successor.refresh_token.clone().expect("rotated");
                    successors.push(rotated.clone());
                    next = Some(rotated);
                }
                _ => break,
            }
        }
        successors
    }

    /// The refresh tokens the store's committed chain rotated `data`'s to, newest last (a
    /// logout revokes them too: one may be in a cookie the browser never stored).
    pub async fn committed_chain(&self, data: &SessionData) -> Vec<String> {
        let Some(store) = &self.store else {
            return Vec::new();
        };
        let mut tokens = Vec::new();
        let mut next = data.refresh_token.clone();
        for _ in 0..MAX_CHAIN {
            let Some(token) = next.take() else { break };
            let found = store.successor(&digest(&token), &data.session_id).await;
            let Ok(Some(crate::store::successors::Committed::Renewed { successor, .. })) = found else {
                break;
            };
            match serde_json::from_slice::<Successor>(&successor) {
                Ok(successor) if successor.rotated_from(&token) => {
                    let rotated = successor.refresh_token.expect("rotated");
                    tokens.push(rotated.clone());
                    next = Some(rotated);
                }
                _ => break,
            }
        }
        tokens
    }

    /// Decides, under the lock, between a remembered outcome, following a rotation, joining a
    /// refresh in flight, or starting one.
    fn look(
        self: &Arc<Self>,
        provider: &Arc<Provider>,
        current: &SessionData,
        refresh_token: &str,
        rejected: Option<&str>,
        from_cookie: bool,
    ) -> Step {
        let key = digest(refresh_token);
        let now = self.clock.now();
        let mut cache = self.lock();
        cache.prune(now);
        match cache.get(&key) {
            Some(State::InFlight(done)) => {
                crate::metrics::refresh_joined(crate::metrics::Via::Memory);
                return Step::Wait(done.clone());
            }
            Some(State::Done { outcome, .. }) => match outcome {
                Outcome::Renewed(successor) => {
                    let stale = successor.is_stale(now, self.config.skew)
                        || rejected == Some(successor.access_token.as_str());
                    if successor.rotated_from(refresh_token) {
                        // The remembered refresh token is used. Hand out the successor only if
                        // it is fresh and nothing newer is known; else continue from it.
                        let newer = successor
                            .refresh_token
                            .as_deref()
                            .is_some_and(|next| cache.contains(&digest(next)));
                        crate::metrics::successor_served(crate::metrics::Via::Memory);
                        if stale || newer {
                            return Step::Follow(Box::new(successor.apply(current)));
                        }
                        return Step::Done(outcome.for_session(current));
                    }
                    if !stale {
                        crate::metrics::successor_served(crate::metrics::Via::Memory);
                        return Step::Done(outcome.for_session(current));
                    }
                    // Not rotated: refreshing with the same token again is no replay.
                }
                remembered => return Step::Done(remembered.for_session(current)),
            },
            None => {}
        }
        Step::Wait(self.start(&mut cache, provider, key, refresh_token, current, from_cookie))
    }

    /// Starts a refresh on its own task; its outcome reaches the cache whatever happens to the
    /// request that started it.
    fn start(
        self: &Arc<Self>,
        cache: &mut Cache,
        provider: &Arc<Provider>,
        key: Key,
        refresh_token: &str,
        session: &SessionData,
        from_cookie: bool,
    ) -> watch::Receiver<Option<Outcome>> {
        let (tx, rx) = watch::channel(None);
        let generation = cache.start(key, rx.clone(), self.clock.now());
        let (renewer, provider) = (Arc::clone(self), Arc::clone(provider));
        let (refresh_token, sub) = (refresh_token.to_owned(), session.farmer.sub.clone());
        let (session_id, ends_at, scopes) = (
            session.session_id.clone(),
            session.ends_at(),
            session.scopes.clone(),
        );
        // Taken before the task starts: a graceful stop that begins now still waits for it.
        let in_flight = Arc::clone(&self.in_flight).try_read_owned();
        tokio::spawn(async move {
            let _in_flight = match in_flight {
                Ok(guard) => Some(guard),
                Err(_) => Some(renewer.in_flight.clone().read_owned().await),
            };
            let outcome = match &renewer.store {
                Some(store) => {
                    let presented = committed::Presented {
                        refresh_token: &refresh_token,
                        session_id: &session_id,
                        ends_at,
                        sub: &sub,
                        scopes: &scopes,
                        skew: renewer.config.skew,
                        from_cookie,
                    };
                    committed::refresh(
                        store,
                        &provider,
                        &presented,
                        &renewer.clock,
                        renewer.config.uncertainty,
                    )
                    .await
                }
                None => outcome::refresh(&provider, &refresh_token, &renewer.clock).await,
            };
            tracing::info!(%sub, outcome = outcome.label(), "access token refresh");
            crate::metrics::refresh(&outcome);
            let rotated = matches!(&outcome, Outcome::Renewed(s) if s.rotated_from(&refresh_token));
            let logged_out =
                renewer
                    .lock()
                    .finish(key, generation, outcome.clone(), rotated, renewer.clock.now());
            let outcome = match outcome {
                Outcome::Renewed(successor) if logged_out => {
                    // Logged out while this refresh was in flight: what it brought is revoked.
                    let token = successor
                        .refresh_token
                        .clone()
                        .unwrap_or_else(|| refresh_token.clone());
                    tracing::info!(%sub, "refresh answered after logout: revoking what it brought");
                    committed::revoke_later(renewer.store.as_ref(), &renewer.clock, &provider, &sub, token);
                    Outcome::Ended
                }
                outcome => outcome,
            };
            // Nobody may be waiting any more: the cache has it.
            let _ = tx.send(Some(outcome));
        });
        rx
    }
}

/// The cache key of a refresh token: its SHA-256 (the cache never holds a used token).
fn digest(refresh_token: &str) -> Key {
    Sha256::digest(refresh_token.as_bytes()).into()
}
