//! The authorization endpoint: `response_type=code` with PKCE S256 only. A farmer with a COOP
//! session gets a code at once (no consent screen: COOP's clients are first-party); one
//! without sees the login form, unless `prompt=none` (→ `login_required`) or
//! `COOP_AUTO_LOGIN` (logged in with no form).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::Cookie;

use super::{csrf, login_page, page};
use crate::config::Client;
use crate::params::Params;
use crate::pkce;
use crate::scope::Scopes;
use crate::state::{Coop, SharedCoop};
use crate::store::{StoreError, codes, sessions};

/// The COOP session cookie.
pub const SESSION_COOKIE: &str = "coop_session";
/// The login form's double-submit anti-CSRF cookie.
const CSRF_COOKIE: &str = "coop_login_csrf";

/// A valid authorization request.
pub struct AuthorizationRequest<'a> {
    client: &'a Client,
    redirect_uri: String,
    state: Option<String>,
    scope: Scopes,
    nonce: Option<String>,
    code_challenge: String,
    prompt: Option<String>,
    pub login_hint: Option<String>,
}

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
    let session = match cookie_value(&headers, SESSION_COOKIE).map(|id| {
        coop.store
            .transaction(|db| sessions::find(db, &id, coop.sessions_expired_at_or_before_ms()))
    }) {
        Some(Ok(session)) => session,
        Some(Err(error)) => return store_failure(error),
        None => None,
    };
    let prompt = request.prompt.as_deref();
    match (prompt, session) {
        (Some("none"), Some(session)) => issue_code(&coop, &request, &session, None),
        (Some("none"), None) => error_redirect(
            &coop,
            &request,
            "login_required",
            "the farmer is not logged in to COOP",
        ),
        (Some("login"), _) | (_, None) => match coop.config.auto_login.clone() {
            Some(username) => log_in(&coop, &request, &username),
            None => show_login_form(&params, &request, None, StatusCode::OK),
        },
        (_, Some(session)) => issue_code(&coop, &request, &session, None),
    }
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
    log_in(&coop, &request, &username)
}

/// Starts a COOP session for `username` and answers the request with a code.
fn log_in(coop: &Coop, request: &AuthorizationRequest<'_>, username: &str) -> Response {
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
            let cookie = Cookie::build((SESSION_COOKIE, id))
                .path("/")
                .http_only(true)
                .same_site(cookie::SameSite::Lax);
            issue_code(coop, request, &session, Some(cookie.build()))
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

/// Checks an authorization request. Errors about the client or redirect URI are shown to the
/// farmer (redirecting to an unverified URI would be an open redirect); the rest go back to
/// the client (RFC 6749 §4.1.2.1).
fn validate<'a>(coop: &'a Coop, params: &Params) -> Result<AuthorizationRequest<'a>, Box<Response>> {
    let client = params
        .get("client_id")
        .and_then(|id| coop.config.client(id))
        .ok_or_else(|| Box::new(error_page(StatusCode::BAD_REQUEST, "Unknown client_id.")))?;
    let redirect_uri = params
        .get("redirect_uri")
        .filter(|uri| client.redirect_uris.iter().any(|r| r == uri))
        .ok_or_else(|| {
            Box::new(error_page(
                StatusCode::BAD_REQUEST,
                "redirect_uri is missing or not registered for this client.",
            ))
        })?;
    let mut request = AuthorizationRequest {
        client,
        redirect_uri: redirect_uri.to_owned(),
        state: params.get("state").map(str::to_owned),
        scope: Scopes::parse(params.get("scope").unwrap_or_default()),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: params.get("code_challenge").unwrap_or_default().to_owned(),
        prompt: params.get("prompt").map(str::to_owned),
        login_hint: params.get("login_hint").map(str::to_owned),
    };
    let refuse =
        |code: &str, description: &str| Err(Box::new(error_redirect(coop, &request, code, description)));
    if params.get("response_type") != Some("code") {
        return refuse(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    if request.code_challenge.is_empty() {
        return refuse(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        );
    }
    if params.get("code_challenge_method") != Some("S256") {
        return refuse("invalid_request", "code_challenge_method must be S256");
    }
    if !pkce::is_s256_challenge(&request.code_challenge) {
        return refuse(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 digest",
        );
    }
    if request.scope.is_empty() {
        return refuse("invalid_scope", "scope is required");
    }
    let unsupported = request.scope.unsupported();
    if !unsupported.is_empty() {
        return refuse(
            "invalid_scope",
            &format!("unknown scope: {}", unsupported.join(" ")),
        );
    }
    if let Some(prompt) = request.prompt.as_deref()
        && !matches!(prompt, "none" | "login" | "consent" | "select_account")
    {
        return refuse("invalid_request", "prompt must be none or login");
    }
    request.prompt = request.prompt.filter(|p| p == "none" || p == "login");
    Ok(request)
}

fn error_redirect(
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
