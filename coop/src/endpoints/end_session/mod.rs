//! `GET|POST /end-session` (OpenID Connect RP-Initiated Logout 1.0): ends the farmer's COOP
//! session, which revokes the grants made in it without `offline_access`, tells every client
//! with a grant made in it that registered a back-channel logout URI (a logout token with `sub`
//! and the session's `sid`, [`crate::backchannel`]), then sends the browser to a registered
//! `post_logout_redirect_uri` (with `state`) or shows a logged-out page.
//!
//! - With a valid `id_token_hint` (an ID token COOP issued, expired or not) for the farmer of
//!   this browser's session (or when there is no session), COOP logs out at once.
//! - Without one, a farmer with a live session is asked first ("Log out of COOP?"): the form
//!   posts back here with a CSRF token, and only that post logs out. Otherwise a link on any
//!   site could log the farmer out. Without a session there is nothing to end, nothing to ask.
//! - A hint that does not verify, or whose audience is not the `client_id` given, is refused
//!   (400, no logout, no redirect), as is a `post_logout_redirect_uri` not registered for the
//!   client (`client_id`, or the hint's audience).

mod hint;

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

use super::cookies::{self, Cookies};
use super::form::{Form, Guard};
use super::page::message_page;
use super::{csrf, logout_page};
use crate::backchannel;
use crate::error::PageError;
use crate::params::Params;
use crate::state::{Coop, SharedCoop};
use crate::store::{StoreError, grants, sessions};

/// A logout request that may be carried out: its client and redirect are checked.
struct LogoutRequest {
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

/// `GET /end-session`.
pub async fn end_session(
    State(coop): State<SharedCoop>,
    RawQuery(query): RawQuery,
    cookies: Cookies,
) -> Result<Response, PageError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes()).map_err(PageError::bad_request)?;
    let hint = match params
        .get("id_token_hint")
        .map(|token| hint::verify(&coop, token))
    {
        None => None,
        Some(Some(hint)) => Some(hint),
        Some(None) => {
            return Err(PageError::bad_request(
                "The id_token_hint is not an ID token COOP issued.",
            ));
        }
    };
    let request = read_request(&coop, &params, hint.as_ref().map(|h| h.aud.as_str()))?;
    let session = cookies
        .get(cookies::SESSION)
        .map(|id| {
            coop.store
                .transaction(|db| sessions::find(db, id, coop.sessions_expired_at_or_before_ms()))
        })
        .transpose()
        .map_err(PageError::LogoutNotSaved)?
        .flatten();
    // A hint for another farmer than this browser's does not say this farmer wants out.
    match session {
        Some(session) if hint.as_ref().is_none_or(|h| h.sub != session.username) => {
            Ok(confirmation_page(&request, &session.username))
        }
        _ => log_out(&coop, &cookies, &request).await,
    }
}

/// The logout confirmation's CSRF token: double-submitted in [`cookies::LOGOUT_CSRF`].
pub struct LogoutCsrf;

impl Guard for LogoutCsrf {
    fn admit(_: &Coop, cookies: &Cookies, token: Option<&str>) -> Result<Self, PageError> {
        if !csrf::check(cookies, cookies::LOGOUT_CSRF, token) {
            return Err(PageError::Forbidden(
                "This logout form has expired. Go back to the app and log out again.",
            ));
        }
        Ok(Self)
    }
}

/// `POST /end-session`: the farmer confirmed on the "Log out of COOP?" page.
pub async fn confirm(
    State(coop): State<SharedCoop>,
    cookies: Cookies,
    form: Form<LogoutCsrf>,
) -> Result<Response, PageError> {
    let request = read_request(&coop, &form.fields, None)?;
    log_out(&coop, &cookies, &request).await
}

/// Checks the client (`client_id`, and the hint's audience `hint_audience` when there is a
/// hint) and the `post_logout_redirect_uri`.
fn read_request(
    coop: &Coop,
    params: &Params,
    hint_audience: Option<&str>,
) -> Result<LogoutRequest, PageError> {
    let client_id = match (params.get("client_id"), hint_audience) {
        (Some(given), Some(audience)) if given != audience => {
            return Err(PageError::bad_request(
                "The id_token_hint was issued to another client.",
            ));
        }
        (given, audience) => given.or(audience),
    };
    if client_id.is_some_and(|id| coop.config.client(id).is_none()) {
        return Err(PageError::bad_request("Unknown client_id."));
    }
    let post_logout_redirect_uri = params.get("post_logout_redirect_uri");
    if let Some(uri) = post_logout_redirect_uri {
        let registered = client_id
            .and_then(|id| coop.config.client(id))
            .is_some_and(|client| client.post_logout_redirect_uris.iter().any(|r| r == uri));
        if !registered || url::Url::parse(uri).is_err() {
            return Err(PageError::bad_request(
                "post_logout_redirect_uri is not registered for this client.",
            ));
        }
    }
    Ok(LogoutRequest {
        client_id: client_id.map(str::to_owned),
        post_logout_redirect_uri: post_logout_redirect_uri.map(str::to_owned),
        state: params.get("state").map(str::to_owned),
    })
}

/// "Log out of COOP?", its form carrying the checked request.
fn confirmation_page(request: &LogoutRequest, username: &str) -> Response {
    let (token, cookie) = csrf::issue(cookies::LOGOUT_CSRF, cookies::LOGOUT_CSRF_PATH);
    let fields: Vec<(&str, &str)> = [
        ("client_id", &request.client_id),
        ("post_logout_redirect_uri", &request.post_logout_redirect_uri),
        ("state", &request.state),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
    .collect();
    let page = logout_page::render(username, &fields, &token);
    ([(header::SET_COOKIE, cookie.to_string())], page).into_response()
}

/// Ends this browser's COOP session, if any (and tells the clients of it), then redirects or
/// says so.
async fn log_out(coop: &Coop, cookies: &Cookies, request: &LogoutRequest) -> Result<Response, PageError> {
    if let Some(id) = cookies.get(cookies::SESSION) {
        let ended = coop
            .store
            .transaction(|db| {
                let Some(session) = sessions::find(db, id, coop.sessions_expired_at_or_before_ms())? else {
                    return Ok::<_, StoreError>(None);
                };
                sessions::end(db, &session.digest)?;
                let revoked = grants::revoke_online_grants_of_session(db, &session.digest)?;
                let clients = grants::clients_of_session(db, &session.digest)?;
                Ok(Some((session, revoked, clients)))
            })
            .map_err(PageError::LogoutNotSaved)?;
        if let Some((session, revoked, clients)) = ended {
            coop.counters.grants_revoked(revoked as u64);
            tracing::info!(username = %session.username, revoked, "farmer logged out of COOP");
            let sid = backchannel::session_id(coop, &session.digest);
            let notices = backchannel::notices(coop, &clients, &session.username, Some(&sid));
            backchannel::deliver(coop, notices).await;
        }
    }

    let mut response = match request
        .post_logout_redirect_uri
        .as_deref()
        .and_then(|uri| url::Url::parse(uri).ok())
    {
        Some(mut url) => {
            if let Some(state) = &request.state {
                url.query_pairs_mut().append_pair("state", state);
            }
            Redirect::to(url.as_str()).into_response()
        }
        None => message_page("Logged out", "You are logged out of COOP.").into_response(),
    };
    for (name, path) in [
        (cookies::SESSION, "/"),
        (cookies::LOGOUT_CSRF, cookies::LOGOUT_CSRF_PATH),
    ] {
        cookies::set(&mut response, &cookies::removal(name, path));
    }
    Ok(response)
}
