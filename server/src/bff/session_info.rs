//! `GET /bff/session`: who is logged in — never a token. 401 when nobody is.

use app::auth::wire::SessionInfo;
use axum::Json;
use tower_sessions::Session;

use crate::error::BffError;
use crate::session;

pub async fn current(session: Session) -> Result<Json<SessionInfo>, BffError> {
    let data = session::load(&session).await?.ok_or(BffError::Unauthenticated)?;
    Ok(Json(data.info()))
}
