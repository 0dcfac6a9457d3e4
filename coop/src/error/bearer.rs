//! Errors of the protected resources (the egg API, userinfo), answered as RFC 6750 §3 asks:
//! a `WWW-Authenticate: Bearer` challenge naming the error (`invalid_token` 401,
//! `insufficient_scope` 403 with the scope needed), which a client reads before any body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Failure;
use crate::store::StoreError;

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
            Self::Server(_) => {
                let mut response = (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "error": "server_error" })),
                )
                    .into_response();
                if let Self::Server(error) = self {
                    Failure::attach(&mut response, error);
                }
                return response;
            }
        };
        let mut response = (status, Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
