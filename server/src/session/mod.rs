//! The session: everything the BFF knows about a logged-in farmer — tokens included — sealed
//! into one encrypted, HttpOnly cookie by tower-sessions with a cookie-backed store.
//!
//! Cookie: [`crate::cookies::SESSION`], with the attributes and sealing of every TopCluck cookie
//! ([`crate::cookies`]), written by [`crate::cookies::session_layer`]. Only what the BFF needs
//! is kept: the tokens, the ID token's claims, and the ID token itself as the logout hint when
//! it fits.
//!
//! Why Strict (draft-ietf-oauth-browser-based-apps §6.1.3.2): no request another site starts
//! — a link, a form, a top-level navigation — carries the farmer's session, so none can act as
//! the farmer, even by GET. What it costs: a page reached from another site (a link in an
//! email; the provider's redirect back to `/callback`) is rendered logged out by the server,
//! then the app's own `GET /bff/session` (same-site, so with the cookie) shows the farmer a
//! moment later. `/callback` needs no session: the SPA's `POST /bff/login` is same-site.
//!
//! Two rules this module keeps:
//! - **The cookie is the refresh token's only home**, so a saved session is written into the
//!   response at once ([`save`]), not left to the session layer, which skips 5xx responses: a
//!   renewal followed by an upstream 502 still reaches the browser.
//! - **Never a cookie a browser drops.** Browsers ignore a `Set-Cookie` over 4,096 bytes. The
//!   store's size limit applies before sealing, so it is set from [`crate::cookies::budget`] to
//!   the largest record whose *sealed* `Set-Cookie` fits; a bigger session is refused with
//!   [`BffError::SessionTooLarge`] instead of silently not arriving.
//!
//! A session ends when the first of these passes: the configured maximum age, the refresh
//! token's expiry (`refresh_expires_in`), or — with no refresh token — the access token's.

mod gate;

use std::fmt;

use app::wire::{Farmer, SessionInfo};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::{Expiry, Session};

use crate::error::BffError;
pub use gate::Gate;

/// The key under which [`SessionData`] sits in the session record.
const KEY: &str = "s";

/// What a session holds. Field names are short: they travel in every request's cookie.
#[derive(Clone, Serialize, Deserialize)]
pub struct SessionData {
    #[serde(rename = "f")]
    pub farmer: Farmer,
    #[serde(rename = "a")]
    pub access_token: String,
    #[serde(rename = "ae")]
    pub access_token_expires_at: i64,
    /// When the access token was issued (as this BFF saw it): its lifetime bounds the skew.
    #[serde(rename = "ai", default, skip_serializing_if = "Option::is_none")]
    pub access_token_issued_at: Option<i64>,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(rename = "re", default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_at: Option<i64>,
    #[serde(rename = "sc")]
    pub scopes: Vec<String>,
    /// The configured maximum age's end; [`SessionData::ends_at`] is when the session ends.
    #[serde(rename = "se")]
    pub session_expires_at: i64,
    #[serde(rename = "rn", default, skip_serializing_if = "Option::is_none")]
    pub renewed_at: Option<i64>,
    /// The ID token of the login, kept as the `id_token_hint` of RP-initiated logout when it
    /// fits in the cookie (dropped first when the session would not fit; see [`save_fitting`]).
    #[serde(rename = "it", default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// This session's id, chosen at login: what the store's successors are bound to and what
    /// ending the session records, so every copy of the cookie is refused.
    #[serde(rename = "id", default)]
    pub session_id: String,
    /// The provider's login session (`sid`) the ID token named: a logout watermark of another
    /// `sid` does not end this session ([`crate::store::watermarks`]). Absent in older cookies.
    #[serde(rename = "ps", default, skip_serializing_if = "Option::is_none")]
    pub provider_sid: Option<String>,
    /// The ID token's `iat`: when the provider authenticated this login. A logout watermark at
    /// or after it ends the session. Absent in older cookies: see [`SessionData::logged_in_at`].
    #[serde(rename = "li", default, skip_serializing_if = "Option::is_none")]
    pub id_token_issued_at: Option<i64>,
}

impl fmt::Debug for SessionData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionData")
            .field("farmer", &self.farmer.sub)
            .field("access_token_expires_at", &self.access_token_expires_at)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("refresh_token_expires_at", &self.refresh_token_expires_at)
            .field("session_expires_at", &self.session_expires_at)
            .finish_non_exhaustive()
    }
}

impl SessionData {
    /// What the browser may see of it: no token.
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            farmer: self.farmer.clone(),
            access_token_expires_at: self.access_token_expires_at,
            refresh_token_expires_at: self.refresh_token_expires_at,
            session_expires_at: self.ends_at(),
            scopes: self.scopes.clone(),
            renewed_at: self.renewed_at,
        }
    }

    /// When the provider authenticated this login: the ID token's `iat`, or for a cookie from
    /// before it was kept, the start of its maximum age (`session_expires_at - max_age`).
    pub fn logged_in_at(&self, max_age: std::time::Duration) -> i64 {
        self.id_token_issued_at
            .unwrap_or_else(|| self.session_expires_at.saturating_sub(max_age.as_secs() as i64))
    }

    /// When the session ends: never later than what the provider granted.
    pub fn ends_at(&self) -> i64 {
        let granted = match &self.refresh_token {
            Some(_) => self.refresh_token_expires_at.unwrap_or(i64::MAX),
            None => self.access_token_expires_at,
        };
        self.session_expires_at.min(granted)
    }

    /// The access token needs renewing: it expires within the skew, where the skew is never
    /// more than a quarter of the token's own lifetime (a 4-second token with a 30-second skew
    /// would otherwise be renewed on every request).
    pub fn needs_renewal(&self, now: i64, skew: std::time::Duration) -> bool {
        self.access_token_expires_at - now
            <= effective_skew(self.access_token_expires_at, self.access_token_issued_at, skew)
    }
}

/// The configured skew, bounded by a quarter of the token's lifetime when that is known.
pub fn effective_skew(expires_at: i64, issued_at: Option<i64>, skew: std::time::Duration) -> i64 {
    let skew = skew.as_secs() as i64;
    match issued_at {
        Some(issued) if expires_at > issued => skew.min((expires_at - issued) / 4),
        _ => skew,
    }
}

/// The session's data: `Ok(None)` when there is no session, `Err(ReauthenticationRequired)`
/// (and the cookie cleared) when there was one and it has ended.
pub async fn load(session: &Session, now: i64, gate: &Gate) -> Result<Option<SessionData>, BffError> {
    let mut data = match session.get::<SessionData>(KEY).await {
        Ok(Some(data)) => data,
        Ok(None) => return Ok(None),
        // A cookie that opens but holds something else (a format from an older release): no
        // session, and the cookie is cleared — not a 500 on every request until it expires.
        Err(tower_sessions::session::Error::SerdeJson(error)) => {
            tracing::warn!(%error, "session cookie of an unknown shape; cleared");
            end(session).await?;
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    if data.session_id.is_empty() {
        // A cookie from before sessions had ids: one derived from what every copy shares.
        data.session_id = legacy_session_id(&data);
    }
    if data.ends_at() <= now {
        tracing::info!(sub = %data.farmer.sub, "session over: its refresh token or maximum age has expired");
        end(session).await?;
        return Err(BffError::ReauthenticationRequired);
    }
    if gate.refuses(&data, now) {
        tracing::info!(sub = %data.farmer.sub, "a copy of a session ended for good: refused");
        end(session).await?;
        return Err(BffError::ReauthenticationRequired);
    }
    if gate.ended_by_provider(&data) {
        tracing::info!(sub = %data.farmer.sub, "a session the provider ended (back-channel logout): refused");
        gate.end_for_good(&data).await;
        end(session).await?;
        return Err(BffError::ReauthenticationRequired);
    }
    Ok(Some(data))
}

/// The id of a session whose cookie predates session ids: the same for every copy of it.
fn legacy_session_id(data: &SessionData) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{}\n{}", data.farmer.sub, data.session_expires_at));
    format!(
        "legacy-{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, digest)
    )
}

/// Starts a new session (a new id: no fixation) holding `data` (see [`save_fitting`]).
pub async fn start(session: &Session, data: &mut SessionData) -> Result<(), BffError> {
    session.cycle_id().await?;
    save_fitting(session, data).await
}

/// [`save`]; when `data` is too large for a browser cookie, again without the ID token (only
/// the logout hint), which gives way first.
pub async fn save_fitting(session: &Session, data: &mut SessionData) -> Result<(), BffError> {
    let mut stored = save(session, data).await;
    if matches!(stored, Err(BffError::SessionTooLarge(_))) && data.id_token.take().is_some() {
        tracing::info!(sub = %data.farmer.sub, "the ID token does not fit in the cookie: logout will go without id_token_hint");
        stored = save(session, data).await;
    }
    stored
}

/// Replaces the session's data and writes the cookie into the response now, whatever the
/// response's status turns out to be. Too large for a browser: [`BffError::SessionTooLarge`],
/// and nothing is written.
pub async fn save(session: &Session, data: &SessionData) -> Result<(), BffError> {
    let expires = OffsetDateTime::from_unix_timestamp(data.ends_at().min(253_402_300_799))
        .map_err(BffError::SessionExpiry)?;
    session.set_expiry(Some(Expiry::AtDateTime(expires)));
    session.insert(KEY, data).await?;
    match session.save().await {
        Ok(()) => Ok(()),
        Err(tower_sessions::session::Error::Store(tower_sessions::session_store::Error::Encode(detail))) => {
            // Keep nothing: the session layer would otherwise retry the save and answer an
            // empty 500.
            session.flush().await?;
            Err(BffError::SessionTooLarge(detail))
        }
        Err(error) => Err(error.into()),
    }
}

/// Ends the session: the cookie is cleared.
pub async fn end(session: &Session) -> Result<(), BffError> {
    session.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookies::{KeyRing, SESSION, attributes};
    use crate::settings::Secret;

    fn now() -> i64 {
        OffsetDateTime::now_utc().unix_timestamp()
    }

    /// A session with a 1 KB access token — the size of real providers' JWTs — fits one cookie.
    #[test]
    fn a_session_with_a_1kb_access_token_fits_in_one_cookie() {
        let data = SessionData {
            farmer: Farmer {
                sub: "f3a4c2e1-8d9b-4c6a-9e2f-0a1b2c3d4e5f".into(),
                name: Some("Ada Henhouse".into()),
                email: Some("ada.henhouse@coop.example".into()),
            },
            access_token: "x".repeat(1024),
            access_token_expires_at: now() + 300,
            access_token_issued_at: Some(now()),
            refresh_token: Some("r".repeat(64)),
            refresh_token_expires_at: Some(now() + 86_400),
            scopes: crate::settings::DEFAULT_SCOPES
                .split(' ')
                .map(str::to_owned)
                .collect(),
            session_expires_at: now() + 7 * 86_400,
            renewed_at: Some(now()),
            id_token: None,
            session_id: "session-id-22-characters".into(),
            provider_sid: Some("x".repeat(43)),
            id_token_issued_at: Some(now()),
        };
        // What tower-sessions-cookie-store writes: its record envelope around our data.
        let mut record_data = std::collections::HashMap::new();
        record_data.insert(KEY.to_owned(), serde_json::to_value(&data).unwrap());
        let record = tower_sessions::session::Record {
            id: tower_sessions::session::Id::default(),
            data: record_data,
            expiry_date: OffsetDateTime::now_utc(),
        };
        let value = tower_sessions_cookie_store::encode_record(&record).unwrap();
        let ring = KeyRing::new(&[Secret::new("bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0")]).unwrap();
        let sealed = ring.seal(attributes(SESSION, value).build());
        let header = sealed.to_string();
        println!("Set-Cookie with a 1024-byte access token: {} bytes", header.len());
        assert!(header.len() < 4096, "{} bytes", header.len());
    }
}
