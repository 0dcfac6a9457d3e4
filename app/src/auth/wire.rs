//! The JSON the SPA and the BFF exchange about logging in: defined once, used on both sides.
//! None of these types can hold a token.

use serde::{Deserialize, Serialize};

/// The farmer a session belongs to (from the ID token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Farmer {
    /// The provider's subject identifier.
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

impl Farmer {
    /// What the header shows: the name, else the email, else the subject.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.email.as_deref())
            .unwrap_or(&self.sub)
    }
}

/// `GET /bff/session`: who is logged in and for how long. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub farmer: Farmer,
    pub access_token_expires_at: i64,
    /// When the refresh token expires, if the provider said.
    pub refresh_token_expires_at: Option<i64>,
    /// When the session cookie expires.
    pub session_expires_at: i64,
    pub scopes: Vec<String>,
    /// When the BFF last renewed the access token, if it has.
    pub renewed_at: Option<i64>,
}

/// `GET /bff/login`: what the SPA needs to send the farmer to the provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginParameters {
    pub authorization_endpoint: String,
    pub client_id: String,
    pub scope: String,
    pub redirect_uri: String,
}

/// `POST /bff/login`: the SPA hands the BFF the code and what proves it started the login.
#[derive(Clone, Serialize, Deserialize)]
pub struct CodeExchange {
    pub code: String,
    pub code_verifier: String,
    pub nonce: String,
    pub redirect_uri: String,
}

impl std::fmt::Debug for CodeExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeExchange")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// `POST /bff/logout`'s answer: where the browser goes next (the provider's end-session
/// endpoint, or home).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutResult {
    pub redirect_to: String,
}

/// Every error the BFF answers with: a stable machine-readable code and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: ErrorCode,
    pub message: String,
}

/// The error codes of [`ApiError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No session: log in.
    Unauthenticated,
    /// The session ended (refresh token expired or revoked; the cookie is cleared): log in again.
    ReauthenticationRequired,
    /// The provider is unreachable; the session is kept. Retry later.
    TemporarilyUnavailable,
    /// The request lacks the anti-CSRF header or comes from another origin.
    CsrfRejected,
    /// The login could not be completed (bad code, ID token refused…).
    LoginFailed,
    /// The request is malformed.
    BadRequest,
    /// The upstream API could not be reached.
    BadGateway,
    /// No such endpoint (or no upstream API configured).
    NotFound,
    /// Something failed on the server.
    Internal,
    /// The provider refused TopCluck's own client credentials (`invalid_client`,
    /// `unauthorized_client`): a configuration fault, not the farmer's. The session is kept.
    ClientMisconfigured,
    /// The provider issued a session too large for a browser cookie; nothing was kept and what
    /// was issued has been revoked.
    SessionTooLarge,
    /// The request body is larger than the BFF accepts.
    PayloadTooLarge,
    /// The request took too long (to arrive, or to be answered upstream).
    Timeout,
    /// The endpoint does not take this method; the `Allow` header lists those it takes.
    MethodNotAllowed,
}
