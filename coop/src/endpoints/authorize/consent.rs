//! `POST /authorize/consent`: the farmer's answer on the consent page. `decision=allow` gives
//! the client a code for what the page listed (with `offline_access` when it was asked for);
//! `decision=deny` sends the browser back with `error=access_denied` (RFC 6749 §4.1.2.1).
//!
//! The form is accepted only from the browser whose COOP session it was shown in: its CSRF
//! token is derived from that session's id ([`csrf::for_session`]), and the session must still
//! be live. Anything else is 403 and grants nothing.

use axum::extract::State;
use axum::response::Response;

use super::{error_redirect, issue_code, live_session, validate};
use crate::endpoints::cookies::Cookies;
use crate::endpoints::csrf;
use crate::endpoints::form::{Form, Guard};
use crate::error::PageError;
use crate::params::Params;
use crate::state::{Coop, SharedCoop};
use crate::store::sessions;

/// What the consent form's CSRF token is derived for.
pub const CSRF_PURPOSE: &str = "consent";

const EXPIRED: &str = "This consent form has expired. Go back to the app and try again.";

/// The consent form's CSRF token: derived from this browser's live COOP session, which it
/// yields.
pub struct ConsentCsrf {
    pub session: sessions::Session,
}

impl Guard for ConsentCsrf {
    fn admit(coop: &Coop, cookies: &Cookies, token: Option<&str>) -> Result<Self, PageError> {
        let (session_id, session) = live_session(coop, cookies)?.ok_or(PageError::Forbidden(EXPIRED))?;
        if !csrf::check_for_session(CSRF_PURPOSE, &session_id, token) {
            return Err(PageError::Forbidden(EXPIRED));
        }
        Ok(Self { session })
    }
}

pub async fn consent(State(coop): State<SharedCoop>, form: Form<ConsentCsrf>) -> Result<Response, PageError> {
    let Form {
        fields: form,
        guard: ConsentCsrf { session },
    } = form;
    let params =
        Params::parse(form.get("request").unwrap_or_default().as_bytes()).map_err(PageError::bad_request)?;
    let request = validate(&coop, &params)?;
    if !request.prompt.consent {
        return Err(PageError::bad_request("This request did not ask for consent."));
    }
    match form.get("decision") {
        Some("allow") => {
            tracing::info!(username = %session.username, client_id = %request.client.id, scope = %request.scope, "farmer consented");
            issue_code(&coop, &request, &session, None)
        }
        Some("deny") => {
            tracing::info!(username = %session.username, client_id = %request.client.id, "farmer denied consent");
            Err(error_redirect(
                &coop,
                &request,
                "access_denied",
                "the farmer did not allow it",
            ))
        }
        _ => Err(PageError::bad_request("Choose Allow or Deny.")),
    }
}
