//! Logout in two steps, so the ID token never reaches script:
//!
//! 1. `POST /bff/logout` (the SPA, with the CSRF header) clears the session cookie, withdraws
//!    TopCluck's access at the provider ([`super::revocation`], waiting for it a few seconds
//!    at most), sets a sealed HttpOnly "logout under way" cookie for a minute holding the
//!    login's ID token (if the session cookie had room for it), and answers where the browser
//!    goes next and what became of the revocation.
//! 2. `GET /bff/logout/continue` (a top-level navigation) uses that cookie up and redirects to
//!    the provider's end-session endpoint (OpenID Connect RP-Initiated Logout 1.0) with
//!    `id_token_hint`, `client_id` and the post-logout redirect back here. The browser follows
//!    the redirect; no page script sees it. Without the cookie (a link from another site), it
//!    goes home instead: nobody can send a farmer through the provider's logout from outside.
//!
//! Logging out never depends on the provider being up: the cookie is cleared first.

use app::wire::{LogoutResult, Revocation};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::revocation;
use crate::cookies::{LOGOUT_HINT, SealedCookies};
use crate::error::BffError;
use crate::session;
use crate::state::AppState;

const HINT_SECONDS: i64 = 60;
/// The cookie's value when the session kept no ID token: a logout is under way, unhinted.
const NO_HINT: &str = "-";
pub const CONTINUE_PATH: &str = "/bff/logout/continue";

pub async fn logout(
    State(state): State<AppState>,
    cookies: SealedCookies,
    session: Session,
) -> Result<Response, BffError> {
    // An ended session has nothing left to revoke; its cookie is cleared all the same.
    let data = session::load(&session, state.clock.now(), &state.gate)
        .await
        .ok()
        .flatten();
    session::end(&session).await?;
    let revocation = match &data {
        Some(data) => {
            // Every copy of the cookie is refused from now on, on every instance, whatever the
            // provider does with the revocation.
            state.gate.end_for_good(data).await;
            revocation::end_grant(&state, data).await
        }
        None => Revocation::NothingToRevoke,
    };

    let hint = data
        .as_ref()
        .and_then(|d| d.id_token.as_deref())
        .unwrap_or(NO_HINT);
    let redirect_to = match end_session_endpoint(&state).await {
        Some(_) => CONTINUE_PATH.to_owned(),
        None => state.settings.post_logout_redirect_uri.to_string(),
    };
    cookies.write(LOGOUT_HINT, hint, HINT_SECONDS);
    Ok(Json(LogoutResult {
        redirect_to,
        revocation,
    })
    .into_response())
}

pub async fn continue_to_provider(State(state): State<AppState>, cookies: SealedCookies) -> Response {
    let pending = cookies.read(LOGOUT_HINT);
    let hint = pending.as_deref().filter(|hint| *hint != NO_HINT);
    let post_logout = state.settings.post_logout_redirect_uri.to_string();
    let endpoint = match pending {
        Some(_) => end_session_endpoint(&state).await,
        None => None,
    };
    let target = match endpoint {
        Some(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                if let Some(hint) = hint {
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
    cookies.clear(LOGOUT_HINT);
    Redirect::to(&target).into_response()
}

/// The provider's end-session endpoint, if discovery names a usable one.
async fn end_session_endpoint(state: &AppState) -> Option<url::Url> {
    let metadata = state.provider.metadata().await.ok()?;
    url::Url::parse(metadata.end_session_endpoint.as_deref()?).ok()
}
