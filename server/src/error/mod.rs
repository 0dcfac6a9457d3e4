//! Every error the BFF answers with, mapped to its HTTP response in this one place: a status
//! and an [`ApiError`] body with a stable code. Details are logged, never sent.
//!
//! Domain errors ([`VaultError`] — also the store's —, [`ProviderError`], a [`LoginRefusal`], a
//! refused proxy path, the session layer's) convert into [`BffError`] with `?` and stay its
//! [`source`](std::error::Error::source), so the cause survives until it is logged. Each
//! variant's `Display` names only what failed at its own level; the source chain says why.
//!
//! [`IntoResponse`] has no side effect: it puts the error into the response's extensions
//! ([`Failure`]), and one middleware, [`log_failures`] (in [`crate::edges::outside_session`]),
//! logs it with its whole source chain ([`Report`]) at a level chosen by the status. No source
//! carries a token: no error type here or below holds one (configured secrets are redacting
//! [`crate::settings::Secret`]s); a provider's OAuth error is cut down to an RFC 6749 error code
//! of at most 64 characters ([`crate::oidc`]), scopes to scope tokens ([`LoginRefusal`]), an
//! upstream's URL (its query) is dropped, and a [`Report`] escapes control characters and is
//! bounded, for what a parser quotes of a peer's answer.

mod log;

use std::sync::Arc;

use app::wire::{ApiError, ErrorCode};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::bff::LoginRefusal;
use crate::oidc::{ProviderError, RETRY_AFTER_SECONDS};
use crate::proxy::path::Refusal;
use crate::vault::VaultError;

pub use log::{Failure, REPORT_LIMIT, Report, log_failures};

#[derive(Debug, thiserror::Error)]
pub enum BffError {
    #[error("no session")]
    Unauthenticated,
    #[error("CSRF check failed: {0}")]
    Csrf(&'static str),
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A JSON body that is not what the endpoint takes.
    #[error("bad request: unreadable JSON body")]
    Json(#[from] JsonRejection),
    /// An `/api` path outside the rules of [`crate::proxy::path`].
    #[error("bad request: path refused")]
    Path(#[from] Refusal),
    /// A request body that could not be read (other than too large or too slow: the edges).
    #[error("bad request: the request body could not be read")]
    Body(#[source] axum::Error),
    /// The login could not be completed; the reason is logged only.
    #[error("login failed")]
    LoginFailed(#[from] LoginRefusal),
    /// The refresh token is expired or revoked; the handler has cleared the cookie.
    #[error("the session ended")]
    ReauthenticationRequired,
    /// The upstream API could not be reached (its URL is left out of the source: a query can
    /// hold anything).
    #[error("upstream unreachable: {path}")]
    Upstream {
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// The API had as many requests in flight as it may, for the whole queue wait: nothing was
    /// sent ([`crate::upstream`]).
    #[error("the API is at its limit")]
    Overloaded(#[from] crate::upstream::Overloaded),
    #[error("not found")]
    NotFound,
    /// A call to the provider failed; what that means for the farmer depends on how
    /// ([`provider_parts`]).
    #[error("the provider")]
    Provider(#[from] ProviderError),
    /// A token refresh could not be done in time (the provider is unreachable, failing, or has
    /// not answered yet; the refresh goes on): retry after that many seconds.
    #[error("the token refresh is not done")]
    RenewalUnavailable { retry_after_seconds: u64 },
    /// The vault or the store (one database, one error type) failed.
    #[error("the database")]
    Database(#[from] VaultError),
    /// A layer the handler depends on is not in front of it (the cookie jar, the key ring):
    /// a wiring mistake in the router, not the request's fault.
    #[error("missing layer: {0}")]
    MissingLayer(&'static str),
    #[error("the session layer")]
    Session(#[from] tower_sessions::session::Error),
    #[error("the session store")]
    SessionStore(#[from] tower_sessions_cookie_store::session_store::Error),
    /// The session's end is not a date a cookie can carry.
    #[error("session expiry")]
    SessionExpiry(#[source] time::error::ComponentRange),
    /// A task the request waited for (the daily job's run) panicked or was cancelled.
    #[error("a task the request waited for died")]
    TaskDied(#[from] tokio::task::JoinError),
    /// The session would not fit in a cookie a browser keeps; nothing was stored.
    #[error("session too large: {0}")]
    SessionTooLarge(String),
    /// A request body over the limit (answered by the edges, `crate::edges`).
    #[error("request body over the limit")]
    PayloadTooLarge,
    /// A request body that stopped arriving (the edges' body timeout).
    #[error("request body too slow")]
    RequestTimeout,
    /// An answer a layer made on its own with a bare status, outside the handlers: tower-http's
    /// 408/413/504, the session layer's 500 (see [`crate::edges`]). Answered as the variant
    /// for that status would be ([`layer_parts`]).
    #[error("answered {0} by a layer, outside the handlers")]
    Layer(StatusCode),
    /// `POST /bff/login` without an open login transaction for its `state` in this browser.
    #[error("no login under way for this state in this browser")]
    LoginNotStarted,
    /// Too many code redemptions from one address (`crate::bff::throttle`).
    #[error("too many login attempts")]
    TooManyAttempts { retry_after_seconds: u64 },
    /// A method the endpoint does not take. The router adds the `Allow` header.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Daily counting was asked for, but it has no client registration of its own
    /// (`TOPCLUCK_COUNTING_CLIENT_ID`): refused rather than sharing the session's grant.
    #[error("daily counting is not configured (TOPCLUCK_COUNTING_CLIENT_ID)")]
    CountingNotConfigured,
    /// A back-channel logout request that is not one (no form body, no single `logout_token`):
    /// 400 `invalid_request` in OAuth's shape ([`oauth_response`]).
    #[error("back-channel logout: {0}")]
    LogoutRequest(&'static str),
    /// A logout token that does not validate (Back-Channel Logout 1.0 §2.6): 400
    /// `invalid_request`, its reason as the `error_description`.
    #[error("back-channel logout")]
    LogoutToken(#[source] crate::oidc::logout_token::LogoutTokenError),
    /// A valid logout token whose logout could not be carried out (the store, or the provider's
    /// keys, unreachable): §2.8 says 400 for a failed logout too, not a 5xx; the token was not
    /// recorded as used, so the provider may send it again.
    #[error("back-channel logout failed")]
    LogoutFailed(#[source] Box<BffError>),
    /// Pushed authorization requests (RFC 9126) are required — by `demanded_by` — and the
    /// provider's discovery names no `pushed_authorization_request_endpoint`: no plain
    /// authorization request is sent instead.
    #[error("the provider does not offer pushed authorization requests, which {demanded_by} demands")]
    ParNotOffered { demanded_by: &'static str },
    /// Too many back-channel logout requests from one address ([`crate::bff::backchannel`]):
    /// 400 `temporarily_unavailable` (§2.8 has no other status) with `Retry-After` (seconds).
    #[error("back-channel logout: too many requests from this address")]
    LogoutThrottled(u64),
}

/// What a variant answers: status, code, the sentence the farmer reads.
type Parts = (StatusCode, ErrorCode, &'static str);

const INTERNAL: Parts = (
    StatusCode::INTERNAL_SERVER_ERROR,
    ErrorCode::Internal,
    "Something went wrong on our side.",
);
const BAD_REQUEST: Parts = (
    StatusCode::BAD_REQUEST,
    ErrorCode::BadRequest,
    "The request was malformed.",
);
const LOGIN_FAILED: Parts = (
    StatusCode::BAD_REQUEST,
    ErrorCode::LoginFailed,
    "The login could not be completed. Please try again.",
);
const PROVIDER_UNAVAILABLE: Parts = (
    StatusCode::SERVICE_UNAVAILABLE,
    ErrorCode::TemporarilyUnavailable,
    "The login provider is unavailable right now. Please try again shortly.",
);
const NOT_FOUND: Parts = (
    StatusCode::NOT_FOUND,
    ErrorCode::NotFound,
    "There is nothing here.",
);
const METHOD_NOT_ALLOWED: Parts = (
    StatusCode::METHOD_NOT_ALLOWED,
    ErrorCode::MethodNotAllowed,
    "This address does not take that kind of request.",
);
const PAYLOAD_TOO_LARGE: Parts = (
    StatusCode::PAYLOAD_TOO_LARGE,
    ErrorCode::PayloadTooLarge,
    "The request is too large.",
);
const REQUEST_TIMEOUT: Parts = (
    StatusCode::REQUEST_TIMEOUT,
    ErrorCode::Timeout,
    "The request arrived too slowly. Please try again.",
);
const GATEWAY_TIMEOUT: Parts = (
    StatusCode::GATEWAY_TIMEOUT,
    ErrorCode::Timeout,
    "TopCluck took too long to answer. Please try again.",
);

impl BffError {
    fn parts(&self) -> Parts {
        match self {
            Self::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                "You are not logged in.",
            ),
            Self::ReauthenticationRequired => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::ReauthenticationRequired,
                "Your session has ended. Log in again.",
            ),
            Self::Upstream { .. } => (
                StatusCode::BAD_GATEWAY,
                ErrorCode::BadGateway,
                "The farm's API cannot be reached right now.",
            ),
            Self::Overloaded(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "TopCluck is very busy right now. Please try again in a moment.",
            ),
            Self::NotFound => NOT_FOUND,
            Self::Csrf(_) => (
                StatusCode::FORBIDDEN,
                ErrorCode::CsrfRejected,
                "This request was refused: it did not come from TopCluck.",
            ),
            Self::BadRequest(_) | Self::Json(_) | Self::Path(_) | Self::Body(_) => BAD_REQUEST,
            Self::LoginFailed(_) => LOGIN_FAILED,
            Self::Provider(error) => provider_parts(error),
            Self::RenewalUnavailable { .. } => PROVIDER_UNAVAILABLE,
            Self::Database(_)
            | Self::Session(_)
            | Self::SessionStore(_)
            | Self::SessionExpiry(_)
            | Self::MissingLayer(_)
            | Self::TaskDied(_) => INTERNAL,
            Self::SessionTooLarge(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::SessionTooLarge,
                "The login provider issued tokens too large for a browser cookie, so TopCluck kept nothing and revoked them. Tell the administrator.",
            ),
            Self::PayloadTooLarge => PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => REQUEST_TIMEOUT,
            Self::Layer(status) => layer_parts(*status),
            Self::LoginNotStarted => (
                StatusCode::BAD_REQUEST,
                ErrorCode::LoginNotStarted,
                "This login was not started in this browser, or it took too long. Please log in again.",
            ),
            Self::TooManyAttempts { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "Too many login attempts. Please wait a little and try again.",
            ),
            Self::MethodNotAllowed => METHOD_NOT_ALLOWED,
            Self::ParNotOffered { .. } => (
                StatusCode::BAD_GATEWAY,
                ErrorCode::BadGateway,
                "The login provider does not offer pushed authorization requests, which TopCluck's configuration requires. Tell the administrator.",
            ),
            Self::LogoutRequest(_)
            | Self::LogoutToken(_)
            | Self::LogoutFailed(_)
            | Self::LogoutThrottled(_) => BAD_REQUEST,
            Self::CountingNotConfigured => (
                StatusCode::CONFLICT,
                ErrorCode::CountingNotConfigured,
                "Daily counting is not set up on this TopCluck server: it needs a client registration of its own at the login provider. Tell the administrator.",
            ),
        }
    }

    /// How long to wait before trying again, when the answer says (`Retry-After`).
    fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::RenewalUnavailable { retry_after_seconds }
            | Self::TooManyAttempts { retry_after_seconds } => Some(*retry_after_seconds),
            Self::Provider(ProviderError::Unavailable(_) | ProviderError::AnswerLost(_)) => {
                Some(RETRY_AFTER_SECONDS)
            }
            Self::Overloaded(_) => Some(1),
            _ => None,
        }
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// The code this error is answered with (its body's `error`).
    pub fn code(&self) -> ErrorCode {
        self.parts().1
    }
}

/// A provider's failure, as the farmer meets it (during a login, or a refresh's outcome):
/// unavailable → 503 (retry), TopCluck's client refused → 500 `client_misconfigured` (the
/// session is kept), an unreadable answer → 502, anything else → the login failed.
fn provider_parts(error: &ProviderError) -> Parts {
    match error {
        ProviderError::Unavailable(_) | ProviderError::AnswerLost(_) => PROVIDER_UNAVAILABLE,
        ProviderError::Misconfigured { .. } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ClientMisconfigured,
            "TopCluck cannot renew your access right now: the login provider refused TopCluck's own credentials. You are still logged in; an administrator must fix the configuration.",
        ),
        ProviderError::BadAnswer(_) => (
            StatusCode::BAD_GATEWAY,
            ErrorCode::BadGateway,
            "The login provider sent an answer TopCluck cannot read.",
        ),
        ProviderError::Refused { .. }
        | ProviderError::Rejected(_)
        | ProviderError::IdToken(_)
        | ProviderError::LogoutToken(_)
        | ProviderError::NoRevocationEndpoint
        | ProviderError::UnsupportedTokenType => LOGIN_FAILED,
    }
}

/// A bare status a layer answered with, as the BFF's error for that status: the body limit's
/// 413, the timeouts' 408 and 504, the router's 404 and 405; any other client error is a bad
/// request, anything else (the session layer's failed save) internal.
fn layer_parts(status: StatusCode) -> Parts {
    match status {
        StatusCode::NOT_FOUND => NOT_FOUND,
        StatusCode::METHOD_NOT_ALLOWED => METHOD_NOT_ALLOWED,
        StatusCode::PAYLOAD_TOO_LARGE => PAYLOAD_TOO_LARGE,
        StatusCode::REQUEST_TIMEOUT => REQUEST_TIMEOUT,
        StatusCode::GATEWAY_TIMEOUT => GATEWAY_TIMEOUT,
        s if s.is_client_error() => BAD_REQUEST,
        _ => INTERNAL,
    }
}

/// A back-channel logout's refusal as OpenID Connect Back-Channel Logout 1.0 §2.8 has it: 400,
/// an OAuth 2.0 error body (`error`, `error_description`: a short reason, never the token),
/// `Cache-Control: no-store`. `None` for every other error.
fn oauth_response(error: &BffError) -> Option<Response> {
    let (code, description) = match error {
        BffError::LogoutRequest(reason) => ("invalid_request", (*reason).to_owned()),
        BffError::LogoutToken(refusal) => ("invalid_request", refusal.to_string()),
        BffError::LogoutFailed(_) => (
            "temporarily_unavailable",
            "the logout could not be carried out now; send the logout token again".to_owned(),
        ),
        BffError::LogoutThrottled(_) => (
            "temporarily_unavailable",
            "too many requests from this address; send the logout token again later".to_owned(),
        ),
        _ => return None,
    };
    let body = serde_json::json!({ "error": code, "error_description": description });
    let mut response = (StatusCode::BAD_REQUEST, Json(body)).into_response();
    if let BffError::LogoutThrottled(seconds) = error {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
    }
    Some(response)
}

impl IntoResponse for BffError {
    fn into_response(self) -> Response {
        if let Some(mut response) = oauth_response(&self) {
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response.extensions_mut().insert(Failure(Arc::new(self)));
            return response;
        }
        let (status, error, message) = self.parts();
        let mut response = (
            status,
            Json(ApiError {
                error,
                message: message.to_owned(),
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after_seconds() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(Failure(Arc::new(self)));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_failure_is_answered_by_its_kind() {
        let status = |e: ProviderError| BffError::from(e).status();
        assert_eq!(
            status(ProviderError::Unavailable("x".into())),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(ProviderError::AnswerLost("x".into())),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(ProviderError::Misconfigured { code: "x".into() }),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            status(ProviderError::BadAnswer("x".into())),
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            status(ProviderError::Refused { code: "x".into() }),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn a_layers_bare_status_keeps_its_meaning() {
        for (status, code) in [
            (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed),
            (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge),
            (StatusCode::REQUEST_TIMEOUT, ErrorCode::Timeout),
            (StatusCode::GATEWAY_TIMEOUT, ErrorCode::Timeout),
            (StatusCode::IM_A_TEAPOT, ErrorCode::BadRequest),
            (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        ] {
            let parts = BffError::Layer(status).parts();
            let expected = if code == ErrorCode::BadRequest {
                StatusCode::BAD_REQUEST
            } else {
                status
            };
            assert_eq!((parts.0, parts.1), (expected, code), "{status}");
        }
    }
}
