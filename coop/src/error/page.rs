//! Errors of COOP's pages (`/authorize` and its login and consent forms, `/end-session`): the
//! farmer reads them in a browser. Before the client and its redirect URI are known, an error
//! is a page ("COOP cannot go on"): redirecting to an unverified URI would be an open redirect.
//! After, it goes back to the client as RFC 6749 §4.1.2.1 asks ([`PageError::ToClient`]).

use std::borrow::Cow;

use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::Failure;
use crate::endpoints::page::message_page;
use crate::store::StoreError;

/// What a page of COOP could not do.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// 400: the request cannot go on; the page says why.
    #[error("bad request: {0}")]
    BadRequest(Cow<'static, str>),
    /// 403: a form whose CSRF token does not hold (expired, or posted from elsewhere).
    #[error("form refused: {0}")]
    Forbidden(&'static str),
    /// An authorization error response (RFC 6749 §4.1.2.1): the browser goes back to the
    /// client's checked redirect URI with `error` (and `error_description`, `state`, `iss`).
    #[error("sent back to the client with error={error}")]
    ToClient { error: &'static str, location: String },
    /// The body of a form could not be read: axum's own answer.
    #[error("form body unreadable")]
    Body(#[from] BytesRejection),
    /// 500: the store failed while logging in (or asking, or giving a code).
    #[error("the login could not be saved")]
    LoginNotSaved(#[from] StoreError),
    /// 500: the store failed while logging out.
    #[error("the logout could not be saved")]
    LogoutNotSaved(#[source] StoreError),
}

impl PageError {
    /// A 400 page saying `message`.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::BadRequest(message.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = |status: StatusCode, message: &str| {
            (status, message_page("COOP cannot go on", message)).into_response()
        };
        match self {
            Self::BadRequest(message) => page(StatusCode::BAD_REQUEST, &message),
            Self::Forbidden(message) => page(StatusCode::FORBIDDEN, message),
            Self::ToClient { location, .. } => Redirect::to(&location).into_response(),
            Self::Body(rejection) => rejection.into_response(),
            Self::LoginNotSaved(error) => {
                let mut response = page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "COOP could not save your login. Try again.",
                );
                Failure::attach(&mut response, error);
                response
            }
            Self::LogoutNotSaved(error) => {
                let mut response = page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "COOP could not log you out. Try again.",
                );
                Failure::attach(&mut response, error);
                response
            }
        }
    }
}
