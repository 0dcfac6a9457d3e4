//! Logout in two steps, so the ID token never reaches script:
//!
//! 1. `POST /bff/logout` (the SPA, with the CSRF header) withdraws TopCluck's access at the
//!    provider ([`super::revocation`]), clears the session cookie, keeps the login's ID token
//!    (if the cookie had room for it) in a sealed HttpOnly cookie for a minute, and answers
//!    where the browser goes next and what became of the revocation.
//! 2. `GET /bff/logout/continue` (a top-level navigation) uses that cookie up and redirects to
//!    the provider's end-session endpoint (OpenID Connect RP-Initiated Logout 1.0) with
//!    `id_token_hint`, `client_id` and the post-logout redirect back here. The browser follows
//!    the redirect; no page script sees it.
//!
//! Logging out never depends on the provider being up: the cookie is cleared in any case.

use app::auth::wire::{LogoutResult, Revocation};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use tower_sessions::Session;

use super::{revocation, sealed_cookie};
use crate::error::BffError;
use crate::session;
use crate::session::sealing::KeyRing;
use crate::state::AppState;

pub const HINT_COOKIE: &str = "__Host-topcluck-logout";
const HINT_SECONDS: i64 = 60;
pub const CONTINUE_PATH: &str = "/bff/logout/continue";

pub async fn logout(
    State(state): State<AppState>,
    Extension(keys): Extension<KeyRing>,
    session: Session,
) -> Result<Response, BffError> {
    // An ended session has nothing left to revoke; its cookie is cleared all the same.
    let data = session::load(&session, state.clock.now()).await.ok().flatten();
    let revocation = match &data {
        Some(data) => revocation::end_grant(&state, data).await,
        None => Revocation::NothingToRevoke,
    };
    session::end(&session).await?;

    let hint = data.as_ref().and_then(|d| d.id_token.as_deref());
    let redirect_to = match end_session_endpoint(&state).await {
        Some(_) => CONTINUE_PATH.to_owned(),
        None => state.settings.post_logout_redirect_uri.to_string(),
    };
    Ok((
        [(
            header::SET_COOKIE,
            sealed_cookie::set(HINT_COOKIE, hint, HINT_SECONDS, &keys),
        )],
        Json(LogoutResult {
            redirect_to,
            revocation,
        }),
    )
        .into_response())
}

pub async fn continue_to_provider(
    State(state): State<AppState>,
    Extension(keys): Extension<KeyRing>,
    headers: HeaderMap,
) -> Response {
    let hint = sealed_cookie::read(&headers, HINT_COOKIE, &keys);
    let post_logout = state.settings.post_logout_redirect_uri.to_string();
    let target = match end_session_endpoint(&state).await {
        Some(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                if let Some(hint) = &hint {
                    query.append_pair("id_token_hint", hint);
                }
                query
                    .append_pair("client_id", state.provider.client_id())
                    .append_pair("post_logout_redirect_uri", &post_logout);
            }
            url.to_string()
        }
        None => post_logout,
    };
    (
        [(
            header::SET_COOKIE,
            sealed_cookie::set(HINT_COOKIE, None, 0, &keys),
        )],
        Redirect::to(&target),
    )
        .into_response()
}

/// The provider's end-session endpoint, if discovery names a usable one.
async fn end_session_endpoint(state: &AppState) -> Option<url::Url> {
    let metadata = state.provider.metadata().await.ok()?;
    url::Url::parse(metadata.end_session_endpoint.as_deref()?).ok()
}
