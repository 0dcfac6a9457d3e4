//! Errors COOP answers with, each mapped to its HTTP response in one place:
//! OAuth errors as RFC 6749 §5.2 JSON, bearer-token errors with RFC 6750 `WWW-Authenticate`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// An error of the token, revocation or authorization endpoints (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(&'static str),
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// RFC 7009 §2.2.1: the server cannot revoke tokens of this type.
    #[error("unsupported_token_type: {0}")]
    UnsupportedTokenType(&'static str),
    #[error("temporarily_unavailable")]
    TemporarilyUnavailable { retry_after_seconds: u64 },
    #[error("server_error: {0}")]
    Server(#[from] StoreError),
}

impl OAuthError {
    /// The `error` code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::UnsupportedTokenType(_) => "unsupported_token_type",
            Self::TemporarilyUnavailable { .. } => "temporarily_unavailable",
            Self::Server(_) => "server_error",
        }
    }

    fn description(&self) -> String {
        match self {
            Self::InvalidRequest(d) | Self::InvalidScope(d) => d.clone(),
            Self::InvalidGrant(d) | Self::UnauthorizedClient(d) | Self::UnsupportedTokenType(d) => {
                (*d).to_owned()
            }
            Self::InvalidClient => "client authentication failed".into(),
            Self::UnsupportedGrantType => "grant_type must be authorization_code or refresh_token".into(),
            Self::TemporarilyUnavailable { .. } => "COOP is temporarily unavailable".into(),
            Self::Server(_) => "internal error".into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::TemporarilyUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Server(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        if let Self::Server(error) = &self {
            tracing::error!(%error, "store error");
        }
        let body = json!({ "error": self.code(), "error_description": self.description() });
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self {
            Self::InvalidClient => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Basic realm="coop""#),
                );
            }
            Self::TemporarilyUnavailable { retry_after_seconds } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            }
            _ => {}
        }
        response
    }
}

/// An error of a protected resource (the egg API, userinfo), RFC 6750 §3.
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    #[error("no bearer token")]
    Missing,
    #[error("invalid_token: {0}")]
    InvalidToken(&'static str),
    #[error("insufficient_scope: needs {0}")]
    InsufficientScope(&'static str),
    #[error("invalid_request: {0}")]
    BadRequest(String),
    #[error("server_error: {0}")]
    Server(#[from] StoreError),
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let (status, challenge, body) = match &self {
            Self::Missing => (
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="coop""#.to_owned(),
                json!({ "error": "invalid_token", "error_description": "no bearer token" }),
            ),
            Self::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                format!(r#"Bearer realm="coop", error="invalid_token", error_description="{why}""#),
                json!({ "error": "invalid_token", "error_description": why }),
            ),
            Self::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                format!(r#"Bearer realm="coop", error="insufficient_scope", scope="{scope}""#),
                json!({ "error": "insufficient_scope", "scope": scope }),
            ),
            Self::BadRequest(why) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "error": "invalid_request", "error_description": why })),
                )
                    .into_response();
            }
            Self::Server(error) => {
                tracing::error!(%error, "store error");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "error": "server_error" })),
                )
                    .into_response();
            }
        };
        let mut response = (status, Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
