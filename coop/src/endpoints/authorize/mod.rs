//! The authorization endpoint: `response_type=code` with PKCE S256 only. A farmer with a COOP
//! session gets a code at once (COOP's clients are first-party: no consent screen unless the
//! client asks for one); one without sees the login form, unless `prompt=none` (→
//! `login_required`) or `COOP_AUTO_LOGIN` (logged in with no form). With `prompt=consent` the
//! farmer, once logged in, is asked on COOP's consent page ([`consent`]); that is the only way
//! to `offline_access` ([`request`]).

mod consent;
mod request;

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::Cookie;

pub use consent::consent;
use request::validate;
pub(crate) use request::{AuthorizationRequest, Refusal, check};

use super::cookies::{self, Cookies};
use super::form::{Form, Guard};
use super::{consent_page, csrf, login_page};
use crate::error::PageError;
use crate::params::Params;
use crate::state::{Coop, SharedCoop};
use crate::store::{StoreError, codes, pushed, sessions};

/// `GET /authorize`.
pub async fn authorize(
    State(coop): State<SharedCoop>,
    RawQuery(query): RawQuery,
    cookies: Cookies,
) -> Result<Response, PageError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes()).map_err(PageError::bad_request)?;
    let request = validate(&coop, &params)?;
    let session = live_session(&coop, &cookies)?;
    let prompt = request.prompt;
    match session {
        Some((_, session)) if prompt.none => issue_code(&coop, &request, &session, None),
        None if prompt.none => Err(error_redirect(
            &coop,
            &request,
            "login_required",
            "the farmer is not logged in to COOP",
        )),
        Some((id, session)) if !prompt.login => go_on(&coop, &params, &request, &id, &session, None),
        _ => match coop.config.auto_login.clone() {
            Some(username) => log_in(&coop, &params, &request, &username),
            None => Ok(show_login_form(&params, &request, None, StatusCode::OK)),
        },
    }
}

/// This browser's live COOP session: its cookie value and what it is.
fn live_session(coop: &Coop, cookies: &Cookies) -> Result<Option<(String, sessions::Session)>, StoreError> {
    let Some(id) = cookies.get(cookies::SESSION) else {
        return Ok(None);
    };
    let session = coop
        .store
        .transaction(|db| sessions::find(db, id, coop.sessions_expired_at_or_before_ms()))?;
    Ok(session.map(|session| (id.to_owned(), session)))
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
) -> Result<Response, PageError> {
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
    if let Some(cookie) = set_cookie {
        cookies::set(&mut response, &cookie);
    }
    Ok(response)
}

/// The login form's CSRF token: double-submitted in [`cookies::LOGIN_CSRF`].
pub struct LoginCsrf;

impl Guard for LoginCsrf {
    fn admit(_: &Coop, cookies: &Cookies, token: Option<&str>) -> Result<Self, PageError> {
        if !csrf::check(cookies, cookies::LOGIN_CSRF, token) {
            return Err(PageError::Forbidden(
                "This login form has expired. Go back to the app and log in again.",
            ));
        }
        Ok(Self)
    }
}

/// `POST /authorize/login`: the login form.
pub async fn login(State(coop): State<SharedCoop>, form: Form<LoginCsrf>) -> Result<Response, PageError> {
    let form = form.fields;
    let params =
        Params::parse(form.get("request").unwrap_or_default().as_bytes()).map_err(PageError::bad_request)?;
    let request = validate(&coop, &params)?;
    let username = form.get("username").unwrap_or_default().trim().to_owned();
    if coop.config.user(&username).is_none() {
        let message = if username.is_empty() {
            "Enter your farmer name.".to_owned()
        } else {
            format!("COOP has no farmer named \u{201c}{username}\u{201d}.")
        };
        return Ok(show_login_form(
            &params,
            &request,
            Some(&message),
            StatusCode::UNAUTHORIZED,
        ));
    }
    log_in(&coop, &params, &request, &username)
}

/// Starts a COOP session for `username` and goes on with the request ([`go_on`]).
fn log_in(
    coop: &Coop,
    params: &Params,
    request: &AuthorizationRequest<'_>,
    username: &str,
) -> Result<Response, PageError> {
    let (id, session) = coop.store.transaction(|db| {
        coop.purge_expired(db)?;
        let id = sessions::create(db, username, coop.clock.now_ms())?;
        let session = sessions::find(db, &id, coop.sessions_expired_at_or_before_ms())?
            .expect("the session just created");
        Ok::<_, StoreError>((id, session))
    })?;
    tracing::info!(username, client_id = %request.client.id, "farmer logged in to COOP");
    let cookie = cookies::session(id.clone());
    go_on(coop, params, request, &id, &session, Some(cookie))
}

fn issue_code(
    coop: &Coop,
    request: &AuthorizationRequest<'_>,
    session: &sessions::Session,
    set_cookie: Option<Cookie<'static>>,
) -> Result<Response, PageError> {
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
    let value = coop.store.transaction(|db| {
        // One authorization response per pushed request: two forms posted at once get one code.
        if let Some(digest) = &request.pushed
            && !pushed::use_once(db, digest)?
        {
            return Err(PageError::bad_request(
                "This login request was already used. Go back to the app and log in again.",
            ));
        }
        coop.purge_expired(db)?;
        Ok(codes::insert(db, &code, coop.clock.now_ms())?)
    })?;
    let mut response = Redirect::to(&redirect_back(coop, request, &[("code", &value)])?).into_response();
    if let Some(cookie) = set_cookie {
        cookies::set(&mut response, &cookie);
    }
    Ok(response)
}

/// The authorization error `code` sent back to the client (RFC 6749 §4.1.2.1). A pushed request
/// is used up by it, as by a code.
pub(super) fn error_redirect(
    coop: &Coop,
    request: &AuthorizationRequest<'_>,
    code: &'static str,
    description: &str,
) -> PageError {
    if let Some(digest) = &request.pushed
        && let Err(error) = coop.store.transaction(|db| pushed::use_once(db, digest))
    {
        return PageError::LoginNotSaved(error);
    }
    match redirect_back(
        coop,
        request,
        &[("error", code), ("error_description", description)],
    ) {
        Ok(location) => PageError::ToClient {
            error: code,
            location,
        },
        Err(error) => error,
    }
}

/// The request's redirect URI with `pairs`, `state` and (unless switched off) `iss`
/// (RFC 9207 §2: success and error responses alike).
fn redirect_back(
    coop: &Coop,
    request: &AuthorizationRequest<'_>,
    pairs: &[(&str, &str)],
) -> Result<String, PageError> {
    let mut url = url::Url::parse(&request.redirect_uri)
        .map_err(|_| PageError::bad_request("The registered redirect_uri is not a URL."))?;
    {
        let mut query = url.query_pairs_mut();
        query.extend_pairs(pairs);
        if let Some(state) = &request.state {
            query.append_pair("state", state);
        }
        if coop.config.iss_parameter {
            query.append_pair("iss", &coop.issuer);
        }
    }
    Ok(url.into())
}

fn show_login_form(
    params: &Params,
    request: &AuthorizationRequest<'_>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (csrf, cookie) = csrf::issue(cookies::LOGIN_CSRF, cookies::LOGIN_CSRF_PATH);
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
