//! `GET|POST /end-session` (OpenID Connect RP-Initiated Logout 1.0): ends the farmer's COOP
//! session, which revokes the grants made in it without `offline_access`, then sends the
//! browser to a registered `post_logout_redirect_uri` (with `state`) or shows a logged-out page.
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

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::Cookie;

use super::authorize::{SESSION_COOKIE, cookie_value, error_page};
use super::page::message_page;
use super::{csrf, logout_page};
use crate::params::Params;
use crate::state::{Coop, SharedCoop};
use crate::store::{StoreError, grants, sessions};

/// The confirmation form's double-submit anti-CSRF cookie.
const CSRF_COOKIE: &str = "coop_logout_csrf";
const CSRF_PATH: &str = "/end-session";

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
    headers: HeaderMap,
) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
    };
    let hint = match params
        .get("id_token_hint")
        .map(|token| hint::verify(&coop, token))
    {
        None => None,
        Some(Some(hint)) => Some(hint),
        Some(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "The id_token_hint is not an ID token COOP issued.",
            );
        }
    };
    let request = match read_request(&coop, &params, hint.as_ref().map(|h| h.aud.as_str())) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let session = match cookie_value(&headers, SESSION_COOKIE)
        .map(|id| {
            coop.store
                .transaction(|db| sessions::find(db, &id, coop.sessions_expired_at_or_before_ms()))
        })
        .transpose()
    {
        Ok(session) => session.flatten(),
        Err(error) => return store_failure(error),
    };
    // A hint for another farmer than this browser's does not say this farmer wants out.
    match session {
        Some(session) if hint.as_ref().is_none_or(|h| h.sub != session.username) => {
            confirmation_page(&request, &session.username)
        }
        _ => log_out(&coop, &headers, &request),
    }
}

/// `POST /end-session`: the farmer confirmed on the "Log out of COOP?" page.
pub async fn confirm(State(coop): State<SharedCoop>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match Params::parse(&body) {
        Ok(form) => form,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
    };
    if !csrf::check(&headers, CSRF_COOKIE, form.get("csrf")) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This logout form has expired. Go back to the app and log out again.",
        );
    }
    match read_request(&coop, &form, None) {
        Ok(request) => log_out(&coop, &headers, &request),
        Err(response) => *response,
    }
}

/// Checks the client (`client_id`, and the hint's audience `hint_audience` when there is a
/// hint) and the `post_logout_redirect_uri`.
fn read_request(
    coop: &Coop,
    params: &Params,
    hint_audience: Option<&str>,
) -> Result<LogoutRequest, Box<Response>> {
    let refuse = |message: &str| Err(Box::new(error_page(StatusCode::BAD_REQUEST, message)));
    let client_id = match (params.get("client_id"), hint_audience) {
        (Some(given), Some(audience)) if given != audience => {
            return refuse("The id_token_hint was issued to another client.");
        }
        (given, audience) => given.or(audience),
    };
    if client_id.is_some_and(|id| coop.config.client(id).is_none()) {
        return refuse("Unknown client_id.");
    }
    let post_logout_redirect_uri = params.get("post_logout_redirect_uri");
    if let Some(uri) = post_logout_redirect_uri {
        let registered = client_id
            .and_then(|id| coop.config.client(id))
            .is_some_and(|client| client.post_logout_redirect_uris.iter().any(|r| r == uri));
        if !registered || url::Url::parse(uri).is_err() {
            return refuse("post_logout_redirect_uri is not registered for this client.");
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
    let (token, cookie) = csrf::issue(CSRF_COOKIE, CSRF_PATH);
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

/// Ends this browser's COOP session, if any, then redirects or says so.
fn log_out(coop: &Coop, headers: &HeaderMap, request: &LogoutRequest) -> Response {
    if let Some(id) = cookie_value(headers, SESSION_COOKIE) {
        let ended = coop.store.transaction(|db| {
            let Some(session) = sessions::find(db, &id, coop.sessions_expired_at_or_before_ms())? else {
                return Ok::<_, StoreError>(None);
            };
            sessions::end(db, &session.digest)?;
            let revoked = grants::revoke_online_grants_of_session(db, &session.digest)?;
            Ok(Some((session.username, revoked)))
        });
        match ended {
            Ok(Some((username, revoked))) => {
                coop.counters.grants_revoked(revoked as u64);
                tracing::info!(%username, revoked, "farmer logged out of COOP");
            }
            Ok(None) => {}
            Err(error) => return store_failure(error),
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
    for (name, path) in [(SESSION_COOKIE, "/"), (CSRF_COOKIE, CSRF_PATH)] {
        let clear = Cookie::build((name, ""))
            .path(path)
            .max_age(cookie::time::Duration::ZERO)
            .build();
        if let Ok(value) = clear.to_string().parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

fn store_failure(error: StoreError) -> Response {
    tracing::error!(%error, "store error");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "COOP could not log you out. Try again.",
    )
}
