//! The JSON the browser and the server exchange: the BFF's own endpoints (`/bff/…`: session,
//! login, logout, daily counting, errors) and the egg API behind its `/api` proxy. Defined once,
//! used on both sides, so the compiler keeps them in step. None of these types can hold a token.

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

/// `GET /bff/login?code_challenge=…&code_challenge_method=S256`: opens a login transaction in
/// this browser (an HttpOnly cookie) and answers where to send the farmer: the provider's
/// authorize URL, built by the BFF with the `state` and `nonce` it chose and the SPA's
/// challenge — or, when the BFF pushed the request to the provider (RFC 9126), carrying only
/// `client_id` and `request_uri` (§4). The SPA checks `state` at `/callback` and posts
/// `redirect_uri` with the code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginParameters {
    pub authorize_url: String,
    pub redirect_uri: String,
    pub state: String,
}

/// `GET /bff/counting`: daily counting for the logged-in farmer. Times are Unix seconds, dates
/// `YYYY-MM-DD` in the job's time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountingStatus {
    pub state: CountingState,
    /// When the farmer turned it on (the current grant's enrolment).
    pub enabled_since: Option<i64>,
    /// When the provider stopped accepting the grant (state `needs_consent`).
    pub stopped_since: Option<i64>,
    /// When the job last stored a count.
    pub last_counted_at: Option<i64>,
    /// The job's last word for this farmer: `counted`, `retry_later`, `failed`, `needs_consent`.
    pub last_outcome: Option<String>,
    /// Today, in the job's time zone: the chart's last day.
    pub today: String,
    /// The counts of the last 30 days up to `today`, only the days that have one (a missing
    /// day is a gap, not a zero).
    pub history: Vec<DayCount>,
}

/// One day's stored count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    pub date: String,
    pub count: i64,
}

/// Whether the daily job counts this farmer's eggs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountingState {
    Off,
    On,
    /// The provider no longer accepts TopCluck's offline grant: turn it on again.
    NeedsConsent,
    /// This server has no client registration for daily counting: it cannot be turned on.
    NotConfigured,
}

/// The query of `GET /bff/login`: the SPA's PKCE challenge (its verifier stays in the SPA
/// until the code comes back), and `prompt=none` for a silent login (the provider answers
/// without a page, or with `login_required`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginStart {
    pub code_challenge: String,
    pub code_challenge_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// `POST /bff/login`: the SPA hands the BFF the code, the `state` and `iss` it came back with,
/// and the PKCE verifier that proves it started the login.
#[derive(Clone, Serialize, Deserialize)]
pub struct CodeExchange {
    pub code: String,
    pub code_verifier: String,
    pub state: String,
    pub redirect_uri: String,
    /// The authorization response's issuer (RFC 9207), when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

impl std::fmt::Debug for CodeExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeExchange")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// `POST /bff/logout`'s answer: where the browser goes next (the provider's end-session
/// endpoint, or home), and what became of TopCluck's access at the provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutResult {
    pub redirect_to: String,
    pub revocation: Revocation,
}

/// Whether logging out withdrew TopCluck's access at the provider (RFC 7009 revocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Revocation {
    /// Withdrawn.
    Revoked,
    /// The grant is withdrawn (its refresh token revoked); the provider does not revoke access
    /// tokens (`unsupported_token_type`), so the last one lives until it expires — minutes, and
    /// only the BFF ever held it.
    GrantRevoked,
    /// The provider could not be reached; the BFF keeps trying in the background.
    Retrying,
    /// The provider offers no revocation: the access ends when its tokens expire.
    Unsupported,
    /// The provider refused the revocation (logged for the administrator).
    Failed,
    /// There was no session, so nothing to withdraw.
    NothingToRevoke,
}

impl Revocation {
    /// What the farmer is told after logging out, when there is something to say.
    pub fn notice(self) -> Option<&'static str> {
        match self {
            Self::Revoked | Self::GrantRevoked | Self::NothingToRevoke => None,
            Self::Retrying => Some(
                "You are logged out of TopCluck, but COOP could not be reached to withdraw TopCluck's access. TopCluck keeps trying.",
            ),
            Self::Unsupported => Some(
                "You are logged out of TopCluck. Your login provider cannot withdraw TopCluck's access early: it ends when it expires.",
            ),
            Self::Failed => Some(
                "You are logged out of TopCluck, but the login provider refused to withdraw TopCluck's access. It ends when it expires.",
            ),
        }
    }
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
    /// `POST /bff/login` found no login started by this browser for its `state` (never started
    /// here, already used, or older than ten minutes): start the login again.
    LoginNotStarted,
    /// Too many login attempts from this address: wait (`Retry-After`) and try again.
    RateLimited,
    /// The endpoint does not take this method; the `Allow` header lists those it takes.
    MethodNotAllowed,
    /// Daily counting has no client registration of its own on this server: it cannot be
    /// turned on (nothing else is affected).
    CountingNotConfigured,
}

/// `GET /api/eggs` and `POST /api/eggs`' answer: today's count at the egg API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EggCount {
    pub date: String,
    pub count: i64,
}

/// `POST /api/eggs`' body: the eggs just collected.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Collected {
    pub count: i64,
}
