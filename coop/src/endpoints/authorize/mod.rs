//! The authorization endpoint: `response_type=code` with PKCE S256 only. A farmer with a COOP
//! session gets a code at once (COOP's clients are first-party: no consent screen unless the
//! client asks for one); one without sees the login form, unless `prompt=none` (→
//! `login_required`) or `COOP_AUTO_LOGIN` (logged in with no form). With `prompt=consent` the
//! farmer, once logged in, is asked on COOP's consent page ([`consent`]); that is the only way
//! to `offline_access` ([`request`]).

mod consent;
mod request;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::Cookie;

pub use consent::consent;
use request::{AuthorizationRequest, validate};

use super::{consent_page, csrf, login_page, page};
use crate::params::Params;
use crate::state::{Coop, SharedCoop};
use crate::store::{StoreError, codes, sessions};

/// The COOP session cookie.
pub const SESSION_COOKIE: &str = "coop_session";
/// The login form's double-submit anti-CSRF cookie.
const CSRF_COOKIE: &str = "coop_login_csrf";

/// `GET /authorize`.
pub async fn authorize(
    State(coop): State<SharedCoop>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
    };
    let request = match validate(&coop, &params) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let session = match live_session(&coop, &headers) {
        Ok(session) => session,
        Err(error) => return store_failure(error),
    };
    let prompt = request.prompt;
    match session {
        Some((_, session)) if prompt.none => issue_code(&coop, &request, &session, None),
        None if prompt.none => error_redirect(
            &coop,
            &request,
            "login_required",
            "the farmer is not logged in to COOP",
        ),
        Some((id, session)) if !prompt.login => go_on(&coop, &params, &request, &id, &session, None),
        _ => match coop.config.auto_login.clone() {
            Some(username) => log_in(&coop, &params, &request, &username),
            None => show_login_form(&params, &request, None, StatusCode::OK),
        },
    }
}

/// This browser's live COOP session: its cookie value and what it is.
fn live_session(coop: &Coop, headers: &HeaderMap) -> Result<Option<(String, sessions::Session)>, StoreError> {
    let Some(id) = cookie_value(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let session = coop
        .store
        .transaction(|db| sessions::find(db, &id, coop.sessions_expired_at_or_before_ms()))?;
    Ok(session.map(|session| (id, session)))
}

/// With the farmer logged in (session cookie value `session_id`): the consent page when the
/// client asked for it, a code otherwise.
fn go_on(
    coop: &Coop,
    params: &Params,
    request: &AuthorizationRequest<'_>,
    session_id: &str,
    session: &sessions::Session,
    set_cookie: Option<Cookie<'static>>,
) -> Response {
    if !request.prompt.consent {
        return issue_code(coop, request, session, set_cookie);
    }
    let page = consent_page::render(
        coop.config.client_name(&request.client.id),
        &session.username,
        &request.scope,
        &params.to_query(),
        &csrf::for_session(consent::CSRF_PURPOSE, session_id),
    );
    let mut response = page.into_response();
    if let Some(cookie) = set_cookie
        && let Ok(value) = cookie.to_string().parse()
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `POST /authorize/login`: the login form.
pub async fn login(State(coop): State<SharedCoop>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match Params::parse(&body) {
        Ok(form) => form,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
    };
    if !csrf::check(&headers, CSRF_COOKIE, form.get("csrf")) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This login form has expired. Go back to the app and log in again.",
        );
    }
    let params = match Params::parse(form.get("request").unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
    };
    let request = match validate(&coop, &params) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let username = form.get("username").unwrap_or_default().trim().to_owned();
    if coop.config.user(&username).is_none() {
        let message = if username.is_empty() {
            "Enter your farmer name.".to_owned()
        } else {
            format!("COOP has no farmer named \u{201c}{username}\u{201d}.")
        };
        return show_login_form(&params, &request, Some(&message), StatusCode::UNAUTHORIZED);
    }
    log_in(&coop, &params, &request, &username)
}

/// Starts a COOP session for `username` and goes on with the request ([`go_on`]).
fn log_in(coop: &Coop, params: &Params, request: &AuthorizationRequest<'_>, username: &str) -> Response {
    let created = coop.store.transaction(|db| {
        coop.purge_expired(db)?;
        let id = sessions::create(db, username, coop.clock.now_ms())?;
        let session = sessions::find(db, &id, coop.sessions_expired_at_or_before_ms())?
            .expect("the session just created");
        Ok::<_, StoreError>((id, session))
    });
    match created {
        Ok((id, session)) => {
            tracing::info!(username, client_id = %request.client.id, "farmer logged in to COOP");
            let cookie = Cookie::build((SESSION_COOKIE, id.clone()))
                .path("/")
                .http_only(true)
                .same_site(cookie::SameSite::Lax);
            go_on(coop, params, request, &id, &session, Some(cookie.build()))
        }
        Err(error) => store_failure(error),
    }
}

fn issue_code(
    coop: &Coop,
    request: &AuthorizationRequest<'_>,
    session: &sessions::Session,
    set_cookie: Option<Cookie<'static>>,
) -> Response {
    let code = codes::Code {
        digest: String::new(),
        client_id: request.client.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        scope: request.scope.to_string(),
        nonce: request.nonce.clone(),
        username: session.username.clone(),
        session_digest: session.digest.clone(),
        auth_time_s: session.auth_time_s,
        expires_ms: 0,
        grant_id: None,
    };
    let value = match coop.store.transaction(|db| {
        coop.purge_expired(db)?;
        codes::insert(db, &code, coop.clock.now_ms())
    }) {
        Ok(value) => value,
        Err(error) => return store_failure(error),
    };
    let mut response = redirect_back(coop, request, &[("code", &value)]);
    if let Some(cookie) = set_cookie
        && let Ok(value) = cookie.to_string().parse()
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub(super) fn error_redirect(
    coop: &Coop,
    request: &AuthorizationRequest<'_>,
    code: &str,
    description: &str,
) -> Response {
    redirect_back(
        coop,
        request,
        &[("error", code), ("error_description", description)],
    )
}

/// Redirects to the request's redirect URI with `pairs`, `state` and `iss` (RFC 9207).
fn redirect_back(coop: &Coop, request: &AuthorizationRequest<'_>, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(&request.redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The registered redirect_uri is not a URL.",
        );
    };
    {
        let mut query = url.query_pairs_mut();
        query.extend_pairs(pairs);
        if let Some(state) = &request.state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &coop.issuer);
    }
    Redirect::to(url.as_str()).into_response()
}

fn show_login_form(
    params: &Params,
    request: &AuthorizationRequest<'_>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (csrf, cookie) = csrf::issue(CSRF_COOKIE, "/authorize");
    let page = login_page::render(&params.to_query(), request.login_hint.as_deref(), &csrf, error);
    (
        status,
        [
            (header::SET_COOKIE, cookie.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        page,
    )
        .into_response()
}

/// The value of cookie `name` in the request.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    (status, page::message_page("COOP cannot go on", message)).into_response()
}

fn store_failure(error: StoreError) -> Response {
    tracing::error!(%error, "store error");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "COOP could not save your login. Try again.",
    )
}
