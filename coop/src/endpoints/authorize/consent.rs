//! `POST /authorize/consent`: the farmer's answer on the consent page. `decision=allow` gives
//! the client a code for what the page listed (with `offline_access` when it was asked for);
//! `decision=deny` sends the browser back with `error=access_denied` (RFC 6749 §4.1.2.1).
//!
//! The form is accepted only from the browser whose COOP session it was shown in: its CSRF
//! token is derived from that session's id ([`csrf::for_session`]), and the session must still
//! be live. Anything else is 403 and grants nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{error_page, error_redirect, issue_code, live_session, store_failure, validate};
use crate::endpoints::csrf;
use crate::params::Params;
use crate::state::SharedCoop;

/// What the consent form's CSRF token is derived for.
pub const CSRF_PURPOSE: &str = "consent";

const EXPIRED: &str = "This consent form has expired. Go back to the app and try again.";

pub async fn consent(State(coop): State<SharedCoop>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match Params::parse(&body) {
        Ok(form) => form,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
    };
    let (session_id, session) = match live_session(&coop, &headers) {
        Ok(Some(session)) => session,
        Ok(None) => return error_page(StatusCode::FORBIDDEN, EXPIRED),
        Err(error) => return store_failure(error),
    };
    if !csrf::check_for_session(CSRF_PURPOSE, &session_id, form.get("csrf")) {
        return error_page(StatusCode::FORBIDDEN, EXPIRED);
    }
    let params = match Params::parse(form.get("request").unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
    };
    let request = match validate(&coop, &params) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    if !request.prompt.consent {
        return error_page(StatusCode::BAD_REQUEST, "This request did not ask for consent.");
    }
    match form.get("decision") {
        Some("allow") => {
            tracing::info!(username = %session.username, client_id = %request.client.id, scope = %request.scope, "farmer consented");
            issue_code(&coop, &request, &session, None)
        }
        Some("deny") => {
            tracing::info!(username = %session.username, client_id = %request.client.id, "farmer denied consent");
            error_redirect(&coop, &request, "access_denied", "the farmer did not allow it")
        }
        _ => error_page(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    }
}
