//! `POST /bff/logout`: revokes the refresh token at the provider (RFC 7009), clears the
//! session cookie, and tells the SPA where to send the browser: the provider's end-session
//! endpoint when it has one (with the post-logout redirect back here), else home. A failed
//! revocation still logs the farmer out here, and says so in the log.

use app::auth::wire::LogoutResult;
use axum::Json;
use axum::extract::State;
use tower_sessions::Session;

use crate::error::BffError;
use crate::session;
use crate::state::AppState;

pub async fn logout(State(state): State<AppState>, session: Session) -> Result<Json<LogoutResult>, BffError> {
    // An ended session has nothing left to revoke; its cookie is cleared all the same.
    let data = session::load(&session, state.clock.now()).await.ok().flatten();
    if let Some(data) = data {
        // Requests still carrying this cookie, and a refresh in flight for it, must not bring
        // the session back: the renewer forgets its successors (and revokes a late answer).
        let successors = state.renewer.end(&data);
        for refresh_token in data.refresh_token.iter().chain(&successors) {
            match state.provider.revoke_refresh_token(refresh_token).await {
                Ok(()) => tracing::info!(sub = %data.farmer.sub, "refresh token revoked"),
                Err(error) => {
                    tracing::warn!(sub = %data.farmer.sub, %error, "refresh token NOT revoked; logged out locally only")
                }
            }
        }
    }
    session::end(&session).await?;

    let post_logout = state.settings.post_logout_redirect_uri.to_string();
    let redirect_to = match state
        .provider
        .metadata()
        .await
        .ok()
        .and_then(|m| m.end_session_endpoint.clone())
    {
        Some(endpoint) => match url::Url::parse(&endpoint) {
            Ok(mut url) => {
                url.query_pairs_mut()
                    .append_pair("client_id", state.provider.client_id())
                    .append_pair("post_logout_redirect_uri", &post_logout);
                url.to_string()
            }
            Err(_) => post_logout,
        },
        None => post_logout,
    };
    Ok(Json(LogoutResult { redirect_to }))
}
