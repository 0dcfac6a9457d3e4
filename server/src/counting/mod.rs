//! The daily job: counts every enrolled farmer's eggs while they are away, with the offline
//! grant kept in the [`Vault`] — never the session cookie's refresh token (one token, one home).
//!
//! For each enrolled farmer, at most [`Job::concurrency`] at once:
//! 1. refresh the vault's refresh token, asking for `eggs:read` only (least privilege);
//! 2. a rotated refresh token is stored (compare-and-swap on the old one) **before** the new
//!    access token is used; if the row no longer holds the old token (the farmer turned counting
//!    off meanwhile) the new one is revoked and the farmer skipped;
//! 3. read today's count from the API and store it: one row per farmer per day, a later run the
//!    same day replacing it.
//!
//! Outcomes: `counted`; `needs_consent` (`invalid_grant`: the grant is dead — its token is
//! deleted, history kept, no further provider call for that farmer); `retry_later` (provider or
//! API unavailable, retried with backoff within the run, then reported); `failed` (anything
//! else, with the reason). The log names farmers by subject and outcome only, never a token.

pub mod runner;
pub mod schedule;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::oidc::{Provider, ProviderError};
use crate::vault::{JobLease, Outcome, Owner, Vault};

/// Runs in flight in this process: shutting down waits for them ([`drain`]), so a SIGTERM
/// does not cut a refresh off between the provider's answer and the vault's write.
static IN_FLIGHT: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Waits (at most `limit`) for the runs in flight to finish; `false` if they did not.
pub async fn drain(limit: Duration) -> bool {
    tokio::time::timeout(limit, IN_FLIGHT.write()).await.is_ok()
}

/// How long a run holds a farmer's grant at most (longer than the slowest count with its
/// retries and the refresh timeout).
pub const LEASE_SECONDS: i64 = 15 * 60;

/// The scopes the job asks for when it refreshes.
pub const JOB_SCOPES: [&str; 1] = ["eggs:read"];

/// What a run needs.
#[derive(Clone)]
pub struct Job {
    pub vault: Vault,
    /// Daily counting's own client at the provider (never the login's: its grant is not the
    /// browser session's).
    pub provider: Arc<Provider>,
    pub api: crate::upstream::Api,
    /// The egg API's base (`TOPCLUCK_API_URL`).
    pub api_url: Option<url::Url>,
    pub clock: crate::clock::Clock,
    /// Farmers counted at once.
    pub concurrency: usize,
    /// Waits between attempts when the provider or the API is unavailable.
    pub backoff: Vec<Duration>,
}

impl Job {
    /// The job as the server's settings describe it, as daily counting's own client; `None`
    /// without a vault or without that client (`TOPCLUCK_COUNTING_CLIENT_ID`).
    pub fn from_state(state: &crate::state::AppState) -> Option<Self> {
        Some(Self {
            vault: state.vault.clone()?,
            provider: Arc::clone(state.counting_provider.as_ref()?),
            api: state.upstream.clone(),
            api_url: state.settings.api_url.clone(),
            clock: state.clock.clone(),
            concurrency: state.settings.count_concurrency,
            backoff: state.settings.count_backoff.clone(),
        })
    }
}

/// One farmer's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FarmerResult {
    Counted {
        count: i64,
    },
    NeedsConsent,
    RetryLater {
        reason: String,
    },
    Failed {
        reason: String,
    },
    /// Turned off while the job ran.
    Skipped,
    /// Another run holds this farmer's grant right now (the schedule and `server count-eggs`,
    /// or another instance): left to it.
    Busy,
}

/// A run's results, farmer by farmer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub date: String,
    pub farmers: Vec<(String, FarmerResult)>,
}

impl Summary {
    pub fn count(&self, pick: fn(&FarmerResult) -> bool) -> usize {
        self.farmers.iter().filter(|(_, r)| pick(r)).count()
    }

    /// Whether a farmer failed for a reason other than needing re-consent.
    pub fn any_failure(&self) -> bool {
        self.count(|r| matches!(r, FarmerResult::RetryLater { .. } | FarmerResult::Failed { .. })) > 0
    }

    /// One line per farmer and a summary, for `server count-eggs`.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .farmers
            .iter()
            .map(|(subject, result)| match result {
                FarmerResult::Counted { count } => format!("{subject}: counted {count}"),
                FarmerResult::NeedsConsent => format!("{subject}: needs re-consent (the grant is dead)"),
                FarmerResult::RetryLater { reason } => format!("{subject}: retry later ({reason})"),
                FarmerResult::Failed { reason } => format!("{subject}: failed ({reason})"),
                FarmerResult::Skipped => format!("{subject}: skipped (turned off)"),
                FarmerResult::Busy => format!("{subject}: skipped (another run is counting this farmer)"),
            })
            .collect();
        lines.push(format!(
            "{}: {} farmers, {} counted, {} need re-consent, {} to retry later, {} failed",
            self.date,
            self.farmers.len(),
            self.count(|r| matches!(r, FarmerResult::Counted { .. })),
            self.count(|r| matches!(r, FarmerResult::NeedsConsent)),
            self.count(|r| matches!(r, FarmerResult::RetryLater { .. })),
            self.count(|r| matches!(r, FarmerResult::Failed { .. })),
        ));
        lines
    }
}

/// Why an attempt should be tried again; what it says is the farmer's `retry_later` reason.
#[derive(Debug, thiserror::Error)]
enum Unavailable {
    #[error("the vault: {0}")]
    Vault(#[source] crate::vault::VaultError),
    /// The provider could not be reached, or its answer was not fully received.
    #[error("the provider: {}", provider_detail(.0))]
    Provider(#[source] ProviderError),
    #[error("the egg API: {0}")]
    EggApi(#[source] reqwest::Error),
    #[error("the egg API: HTTP {0}")]
    EggApiStatus(reqwest::StatusCode),
    #[error("the egg API: {0}")]
    EggApiBusy(#[source] crate::upstream::Overloaded),
}

/// What an unavailable provider's error says beyond "unavailable".
fn provider_detail(error: &ProviderError) -> String {
    match error {
        ProviderError::Unavailable(detail) => detail.clone(),
        other => other.to_string(),
    }
}

impl Job {
    /// One pass over every enrolled farmer, for `day`.
    pub async fn run(&self, day: time::Date) -> Result<Summary, crate::vault::VaultError> {
        let _in_flight = IN_FLIGHT.read().await;
        // Only this provider's and this client's grants: another issuer's token is never sent here.
        let (issuer, client_id) = (self.provider.issuer(), self.provider.client_id());
        let (owners, others): (Vec<Owner>, Vec<Owner>) = self
            .vault
            .enrolled()
            .await?
            .into_iter()
            .partition(|owner| owner.issuer == issuer && owner.client_id == client_id);
        let elsewhere = others.iter().filter(|owner| owner.issuer == issuer).count();
        if elsewhere > 0 {
            // Enrolled as another client of this provider (before daily counting had a client
            // of its own, or under another TOPCLUCK_COUNTING_CLIENT_ID): not this job's grants.
            tracing::warn!(
                grants = elsewhere,
                %client_id,
                "daily count: grants enrolled as another client of this provider are not counted; those farmers must turn counting on again"
            );
        }
        let permits = Arc::new(Semaphore::new(self.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        // Which farmer each task counts: a task that panics is that farmer's failure, not the
        // run's (returning early would abort every other farmer's refresh in flight).
        let mut farmers = std::collections::HashMap::new();
        for owner in owners {
            let (job, permits) = (self.clone(), Arc::clone(&permits));
            let subject = owner.subject.clone();
            let task = tasks.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("never closed");
                let result = job.count_leased(&owner, day).await;
                tracing::info!(sub = %owner.subject, outcome = ?result, "daily count");
                (owner, result)
            });
            farmers.insert(task.id(), subject);
        }
        let mut summary = Summary {
            date: schedule::iso(day),
            farmers: Vec::new(),
        };
        while let Some(joined) = tasks.join_next_with_id().await {
            let (owner, result) = match joined {
                Ok((_, done)) => done,
                Err(error) => {
                    let subject = farmers.remove(&error.id()).unwrap_or_default();
                    tracing::error!(sub = %subject, %error, "daily count: the farmer's task died");
                    let reason = format!("the count task died: {error}");
                    summary.farmers.push((subject, FarmerResult::Failed { reason }));
                    continue;
                }
            };
            let (outcome, reason) = match &result {
                FarmerResult::Counted { .. } => (Some(Outcome::Counted), None),
                FarmerResult::NeedsConsent => (Some(Outcome::NeedsConsent), None),
                FarmerResult::RetryLater { reason } => (Some(Outcome::RetryLater), Some(reason.as_str())),
                FarmerResult::Failed { reason } => (Some(Outcome::Failed), Some(reason.as_str())),
                FarmerResult::Skipped | FarmerResult::Busy => (None, None),
            };
            if let Some(outcome) = outcome
                && let Err(error) = self
                    .vault
                    .record_outcome(&owner, day, outcome, reason, self.clock.now())
                    .await
            {
                tracing::error!(sub = %owner.subject, %error, "daily count: outcome not stored");
            }
            summary.farmers.push((owner.subject, result));
        }
        summary.farmers.sort_by(|a, b| a.0.cmp(&b.0));
        crate::metrics::daily_run(&summary, self.clock.now());
        Ok(summary)
    }

    /// One farmer, holding the vault's lease on the grant: another run counting this farmer
    /// right now (the schedule and `server count-eggs`, or another instance) is left to it.
    async fn count_leased(&self, owner: &Owner, day: time::Date) -> FarmerResult {
        let lease = match self.vault.lease(owner, self.clock.now(), LEASE_SECONDS).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return FarmerResult::Busy,
            Err(error) => {
                return FarmerResult::RetryLater {
                    reason: format!("the vault: {error}"),
                };
            }
        };
        let result = match self.settle_inherited(owner, &lease).await {
            Some(result) => result,
            None => self.count(owner, &lease, day).await,
        };
        if let Err(error) = self.vault.release(owner, &lease).await {
            tracing::warn!(sub = %owner.subject, %error, "daily count: lease not released (it expires)");
        }
        result
    }

    /// A previous run presented the token and stored no outcome (it died): settled first, never
    /// presented again on a guess. `None`: the token is still active, count as usual.
    async fn settle_inherited(&self, owner: &Owner, lease: &JobLease) -> Option<FarmerResult> {
        if !lease.uncertain {
            return None;
        }
        tracing::warn!(sub = %owner.subject, "daily count: a previous run sent this grant's token without storing an outcome; settling it");
        let refresh_token = match self.vault.refresh_token(owner).await {
            Ok(Some(token)) => token,
            Ok(None) => return Some(FarmerResult::Skipped),
            Err(error) => {
                return Some(FarmerResult::RetryLater {
                    reason: format!("the vault: {error}"),
                });
            }
        };
        self.settle(owner, lease, &refresh_token).await.err()
    }

    /// Settles a refresh whose answer was not fully received (see
    /// [`crate::renewal::committed`]): `Ok(())` when the token is still active (nothing was
    /// rotated; it may be presented), else the farmer's result — needs consent (the rotation is
    /// lost: the grant is ended and revoked rather than replayed), or retry later when it is
    /// still unknown (the grant stays uncertain for the next run).
    async fn settle(&self, owner: &Owner, lease: &JobLease, refresh_token: &str) -> Result<(), FarmerResult> {
        match self.provider.introspect(refresh_token).await {
            Ok(Some(true)) => {
                tracing::info!(sub = %owner.subject, "daily count: settled, the token is still active");
                if let Err(error) = self.vault.settled(owner, lease).await {
                    return Err(FarmerResult::RetryLater {
                        reason: format!("the vault: {error}"),
                    });
                }
                Ok(())
            }
            Ok(Some(false)) | Ok(None) => {
                tracing::warn!(sub = %owner.subject, "daily count: the token may have been rotated and the answer is lost; ending the grant rather than replaying its token");
                self.revoke(owner, refresh_token, "refresh_token", "the uncertain grant")
                    .await;
                Err(self
                    .grant_dead(owner, refresh_token, "the refresh answer was lost")
                    .await)
            }
            Err(error) => Err(FarmerResult::RetryLater {
                reason: format!(
                    "the refresh answer was lost and introspection failed ({error}); settled on the next run"
                ),
            }),
        }
    }

    /// One farmer, with retries while the provider or the API is unavailable.
    async fn count(&self, owner: &Owner, lease: &JobLease, day: time::Date) -> FarmerResult {
        // An access token already obtained survives a retry of the API call: no second refresh.
        let mut access_token: Option<String> = None;
        let mut waits = self.backoff.iter();
        loop {
            match self.attempt(owner, lease, day, &mut access_token).await {
                Ok(result) => return result,
                Err(unavailable) => match waits.next() {
                    Some(wait) => tokio::time::sleep(*wait).await,
                    None => {
                        return FarmerResult::RetryLater {
                            reason: unavailable.to_string(),
                        };
                    }
                },
            }
        }
    }

    async fn attempt(
        &self,
        owner: &Owner,
        lease: &JobLease,
        day: time::Date,
        access_token: &mut Option<String>,
    ) -> Result<FarmerResult, Unavailable> {
        if access_token.is_none() {
            match self.renew(owner, lease).await? {
                Ok(token) => *access_token = Some(token),
                Err(result) => return Ok(result),
            }
        }
        let token = access_token.as_deref().expect("just set");
        let count = match self.read_count(token).await? {
            Ok(count) => count,
            Err(reason) => return Ok(FarmerResult::Failed { reason }),
        };
        match self.vault.record_count(owner, day, count, self.clock.now()).await {
            Ok(()) => Ok(FarmerResult::Counted { count }),
            Err(error) => Ok(FarmerResult::Failed {
                reason: format!("the count could not be stored: {error}"),
            }),
        }
    }

    /// A fresh access token for `owner`, the rotated refresh token stored first. `Ok(Err(_))`:
    /// the farmer's result, no access token.
    async fn renew(
        &self,
        owner: &Owner,
        lease: &JobLease,
    ) -> Result<Result<String, FarmerResult>, Unavailable> {
        let refresh_token = match self.vault.refresh_token(owner).await {
            Ok(Some(token)) => token,
            Ok(None) => return Ok(Err(FarmerResult::Skipped)),
            Err(error) => return Err(Unavailable::Vault(error)),
        };
        match self.vault.sending(owner, lease, self.clock.now()).await {
            Ok(true) => {}
            Ok(false) => return Ok(Err(FarmerResult::Busy)),
            Err(error) => return Err(Unavailable::Vault(error)),
        }
        let tokens = match self
            .provider
            .refresh_with_scopes(&refresh_token, &JOB_SCOPES)
            .await
        {
            Ok(tokens) => tokens,
            Err(ProviderError::Refused { .. }) => {
                return Ok(Err(self
                    .grant_dead(owner, &refresh_token, "the grant is dead")
                    .await));
            }
            Err(error @ (ProviderError::AnswerLost(_) | ProviderError::BadAnswer(_))) => {
                // The provider may have rotated the token: never presented again on a guess.
                tracing::warn!(sub = %owner.subject, %error, "daily count: the refresh answer was not fully received");
                return match self.settle(owner, lease, &refresh_token).await {
                    Ok(()) => Err(Unavailable::Provider(error)),
                    Err(result) => Ok(Err(result)),
                };
            }
            Err(error @ ProviderError::Unavailable(_)) => {
                // Not received: the token is unused.
                let _ = self.vault.settled(owner, lease).await;
                return Err(Unavailable::Provider(error));
            }
            Err(error) => {
                let _ = self.vault.settled(owner, lease).await;
                return Ok(Err(FarmerResult::Failed {
                    reason: error.to_string(),
                }));
            }
        };
        match tokens
            .refresh_token
            .as_deref()
            .filter(|new| *new != refresh_token)
        {
            Some(new) => {
                if let Some(result) = self.store_rotation(owner, lease, &refresh_token, new).await {
                    return Ok(Err(result));
                }
            }
            None => {
                let _ = self.vault.settled(owner, lease).await;
            }
        }
        // RFC 6749 §6: never more than asked. A wider token is not used.
        if let Some(granted) = &tokens.scopes
            && let Some(extra) = granted.iter().find(|s| !JOB_SCOPES.contains(&s.as_str()))
        {
            self.revoke(
                owner,
                &tokens.access_token,
                "access_token",
                "an unused access token",
            )
            .await;
            return Ok(Err(FarmerResult::Failed {
                reason: format!("the provider granted {extra:?} beyond eggs:read"),
            }));
        }
        Ok(Ok(tokens.access_token))
    }

    /// Revokes `token` once (the job's tokens that must not live on), logging a failure as
    /// `what` NOT revoked.
    async fn revoke(&self, owner: &Owner, token: &str, hint: &str, what: &str) {
        if let Err(error) = self.provider.revoke(token, hint).await {
            tracing::warn!(sub = %owner.subject, %error, "daily count: {what} NOT revoked");
        }
    }

    /// The provider no longer honours `token`: the grant is marked dead — only if the row still
    /// holds that token (a grant renewed meanwhile lives). `why` prefixes a vault failure.
    async fn grant_dead(&self, owner: &Owner, token: &str, why: &str) -> FarmerResult {
        match self
            .vault
            .needs_consent_if_current(owner, token, self.clock.now())
            .await
        {
            Ok(true) => FarmerResult::NeedsConsent,
            Ok(false) => FarmerResult::Skipped,
            Err(error) => FarmerResult::Failed {
                reason: format!("{why}, but the vault could not say so: {error}"),
            },
        }
    }

    /// Stores a rotated refresh token before anything uses the new access token. The write is
    /// retried (the provider has already used up the old token: losing the new one loses the
    /// grant). `Some(result)` when the farmer cannot be counted.
    async fn store_rotation(
        &self,
        owner: &Owner,
        lease: &JobLease,
        old: &str,
        new: &str,
    ) -> Option<FarmerResult> {
        let mut last_error = None;
        for wait in [0, 200, 1000, 5000] {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            match self
                .vault
                .rotate_leased(owner, lease, old, new, self.clock.now())
                .await
            {
                Ok(true) => return None,
                Ok(false) => {
                    // Turned off (or re-enrolled) meanwhile: the new token has no home.
                    self.revoke(owner, new, "refresh_token", "an orphaned refresh token")
                        .await;
                    return Some(FarmerResult::Skipped);
                }
                Err(error) => last_error = Some(error.to_string()),
            }
        }
        // The row still holds the used token: presented again, it would be a replay. Ending the
        // grant now makes the next run meet a plain invalid_grant (re-consent) instead.
        tracing::error!(sub = %owner.subject, "daily count: the rotated refresh token could not be stored; ending the grant");
        self.revoke(owner, new, "refresh_token", "the unstored refresh token")
            .await;
        Some(FarmerResult::Failed {
            reason: format!(
                "the rotated refresh token could not be stored ({}); the grant was ended, the farmer must turn counting on again",
                last_error.unwrap_or_default()
            ),
        })
    }

    /// `GET <api>/eggs` → today's count. `Ok(Err(reason))`: not worth retrying.
    async fn read_count(&self, access_token: &str) -> Result<Result<i64, String>, Unavailable> {
        let Some(base) = &self.api_url else {
            return Ok(Err("no egg API configured (TOPCLUCK_API_URL)".into()));
        };
        let url = format!("{}/eggs", base.as_str().trim_end_matches('/'));
        // The browsers' limit too: the job never takes more of the API than they may.
        let _permit = self.api.limit.admit().await.map_err(Unavailable::EggApiBusy)?;
        let response = match self.api.client.get(&url).bearer_auth(access_token).send().await {
            Ok(response) => response,
            Err(error) => return Err(Unavailable::EggApi(error)),
        };
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(Unavailable::EggApiStatus(status));
        }
        if !status.is_success() {
            return Ok(Err(format!("the egg API answered HTTP {status}")));
        }
        #[derive(serde::Deserialize)]
        struct Eggs {
            count: i64,
        }
        Ok(response
            .json::<Eggs>()
            .await
            .map(|eggs| eggs.count)
            .map_err(|e| format!("the egg API's answer is unreadable: {e}")))
    }
}
