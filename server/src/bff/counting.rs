//! Daily counting, from the farmer's side: turning it on (a second login flow, bound like the
//! first, asking for `openid offline_access eggs:read` with `prompt=consent`), its status and
//! history, turning it off. The offline refresh token goes into the [`Vault`], never into the
//! session cookie: the cookie's refresh token belongs to the browser session, the vault's to the
//! job, and neither is ever used by the other (two holders of one rotating token would replay it).
//!
//! | endpoint | what |
//! | --- | --- |
//! | `GET /bff/counting` | [`CountingStatus`]: on/off/needs consent, since when, last counted, 30 days of counts |
//! | `GET /bff/counting/start?code_challenge=…` | opens a counting transaction (as `GET /bff/login`); the code comes back through `POST /bff/login` |
//! | `POST /bff/counting/off` | revokes the offline grant at the provider and deletes it from the vault |
//! | `POST /bff/dev/count-eggs` | development only (the embedded COOP): one pass of the job now |

use app::auth::wire::{CountingState, CountingStatus, DayCount, LoginStart, SessionInfo};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Extension, Json};
use tower_sessions::Session;

use super::login::open_transaction;
use super::revocation;
use super::transaction::{Ledger, Purpose};
use crate::counting::{self, Summary};
use crate::error::BffError;
use crate::oidc::Tokens;
use crate::session::{self, SessionData};
use crate::state::AppState;
use crate::vault::{GrantState, Owner, Vault};

/// What turning counting on asks for: the job reads, nothing more (least privilege).
pub const COUNTING_SCOPES: [&str; 3] = ["openid", "offline_access", "eggs:read"];

fn vault(state: &AppState) -> Result<&Vault, BffError> {
    state.vault.as_ref().ok_or(BffError::NotFound)
}

fn owner(state: &AppState, subject: &str) -> Owner {
    Owner {
        issuer: state.provider.issuer().to_owned(),
        subject: subject.to_owned(),
        client_id: state.provider.client_id().to_owned(),
    }
}

async fn farmer(state: &AppState, session: &Session) -> Result<SessionData, BffError> {
    session::load(session, state.clock.now())
        .await?
        .ok_or(BffError::Unauthenticated)
}

pub async fn start(
    State(state): State<AppState>,
    Extension(ledger): Extension<Ledger>,
    session: Session,
    headers: HeaderMap,
    start: Result<Query<LoginStart>, QueryRejection>,
) -> Result<Response, BffError> {
    farmer(&state, &session).await?;
    vault(&state)?;
    let scopes = COUNTING_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    open_transaction(&state, &ledger, &headers, start, scopes, Purpose::Counting).await
}

/// `POST /bff/login` with a counting transaction: `granted` is the checked answer (ID token of
/// this transaction, no scope beyond what it asked). Keeps the offline refresh token in the
/// vault for the logged-in farmer; the session cookie is not touched.
pub(crate) async fn enrol(
    state: &AppState,
    session: &Session,
    granted: SessionData,
    tokens: &Tokens,
) -> Result<SessionInfo, BffError> {
    let refuse = |reason: String| {
        revocation::revoke_tokens_later(state, &granted.farmer.sub, tokens);
        BffError::LoginFailed(reason)
    };
    let current = match farmer(state, session).await {
        Ok(current) => current,
        Err(error) => {
            revocation::revoke_tokens_later(state, &granted.farmer.sub, tokens);
            return Err(error);
        }
    };
    if current.farmer.sub != granted.farmer.sub {
        return Err(refuse(
            "counting was allowed by another farmer than the one logged in".into(),
        ));
    }
    for needed in ["offline_access", "eggs:read"] {
        if !granted.scopes.iter().any(|s| s == needed) {
            return Err(refuse(format!("the provider did not grant {needed}")));
        }
    }
    let Some(refresh_token) = granted.refresh_token.as_deref() else {
        return Err(refuse("the provider issued no refresh token".into()));
    };
    let vault = vault(state)?;
    let owner = owner(state, &current.farmer.sub);
    match vault
        .enrol(&owner, refresh_token, &granted.scopes, state.clock.now())
        .await
    {
        Ok(replaced) => {
            if let Some(replaced) = replaced {
                revocation::revoke_later(state, &owner.subject, replaced, "refresh_token");
            }
        }
        Err(error) => {
            revocation::revoke_tokens_later(state, &owner.subject, tokens);
            return Err(BffError::Internal(format!("vault: {error}")));
        }
    }
    tracing::info!(sub = %owner.subject, "daily counting turned on");
    Ok(current.info())
}

pub async fn status(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<CountingStatus>, BffError> {
    let current = farmer(&state, &session).await?;
    Ok(Json(
        read_status(&state, &owner(&state, &current.farmer.sub)).await?,
    ))
}

pub async fn off(State(state): State<AppState>, session: Session) -> Result<Json<CountingStatus>, BffError> {
    let current = farmer(&state, &session).await?;
    let owner = owner(&state, &current.farmer.sub);
    let removed = vault(&state)?
        .remove(&owner)
        .await
        .map_err(|e| BffError::Internal(format!("vault: {e}")))?;
    if let Some(token) = removed {
        revocation::revoke_later(&state, &owner.subject, token, "refresh_token");
    }
    tracing::info!(sub = %owner.subject, "daily counting turned off");
    Ok(Json(read_status(&state, &owner).await?))
}

async fn read_status(state: &AppState, owner: &Owner) -> Result<CountingStatus, BffError> {
    let vault = vault(state)?;
    let internal = |e: crate::vault::VaultError| BffError::Internal(format!("vault: {e}"));
    let schedule = state.settings.daily_count;
    let today = schedule.day(state.clock.now());
    let from = today - time::Duration::days(29);
    let history = vault
        .history(owner, from, today)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|(date, count)| DayCount {
            date: counting::schedule::iso(date),
            count,
        })
        .collect();
    let status = vault.status(owner).await.map_err(internal)?;
    let (state, enabled_since, stopped_since, last_counted_at, last_outcome) = match status {
        None => (CountingState::Off, None, None, None, None),
        Some(status) => {
            let (state, stopped_since) = match status.state {
                GrantState::Active => (CountingState::On, None),
                GrantState::NeedsConsent { since } => (CountingState::NeedsConsent, Some(since)),
            };
            (
                state,
                Some(status.enabled_since),
                stopped_since,
                status.last_counted_at,
                status.last_outcome.map(|last| last.outcome.as_str().to_owned()),
            )
        }
    };
    Ok(CountingStatus {
        state,
        enabled_since,
        stopped_since,
        last_counted_at,
        last_outcome,
        today: counting::schedule::iso(today),
        history,
    })
}

/// Development only: one pass of the job now (the command line's `server count-eggs` does the
/// same in production). 404 unless the server runs the embedded COOP; a logged-in farmer only.
pub async fn dev_count(State(state): State<AppState>, session: Session) -> Result<Json<Summary>, BffError> {
    if state.settings.issuer.is_some() {
        return Err(BffError::NotFound);
    }
    farmer(&state, &session).await?;
    let job = counting::Job::from_state(&state).ok_or(BffError::NotFound)?;
    let day = state.settings.daily_count.day(state.clock.now());
    // On its own task: a request that goes away does not cut a refresh short.
    tokio::spawn(async move { job.run(day).await })
        .await
        .map_err(|e| BffError::Internal(format!("the run died: {e}")))?
        .map(Json)
        .map_err(|e| BffError::Internal(format!("vault: {e}")))
}
