//! `GET /bff/session`: who is logged in — never a token. 401 `unauthenticated` when nobody
//! is; 401 `reauthentication_required` (and the cookie cleared) when the session has ended,
//! exactly as `/api` and server rendering see it.

use app::wire::SessionInfo;
use axum::Json;
use axum::extract::State;
use tower_sessions::Session;

use crate::error::BffError;
use crate::session;
use crate::state::AppState;

pub async fn current(State(state): State<AppState>, session: Session) -> Result<Json<SessionInfo>, BffError> {
    let data = session::load(&session, state.clock.now(), &state.gate)
        .await?
        .ok_or(BffError::Unauthenticated)?;
    Ok(Json(data.info()))
}
