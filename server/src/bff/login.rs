//! Login, driven by the SPA. `GET /bff/login` gives it what it needs to send the farmer to the
//! provider; `POST /bff/login` redeems the code it brings back (with the PKCE verifier and the
//! nonce it made), validates the ID token, and seals the tokens into the session cookie.

use app::auth::wire::{CodeExchange, Farmer, LoginParameters, SessionInfo};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use tower_sessions::Session;

use crate::error::BffError;
use crate::oidc::{ProviderError, RETRY_AFTER_SECONDS};
use crate::session::{self, SessionData};
use crate::state::AppState;

pub async fn parameters(State(state): State<AppState>) -> Result<Json<LoginParameters>, BffError> {
    let metadata = state.provider.metadata().await.map_err(provider_error)?;
    Ok(Json(LoginParameters {
        authorization_endpoint: metadata.authorization_endpoint.clone(),
        client_id: state.provider.client_id().to_owned(),
        scope: state.settings.scopes.join(" "),
        redirect_uri: state.settings.redirect_uri.to_string(),
    }))
}

pub async fn complete(
    State(state): State<AppState>,
    session: Session,
    exchange: Result<Json<CodeExchange>, JsonRejection>,
) -> Result<Json<SessionInfo>, BffError> {
    let Json(exchange) = exchange.map_err(|e| BffError::BadRequest(e.body_text()))?;
    if exchange.redirect_uri != state.settings.redirect_uri.as_str() {
        return Err(BffError::BadRequest("redirect_uri is not this site's".into()));
    }
    if exchange.code.is_empty() || exchange.code_verifier.is_empty() || exchange.nonce.is_empty() {
        return Err(BffError::BadRequest(
            "code, code_verifier and nonce are required".into(),
        ));
    }

    let tokens = state
        .provider
        .exchange_code(&exchange.code, &exchange.code_verifier)
        .await
        .map_err(provider_error)?;
    let id_token = tokens
        .id_token
        .as_deref()
        .ok_or_else(|| BffError::LoginFailed("no ID token in the token response".into()))?;
    let claims = state
        .provider
        .validate_id_token(id_token, &exchange.nonce, state.clock.now())
        .await
        .map_err(provider_error)?;

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
        refresh_token: tokens.refresh_token,
        scopes: tokens.scopes.unwrap_or_else(|| state.settings.scopes.clone()),
        access_token: tokens.access_token,
        session_expires_at: now + state.settings.session_max_age.as_secs() as i64,
        renewed_at: None,
    };
    // A session this browser already had is replaced: its grant is ended too.
    let previous = session::load(&session, now).await.ok().flatten();
    revoke_if_unkept(&state, &data, session::start(&session, &data).await)?;
    if let Some(previous) = previous {
        for successor in state.renewer.end(&previous) {
            spawn_revoke(&state, &previous.farmer.sub, successor, "refresh_token");
        }
        revoke_issued(&state, &previous);
    }
    tracing::info!(sub = %data.farmer.sub, "farmer logged in");
    Ok(Json(data.info()))
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
        revoke_issued(state, data);
    }
    stored
}

/// Revokes the tokens of a session that is not kept (the refresh token, which ends the grant;
/// else the access token).
pub(crate) fn revoke_issued(state: &AppState, data: &SessionData) {
    match &data.refresh_token {
        Some(refresh_token) => spawn_revoke(state, &data.farmer.sub, refresh_token.clone(), "refresh_token"),
        None => spawn_revoke(state, &data.farmer.sub, data.access_token.clone(), "access_token"),
    }
}

/// Revokes `token` on its own task, so it happens even if the request that asked for it is gone.
fn spawn_revoke(state: &AppState, sub: &str, token: String, hint: &'static str) {
    let (provider, sub) = (state.provider.clone(), sub.to_owned());
    tokio::spawn(async move {
        match provider.revoke(&token, hint).await {
            Ok(()) => tracing::warn!(%sub, hint, "session not kept; its token revoked"),
            Err(error) => tracing::error!(%sub, hint, %error, "session not kept; its token NOT revoked"),
        }
    });
}

/// Provider failures during login: unavailable → 503 (retry), anything else → login failed.
fn provider_error(error: ProviderError) -> BffError {
    match error {
        ProviderError::Unavailable(detail) => BffError::ProviderUnavailable {
            detail,
            retry_after_seconds: RETRY_AFTER_SECONDS,
        },
        ProviderError::Misconfigured { code } => BffError::ClientMisconfigured(code),
        ProviderError::BadAnswer(detail) => BffError::BadProviderAnswer(detail),
        other => BffError::LoginFailed(other.to_string()),
    }
}
