//! Daily counting, from the farmer's side: turning it on (a second login flow, bound like the
//! first, asking for `openid offline_access eggs:read` with `prompt=consent`), its status and
//! history, turning it off. The offline refresh token goes into the [`Vault`], never into the
//! session cookie: the cookie's refresh token belongs to the browser session, the vault's to the
//! job, and neither is ever used by the other (two holders of one rotating token would replay it).
//!
//! **Two grants, two clients.** Many providers keep one grant per client and user (consent adds
//! scopes to it; revoking any of its tokens revokes all of it): with one client, turning counting
//! off, a refused enrolment or a logout would end both. So the job logs in as a client
//! registration of its own (`TOPCLUCK_COUNTING_CLIENT_ID`, [`AppState::counting_provider`]):
//! enrolment, turning off, re-consent and everything revoked here concern that client's grant
//! only, and logging out of TopCluck concerns the login client's only. Without that
//! registration, counting cannot be turned on: the status says `not_configured`, and
//! `/bff/counting/start` answers 409 `counting_not_configured` — the session is never touched.
//!
//! **What enrolment accepts.** A refresh token issued for this `offline_access` +
//! `prompt=consent` request is the offline grant. The token response's `scope` describes the
//! access token (RFC 6749 §5.1; with resource indicators, RFC 8707 §2.2, only the API's scopes),
//! so it may be narrower than the grant and is not asked to name `offline_access`. Refused: no
//! refresh token, an ID token of another farmer than the logged-in one, a scope beyond what was
//! asked (checked with the login's); what such a refused enrolment obtained is revoked, as the
//! counting client.
//!
//! | endpoint | what |
//! | --- | --- |
//! | `GET /bff/counting` | [`CountingStatus`]: on/off/needs consent, since when, last counted, 30 days of counts |
//! | `GET /bff/counting/start?code_challenge=…` | opens a counting transaction (as `GET /bff/login`); the code comes back through `POST /bff/login` |
//! | `POST /bff/counting/off` | revokes the offline grant at the provider and deletes it from the vault |
//! | `POST /bff/dev/count-eggs` | development only (the embedded COOP): one pass of the job now |

use std::sync::Arc;

use app::wire::{CountingState, CountingStatus, DayCount, LoginStart, SessionInfo};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::{Extension, Json};
use tower_sessions::Session;

use super::login::open_transaction;
use super::refusal::LoginRefusal;
use super::revocation;
use super::transaction::{Ledger, Purpose};
use crate::counting::{self, Summary};
use crate::error::BffError;
use crate::oidc::{Provider, Tokens};
use crate::session::{self, SessionData};
use crate::state::AppState;
use crate::vault::{GrantState, Owner, Vault};

/// What turning counting on asks for: the job reads, nothing more (least privilege).
pub const COUNTING_SCOPES: [&str; 3] = ["openid", "offline_access", "eggs:read"];

fn vault(state: &AppState) -> Result<&Vault, BffError> {
    state.vault.as_ref().ok_or(BffError::NotFound)
}

/// Daily counting's own client at the provider.
fn counting_client(state: &AppState) -> Result<&Arc<Provider>, BffError> {
    state
        .counting_provider
        .as_ref()
        .ok_or(BffError::CountingNotConfigured)
}

/// The vault's key for `subject`'s grant: daily counting's client, never the login's.
fn owner(counting: &Provider, subject: &str) -> Owner {
    Owner {
        issuer: counting.issuer().to_owned(),
        subject: subject.to_owned(),
        client_id: counting.client_id().to_owned(),
    }
}

async fn farmer(state: &AppState, session: &Session) -> Result<SessionData, BffError> {
    session::load(session, state.clock.now(), &state.gate)
        .await?
        .ok_or(BffError::Unauthenticated)
}

pub async fn start(
    State(state): State<AppState>,
    Extension(ledger): Extension<Ledger>,
    session: Session,
    cookies: crate::cookies::SealedCookies,
    start: Result<Query<LoginStart>, QueryRejection>,
) -> Result<Response, BffError> {
    farmer(&state, &session).await?;
    vault(&state)?;
    counting_client(&state)?;
    let scopes = COUNTING_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    open_transaction(&state, &ledger, &cookies, start, scopes, Purpose::Counting).await
}

/// `POST /bff/login` with a counting transaction: `granted` is the checked answer of
/// `counting`'s client (ID token of this transaction, no scope beyond what it asked). Keeps the
/// offline refresh token in the vault for the logged-in farmer; the session cookie is not
/// touched, and a refusal revokes only what this enrolment obtained (as `counting`'s client;
/// see [`refuse`]).
pub(crate) async fn enrol(
    state: &AppState,
    counting: &Arc<Provider>,
    session: &Session,
    granted: SessionData,
    tokens: &Tokens,
) -> Result<SessionInfo, BffError> {
    let current = match farmer(state, session).await {
        Ok(current) => current,
        Err(error) => {
            return Err(refuse(state, counting, session, Some(&granted.farmer.sub), tokens, error).await);
        }
    };
    if let Err(error) = check(&current, &granted) {
        return Err(refuse(state, counting, session, Some(&granted.farmer.sub), tokens, error).await);
    }
    let refresh_token = granted.refresh_token.as_deref().expect("checked");
    let vault = vault(state)?;
    let owner = owner(counting, &current.farmer.sub);
    // The grant's scopes are what was asked and consented to; the response's `scope` may name
    // only the access token's.
    let scopes: Vec<String> = COUNTING_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    let replaced = match vault
        .enrol(&owner, refresh_token, &scopes, state.clock.now())
        .await
    {
        Ok(replaced) => replaced,
        Err(error) => {
            return Err(refuse(
                state,
                counting,
                session,
                Some(&granted.farmer.sub),
                tokens,
                error.into(),
            )
            .await);
        }
    };
    if replaced.is_some() {
        // Enrolled again while on (two tabs): at a provider with one grant per client and farmer
        // the replaced token is the new one's grant, and revoking it would end both. Forgotten,
        // not revoked; at other providers it expires unused.
        tracing::warn!(sub = %owner.subject, "daily counting enrolled again: the replaced refresh token is forgotten, not revoked (it may share the new grant)");
    }
    forget_login_client_grant(state, &owner.subject).await?;
    tracing::info!(sub = %owner.subject, "daily counting turned on");
    Ok(current.info())
}

/// What makes an enrolment wrong, whatever the provider: another farmer's consent, no refresh
/// token, or an access token without `eggs:read` (the farmer did not allow reading eggs — as
/// Google's granular consent can answer). A `scope` that omits `openid` or `offline_access`
/// is fine: it describes the access token (RFC 6749 §5.1, RFC 8707 §2.2).
fn check(current: &SessionData, granted: &SessionData) -> Result<(), BffError> {
    if current.farmer.sub != granted.farmer.sub {
        return Err(LoginRefusal::AnotherFarmer.into());
    }
    if granted.refresh_token.is_none() {
        return Err(LoginRefusal::NoRefreshToken.into());
    }
    if !granted.scopes.iter().any(|s| s == "eggs:read") {
        return Err(LoginRefusal::NoEggsRead.into());
    }
    Ok(())
}

/// Takes back what a refused counting enrolment obtained, as the counting client, and passes
/// `error` on. Not when the farmer (the logged-in one, or the one who consented) already has a
/// counting grant in the vault: at a provider with one grant per client and farmer the new
/// tokens belong to that very grant, and revoking them would stop the farmer's counting. Those
/// are left to expire unused (the log says so).
pub(crate) async fn refuse(
    state: &AppState,
    counting: &Arc<Provider>,
    session: &Session,
    consented: Option<&str>,
    tokens: &Tokens,
    error: BffError,
) -> BffError {
    let logged_in = session::load(session, state.clock.now(), &state.gate)
        .await
        .ok()
        .flatten()
        .map(|data| data.farmer.sub);
    let mut subjects: Vec<&str> = logged_in.iter().map(String::as_str).chain(consented).collect();
    subjects.dedup();
    for subject in &subjects {
        let active = match state.vault.as_ref() {
            Some(vault) => vault.refresh_token(&owner(counting, subject)).await,
            None => Ok(None),
        };
        if !matches!(active, Ok(None)) {
            tracing::warn!(sub = %subject, "refused counting enrolment: its tokens are not revoked, the farmer's counting grant may share them; they expire unused");
            return error;
        }
    }
    revocation::revoke_tokens_later(
        state,
        counting,
        consented.unwrap_or("(refused enrolment)"),
        tokens,
    );
    error
}

pub async fn status(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<CountingStatus>, BffError> {
    let current = farmer(&state, &session).await?;
    let Some(counting) = state.counting_provider.as_ref() else {
        return Ok(Json(not_configured(&state)));
    };
    let sub = &current.farmer.sub;
    let status = read_status(&state, &owner(counting, sub)).await?;
    if status.state != CountingState::Off {
        return Ok(Json(status));
    }
    // Enrolled as the login client, before daily counting had a client of its own: not counted
    // any more, so the farmer is asked to turn it on again (its history is still shown).
    let legacy = login_client_owner(&state, sub);
    if vault(&state)?.status(&legacy).await?.is_some() {
        let mut old = read_status(&state, &legacy).await?;
        old.state = CountingState::NeedsConsent;
        old.stopped_since = old.stopped_since.or(old.last_counted_at).or(old.enabled_since);
        return Ok(Json(old));
    }
    Ok(Json(status))
}

/// Where a grant enrolled before daily counting had a client of its own is kept: under the
/// login's client.
fn login_client_owner(state: &AppState, subject: &str) -> Owner {
    owner(&state.provider, subject)
}

/// Forgets `subject`'s grant enrolled as the login client, if any, without revoking it: at a
/// provider with one grant per client and farmer it is the browser session's own grant.
async fn forget_login_client_grant(state: &AppState, subject: &str) -> Result<(), BffError> {
    let legacy = login_client_owner(state, subject);
    if vault(state)?.remove(&legacy).await?.is_some() {
        tracing::warn!(sub = %subject, "a daily-counting grant enrolled as the login client was forgotten, not revoked (it may be the browser session's grant); it expires unused");
    }
    Ok(())
}

/// The status without a counting client: nothing to show, nothing to turn on.
fn not_configured(state: &AppState) -> CountingStatus {
    CountingStatus {
        state: CountingState::NotConfigured,
        enabled_since: None,
        stopped_since: None,
        last_counted_at: None,
        last_outcome: None,
        today: counting::schedule::iso(state.settings.daily_count.day(state.clock.now())),
        history: Vec::new(),
    }
}

pub async fn off(State(state): State<AppState>, session: Session) -> Result<Json<CountingStatus>, BffError> {
    let current = farmer(&state, &session).await?;
    let counting = counting_client(&state)?;
    let owner = owner(counting, &current.farmer.sub);
    let removed = vault(&state)?.remove(&owner).await?;
    if let Some(token) = removed {
        // As the counting client: only the offline grant ends, never the session's.
        revocation::revoke_later(&state, counting, &owner.subject, token, "refresh_token");
    }
    forget_login_client_grant(&state, &owner.subject).await?;
    tracing::info!(sub = %owner.subject, "daily counting turned off");
    Ok(Json(read_status(&state, &owner).await?))
}

async fn read_status(state: &AppState, owner: &Owner) -> Result<CountingStatus, BffError> {
    let vault = vault(state)?;
    let schedule = state.settings.daily_count;
    let today = schedule.day(state.clock.now());
    let from = today - time::Duration::days(29);
    let history = vault
        .history(owner, from, today)
        .await?
        .into_iter()
        .map(|(date, count)| DayCount {
            date: counting::schedule::iso(date),
            count,
        })
        .collect();
    let status = vault.status(owner).await?;
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
    let summary = tokio::spawn(async move { job.run(day).await }).await??;
    Ok(Json(summary))
}
