//! Errors of the token, pushed authorization request, revocation, introspection and dev endpoints, answered to a client
//! program as RFC 6749 §5.2 JSON: `{"error","error_description"}`, `400` (or `401` with
//! `WWW-Authenticate: Basic` for `invalid_client`, §5.2; `503` with `Retry-After`).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Failure;
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
    /// An authorization request refused at the pushed authorization request endpoint, with the
    /// error code `/authorize` would have sent back (RFC 9126 §2.3, RFC 6749 §4.1.2.1:
    /// `invalid_request`, `invalid_scope`, `unsupported_response_type`).
    #[error("{code}: {description}")]
    Authorization { code: &'static str, description: String },
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
            Self::Authorization { code, .. } => code,
            Self::TemporarilyUnavailable { .. } => "temporarily_unavailable",
            Self::Server(_) => "server_error",
        }
    }

    fn description(&self) -> String {
        match self {
            Self::InvalidRequest(d) | Self::InvalidScope(d) | Self::Authorization { description: d, .. } => {
                d.clone()
            }
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
            Self::Server(error) => Failure::attach(&mut response, error),
            _ => {}
        }
        response
    }
}
