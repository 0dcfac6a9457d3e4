//! Every error the BFF answers with, mapped to its HTTP response in this one place: a status
//! and an [`ApiError`] body with a stable code. Details are logged, never sent.

use app::wire::{ApiError, ErrorCode};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum BffError {
    #[error("no session")]
    Unauthenticated,
    #[error("CSRF check failed: {0}")]
    Csrf(&'static str),
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The login could not be completed; the detail is logged only.
    #[error("login failed: {0}")]
    LoginFailed(String),
    /// The refresh token is expired or revoked; the handler has cleared the cookie.
    #[error("the session ended")]
    ReauthenticationRequired,
    #[error("upstream unreachable: {0}")]
    BadGateway(String),
    #[error("not found")]
    NotFound,
    #[error("the provider is unavailable: {detail}")]
    ProviderUnavailable {
        detail: String,
        retry_after_seconds: u64,
    },
    #[error("internal error: {0}")]
    Internal(String),
    /// The provider refused TopCluck's client (`invalid_client`, `unauthorized_client`, …):
    /// our configuration is wrong. The farmer's session is kept.
    #[error("the provider refused this client: {0}")]
    ClientMisconfigured(String),
    /// The provider answered something that is not a token response.
    #[error("unreadable answer from the provider: {0}")]
    BadProviderAnswer(String),
    /// The session would not fit in a cookie a browser keeps; nothing was stored.
    #[error("session too large: {0}")]
    SessionTooLarge(String),
    /// A request body over the limit (answered by the edges, `crate::edges`).
    #[error("request body over the limit")]
    PayloadTooLarge,
    /// A request body that stopped arriving (the edges' body timeout).
    #[error("request body too slow")]
    RequestTimeout,
    /// A request the server could not answer in time (the edges' request timeout).
    #[error("no answer in time")]
    GatewayTimeout,
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
}

impl BffError {
    fn parts(&self) -> (StatusCode, ErrorCode, &'static str) {
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
            Self::BadGateway(_) => (
                StatusCode::BAD_GATEWAY,
                ErrorCode::BadGateway,
                "The farm's API cannot be reached right now.",
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "There is nothing here.",
            ),
            Self::Csrf(_) => (
                StatusCode::FORBIDDEN,
                ErrorCode::CsrfRejected,
                "This request was refused: it did not come from TopCluck.",
            ),
            Self::BadRequest(_) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "The request was malformed.",
            ),
            Self::LoginFailed(_) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::LoginFailed,
                "The login could not be completed. Please try again.",
            ),
            Self::ProviderUnavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "The login provider is unavailable right now. Please try again shortly.",
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "Something went wrong on our side.",
            ),
            Self::ClientMisconfigured(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::ClientMisconfigured,
                "TopCluck cannot renew your access right now: the login provider refused TopCluck's own credentials. You are still logged in; an administrator must fix the configuration.",
            ),
            Self::BadProviderAnswer(_) => (
                StatusCode::BAD_GATEWAY,
                ErrorCode::BadGateway,
                "The login provider sent an answer TopCluck cannot read.",
            ),
            Self::SessionTooLarge(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::SessionTooLarge,
                "The login provider issued tokens too large for a browser cookie, so TopCluck kept nothing and revoked them. Tell the administrator.",
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                "The request is too large.",
            ),
            Self::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::Timeout,
                "The request arrived too slowly. Please try again.",
            ),
            Self::GatewayTimeout => (
                StatusCode::GATEWAY_TIMEOUT,
                ErrorCode::Timeout,
                "TopCluck took too long to answer. Please try again.",
            ),
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
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "This address does not take that kind of request.",
            ),
            Self::CountingNotConfigured => (
                StatusCode::CONFLICT,
                ErrorCode::CountingNotConfigured,
                "Daily counting is not set up on this TopCluck server: it needs a client registration of its own at the login provider. Tell the administrator.",
            ),
        }
    }
}

impl IntoResponse for BffError {
    fn into_response(self) -> Response {
        let (status, error, message) = self.parts();
        match status {
            StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::BAD_GATEWAY
            | StatusCode::GATEWAY_TIMEOUT => {
                tracing::error!(error = %self, "request failed")
            }
            StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN => {
                tracing::warn!(error = %self, "request refused")
            }
            _ => tracing::debug!(error = %self, "request refused"),
        }
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
        if let Self::ProviderUnavailable {
            retry_after_seconds, ..
        }
        | Self::TooManyAttempts { retry_after_seconds } = self
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        response
    }
}

impl From<tower_sessions_cookie_store::session_store::Error> for BffError {
    fn from(error: tower_sessions_cookie_store::session_store::Error) -> Self {
        Self::Internal(format!("session store: {error}"))
    }
}

impl From<tower_sessions::session::Error> for BffError {
    fn from(error: tower_sessions::session::Error) -> Self {
        Self::Internal(format!("session: {error}"))
    }
}
