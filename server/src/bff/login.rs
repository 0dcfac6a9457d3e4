//! Login, driven by the SPA and bound to its browser ([`super::transaction`]).
//!
//! `GET /bff/login?code_challenge=…&code_challenge_method=S256[&prompt=none]` opens a login
//! transaction and answers what the SPA needs to send the farmer to the provider (with the
//! `state` and `nonce` the BFF chose; when the provider takes pushed authorization requests, the
//! BFF pushes the request and the SPA gets its `request_uri` instead, [`super::authorization`]).
//! `prompt=none` is the SPA's silent login: the provider answers without a page, or with
//! `login_required`. `POST /bff/login` redeems the code it brings back — only with this
//! browser's open transaction for its `state`, the PKCE verifier of that transaction's
//! challenge and an `iss` that is the provider's (RFC 9207), checked before the provider is
//! called — validates the ID token against the transaction's nonce, refuses a grant with more
//! scope than was asked for, and seals the tokens into the session cookie. Whatever the
//! provider issued for a login that fails is revoked.

use std::sync::Arc;

use sha2::Digest;

use app::wire::{CodeExchange, Farmer, LoginStart, SessionInfo};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use tower_sessions::Session;

use super::refusal::LoginRefusal;
use super::revocation;
use super::throttle::Throttle;
use super::transaction::{self, Ledger, Purpose, Transaction};
use crate::cookies::SealedCookies;
use crate::edges::Connection;
use crate::error::BffError;
use crate::oidc::{Provider, Tokens};
use crate::session::{self, SessionData};
use crate::state::AppState;
use crate::store::registry::RegisterError;

/// Logins opened per address: [`Throttle`]'s own bucket, apart from code redemptions'. Opening
/// needs no session, and with a PAR endpoint each one is a call to the provider as TopCluck's
/// client: without a limit anyone could make the BFF push requests at will.
#[derive(Clone)]
pub struct Openings(pub Throttle);

/// Logins an address may open in a row: far more than a farmer (or a household behind one
/// address) opens, and a silent try is one too; then one more every [`OPENINGS_REFILL`].
pub const OPENINGS_BURST: u32 = 60;
pub const OPENINGS_REFILL: std::time::Duration = std::time::Duration::from_millis(500);

pub async fn begin(
    State(state): State<AppState>,
    Extension(ledger): Extension<Ledger>,
    Extension(Openings(openings)): Extension<Openings>,
    connection: Option<Extension<Connection>>,
    cookies: SealedCookies,
    start: Result<Query<LoginStart>, QueryRejection>,
) -> Result<Response, BffError> {
    let address = connection.map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.peer.ip());
    if let Err(wait) = openings.admit(address) {
        tracing::warn!(%address, "login not opened: too many from this address");
        return Err(BffError::TooManyAttempts {
            retry_after_seconds: wait.as_secs().max(1),
        });
    }
    let scopes = state.settings.scopes.clone();
    open_transaction(&state, &ledger, &cookies, start, scopes, Purpose::Login).await
}

/// The client a transaction of `purpose` logs in as: the login's, or daily counting's own
/// registration (its grant is never the session's).
pub(crate) fn client_for(state: &AppState, purpose: Purpose) -> Result<&Arc<Provider>, BffError> {
    match purpose {
        Purpose::Login => Ok(&state.provider),
        Purpose::Counting => state
            .counting_provider
            .as_ref()
            .ok_or(BffError::CountingNotConfigured),
    }
}

/// Opens a login transaction of `purpose` asking for `scopes` (see [`super::transaction`]).
/// `Purpose::Counting` asks the provider for consent (`prompt=consent`, OIDC Core §11), as
/// daily counting's own client; a login may ask for `prompt=none` (silent), nothing else. When
/// the authorization request cannot be made (the push failed, or is required and not offered),
/// no transaction is opened.
pub(crate) async fn open_transaction(
    state: &AppState,
    ledger: &Ledger,
    cookies: &SealedCookies,
    start: Result<Query<LoginStart>, QueryRejection>,
    scopes: Vec<String>,
    purpose: Purpose,
) -> Result<Response, BffError> {
    let provider = client_for(state, purpose)?;
    let (start, prompt) = checked_start(start, purpose)?;
    let now = state.clock.now();
    let opened = Transaction {
        state: transaction::random_token(32),
        nonce: transaction::random_token(32),
        challenge: start.code_challenge,
        scopes,
        expires_at: now + transaction::LIFETIME_SECONDS,
        purpose,
    };
    let parameters = super::authorization::request(state, provider, &opened, prompt).await?;
    ledger.with(cookies, ledger.open(cookies, now), opened, now);
    Ok(Json(parameters).into_response())
}

/// The SPA's `GET /bff/login` query, checked: an S256 challenge, and the `prompt` a transaction
/// of `purpose` sends (a login's `none` when asked, counting's `consent`).
pub fn checked_start(
    start: Result<Query<LoginStart>, QueryRejection>,
    purpose: Purpose,
) -> Result<(LoginStart, Option<&'static str>), BffError> {
    let Query(start) = start
        .map_err(|_| BffError::BadRequest("code_challenge and code_challenge_method=S256 are required"))?;
    if start.code_challenge_method != "S256" || !transaction::is_challenge(&start.code_challenge) {
        return Err(BffError::BadRequest(
            "code_challenge must be an S256 challenge (base64url of 32 bytes)",
        ));
    }
    let prompt = match (purpose, start.prompt.as_deref()) {
        (Purpose::Login, None) => None,
        (Purpose::Login, Some("none")) => Some("none"),
        (Purpose::Counting, None) => Some("consent"),
        _ => {
            return Err(BffError::BadRequest(
                "prompt may only be none, for a silent login",
            ));
        }
    };
    Ok((start, prompt))
}

pub async fn complete(
    State(state): State<AppState>,
    Extension(ledger): Extension<Ledger>,
    Extension(throttle): Extension<Throttle>,
    connection: Option<Extension<Connection>>,
    session: Session,
    cookies: SealedCookies,
    exchange: Result<Json<CodeExchange>, JsonRejection>,
) -> Response {
    let Json(exchange) = match exchange {
        Ok(exchange) => exchange,
        Err(rejection) => return BffError::from(rejection).into_response(),
    };
    // Used up whatever happens next: one code redemption per transaction.
    let now = state.clock.now();
    // The rest stay open in the cookie, written into the response whatever its status.
    let opened = ledger.take(&cookies, ledger.open(&cookies, now), &exchange.state, now);
    let opened = match opened {
        Some(opened) => first_use(&state, opened).await,
        None => Err(BffError::LoginNotStarted),
    };
    let result = match opened {
        Err(error) => Err(error),
        Ok(opened) => redeem(&state, &session, &exchange, &opened, &throttle, connection).await,
    };
    crate::metrics::login(&result);
    result.map(Json).into_response()
}

/// `opened`, if no instance has used its state before: the store records it as used until it
/// would have expired, so a login `POST` replayed to another instance is refused as on this one.
async fn first_use(state: &AppState, opened: Transaction) -> Result<Transaction, BffError> {
    let Some(store) = &state.store else {
        return Ok(opened);
    };
    let digest = sha2::Sha256::digest(opened.state.as_bytes());
    match store.use_login_state(&digest, opened.expires_at).await {
        Ok(true) => Ok(opened),
        Ok(false) => Err(BffError::LoginNotStarted),
        Err(error) => Err(error.into()),
    }
}

/// The checks that need no provider, the code exchange, then what the provider answered.
async fn redeem(
    state: &AppState,
    session: &Session,
    exchange: &CodeExchange,
    opened: &Transaction,
    throttle: &Throttle,
    connection: Option<Extension<Connection>>,
) -> Result<SessionInfo, BffError> {
    check_exchange(exchange, state.settings.redirect_uri.as_str(), opened)?;
    let provider = client_for(state, opened.purpose)?;
    super::authorization::check_issuer(provider.metadata().await?, exchange.iss.as_deref())?;
    let address = connection.map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.peer.ip());
    if let Err(wait) = throttle.admit(address) {
        tracing::warn!(%address, "login refused: too many code redemptions from this address");
        return Err(BffError::TooManyAttempts {
            retry_after_seconds: wait.as_secs().max(1),
        });
    }

    let tokens = provider
        .exchange_code(&exchange.code, &exchange.code_verifier)
        .await?;
    let data = match accept(state, provider, &tokens, opened).await {
        Ok(accepted) => accepted,
        Err(error) if opened.purpose == Purpose::Counting => {
            return Err(super::counting::refuse(state, provider, session, None, &tokens, error).await);
        }
        Err(error) => {
            // Nothing will ever use what was issued for a refused login; it is revoked as the
            // client it was issued to.
            revocation::revoke_tokens_later(state, provider, "(refused login)", &tokens);
            return Err(error);
        }
    };
    if opened.purpose == Purpose::Counting {
        return super::counting::enrol(state, provider, session, data, &tokens).await;
    }

    // A session this browser already had is replaced: another farmer's grant is ended too. The
    // same farmer's is not: at a provider with one grant per client and farmer it is the new
    // session's own grant, and revoking it would log the farmer out at the next renewal.
    let previous = session::load(session, state.clock.now(), &state.gate)
        .await
        .ok()
        .flatten();
    let data = store(state, session, data).await?;
    if let Some(previous) = &previous {
        // Its cookie is replaced here; copies of it elsewhere are refused.
        state.gate.end_for_good(previous).await;
    }
    match previous {
        Some(previous) if previous.farmer.sub != data.farmer.sub => {
            revocation::end_grant_later(state, &previous)
        }
        Some(_) => {
            tracing::info!(sub = %data.farmer.sub, "logged in again over a session of the same farmer: its grant is not revoked (it may be the new session's)")
        }
        None => {}
    }
    tracing::info!(sub = %data.farmer.sub, "farmer logged in");
    Ok(data.info())
}

/// The `POST /bff/login` body's checks before the provider is asked anything: this site's
/// `redirect_uri`, a code, and the PKCE verifier of `opened`'s challenge.
pub fn check_exchange(
    exchange: &CodeExchange,
    redirect_uri: &str,
    opened: &Transaction,
) -> Result<(), BffError> {
    if exchange.redirect_uri != redirect_uri {
        return Err(BffError::BadRequest("redirect_uri is not this site's"));
    }
    if exchange.code.is_empty() {
        return Err(BffError::BadRequest("code is required"));
    }
    if !transaction::is_verifier(&exchange.code_verifier) || !opened.verifies(&exchange.code_verifier) {
        return Err(LoginRefusal::VerifierMismatch.into());
    }
    Ok(())
}

/// What the provider issued, checked: an ID token for `provider`'s client and this
/// transaction's nonce, and no scope beyond what the transaction asked for. The session's data,
/// with the provider's login session (`sid`) when the ID token names one and its `iat`.
async fn accept(
    state: &AppState,
    provider: &Provider,
    tokens: &Tokens,
    opened: &Transaction,
) -> Result<SessionData, BffError> {
    let id_token = tokens.id_token.as_deref().ok_or(LoginRefusal::NoIdToken)?;
    let claims = provider
        .validate_id_token(id_token, &opened.nonce, state.clock.now())
        .await?;
    // RFC 6749 §5.1: no `scope` in the answer means the scopes asked for.
    let granted = tokens.scopes.clone().unwrap_or_else(|| opened.scopes.clone());
    let beyond: Vec<&str> = granted
        .iter()
        .filter(|s| !opened.scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !beyond.is_empty() {
        return Err(LoginRefusal::scopes_beyond(&beyond).into());
    }

    let now = state.clock.now();
    let data = SessionData {
        farmer: Farmer {
            sub: claims.sub,
            name: claims.name,
            email: claims.email,
        },
        access_token_expires_at: tokens.access_token_expires_at(now),
        access_token_issued_at: Some(now),
        refresh_token_expires_at: tokens.refresh_token_expires_at(now),
        refresh_token: tokens.refresh_token.clone(),
        scopes: granted,
        access_token: tokens.access_token.clone(),
        session_expires_at: now + state.settings.session_max_age.as_secs() as i64,
        renewed_at: None,
        id_token: Some(id_token.to_owned()),
        session_id: transaction::random_token(16),
        provider_sid: claims.sid,
        id_token_issued_at: Some(claims.issued_at),
    };
    Ok(data)
}

/// Starts the session with `data`; when it is too large for a browser cookie, the ID token (only
/// the logout hint) gives way first, then nothing is kept and what was issued is revoked.
///
/// First the session is recorded in the session registry with the provider's login session
/// `sid` ([`crate::store::registry`]): otherwise the provider could never end it (back-channel
/// logout, [`super::backchannel`]). A registry that cannot be written fails the login, and what
/// the provider issued for it is revoked: no cookie was written, nothing could use those tokens.
/// So is a login whose provider session a back-channel logout ended while it was completing
/// (between the ID token's `iat` and now: [`crate::store::watermarks`]).
async fn store(state: &AppState, session: &Session, mut data: SessionData) -> Result<SessionData, BffError> {
    if let Some(store) = &state.store {
        let until = data.session_expires_at.max(data.ends_at());
        let registered = store
            .register_session(
                &data.session_id,
                state.provider.issuer(),
                &data.farmer.sub,
                data.provider_sid.as_deref(),
                data.logged_in_at(state.settings.session_max_age),
                until,
            )
            .await;
        let refused = match registered {
            Ok(()) if state.gate.ended_by_provider(&data) => Some(LoginRefusal::EndedByProvider.into()),
            Ok(()) => None,
            Err(RegisterError::EndedByProvider) => Some(LoginRefusal::EndedByProvider.into()),
            Err(RegisterError::Store(error)) => Some(BffError::from(error)),
        };
        if let Some(error) = refused {
            // Its registry row may stay: nothing will ever present its session id.
            revocation::end_grant_later(state, &data);
            return Err(error);
        }
    }
    let stored = session::start(session, &mut data).await;
    revoke_if_unkept(state, &data, stored)?;
    Ok(data)
}

/// Passes `stored` (the result of storing `data` in the cookie) on; when the session was too
/// large to keep, first takes back what the provider issued for it: nothing else could ever use
/// those tokens.
pub(crate) fn revoke_if_unkept(
    state: &AppState,
    data: &SessionData,
    stored: Result<(), BffError>,
) -> Result<(), BffError> {
    if let Err(BffError::SessionTooLarge(_)) = &stored {
        revocation::end_grant_later(state, data);
    }
    stored
}
