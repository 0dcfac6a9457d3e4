//! Errors COOP answers with, one type per audience, because each protocol fixes its own wire
//! format and they cannot be one:
//!
//! | type | who reads it | wire format |
//! | --- | --- | --- |
//! | [`OAuthError`] | a client program at the token, revocation, introspection endpoints | RFC 6749 §5.2 JSON `{"error","error_description"}`, `401` + `WWW-Authenticate: Basic` for `invalid_client` |
//! | [`BearerError`] | a client program at a protected resource (egg API, userinfo) | RFC 6750 §3: `WWW-Authenticate: Bearer error=…` challenge, 401/403 |
//! | [`PageError`] | the farmer, in a browser (authorize, login, consent, logout) | an HTML page — or, once the client and redirect URI are known, a redirect back to the client with `error=` (RFC 6749 §4.1.2.1) |
//!
//! Each maps to its response in its own `IntoResponse`, without side effects: a store failure
//! is put into the response's extensions ([`Failure`]) and logged, with its causes, by one
//! middleware ([`log_failures`]). No error here holds a token.

mod bearer;
mod oauth;
mod page;

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

pub use bearer::BearerError;
pub use oauth::OAuthError;
pub use page::PageError;

use crate::store::StoreError;

/// The store failure a response was made from, for [`log_failures`].
#[derive(Clone, Debug)]
pub struct Failure(Arc<StoreError>);

impl Failure {
    /// Puts `error` into `response`'s extensions.
    pub fn attach(response: &mut Response, error: StoreError) {
        response.extensions_mut().insert(Self(Arc::new(error)));
    }
}

/// Logs the store failure a response was made from, with its causes.
pub async fn log_failures(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(Failure(error)) = response.extensions().get::<Failure>() {
        let mut said = error.to_string();
        let mut source = std::error::Error::source(error.as_ref());
        while let Some(cause) = source {
            let text = cause.to_string();
            if !said.ends_with(&text) {
                said = format!("{said}: {text}");
            }
            source = cause.source();
        }
        tracing::error!(error = %said, status = response.status().as_u16(), "store error");
    }
    response
}
