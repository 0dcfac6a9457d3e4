//! OpenID Connect Back-Channel Logout 1.0, COOP's side: when a farmer's COOP session ends
//! (RP-initiated logout at `/end-session`) or an administrator revokes the farmer's grants
//! (`POST /dev/grants/revoke`), COOP posts a signed logout token (§2.4) to the
//! `backchannel_logout_uri` of every client concerned that registered one ([`settings`]).
//!
//! - Which clients: those with a grant made in that COOP session (end-session), or with a grant
//!   of the farmer's that was just revoked (grant revocation).
//! - The token: `typ` `logout+jwt`, `iss`, `aud` (the client), `iat`, `exp` ([`LIFETIME`] later:
//!   §4 recommends two minutes at most), a fresh `jti`, `events` with the back-channel logout
//!   member (`{}`), `sub`, and for an end-session `sid` ([`session_id`], the same value the ID
//!   tokens of that session carry: `backchannel_logout_session_required`). Grant revocation is
//!   not a session's end: its token has `sub` alone, so the client ends every session of the
//!   farmer. Never a `nonce` (§2.4).
//! - The request (§2.5): a form POST of `logout_token`, no redirects followed, at most
//!   [`DELIVERY_TIMEOUT`]. Best effort: awaited before COOP answers the request that caused it
//!   (so a test sees the outcome when its request returns), never retried, and its outcome —
//!   the client's status, `unreachable` or `timeout` — counted per client in `/dev/counters`
//!   (`backchannel_logouts`).
//! - COOP also revokes grants itself — a refresh token reused, an authorization code replayed,
//!   an RFC 7009 revocation that cascades to the grant: once that transaction has committed, the
//!   client of the grant gets a `sub`-only logout token too ([`after_revocation`]; grants do not
//!   record their COOP session, so no `sid`). Sent in the background: the token endpoint's
//!   answer does not wait for the client's.

pub mod settings;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::random::random_token;
use crate::state::Coop;
use crate::store::{Store, StoreError, settings as stored};

/// The event a logout token carries (§2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// A logout token's `typ` (§2.4).
pub const TYP: &str = "logout+jwt";
/// How long a logout token is valid after it was issued.
pub const LIFETIME: Duration = Duration::from_secs(120);
/// How long COOP waits for a client to answer a logout token.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the key of [`session_id`] is kept in the store.
const SID_KEY: &str = "sid_key";

/// One logout token to send: to `client_id`, about farmer `sub` (and COOP session `sid`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub client_id: String,
    pub sub: String,
    pub sid: Option<String>,
}

#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    events: Value,
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
}

/// The key [`session_id`] is computed with: random, made on first start, kept in the store.
pub fn load_sid_key(store: &Store) -> Result<String, StoreError> {
    store.transaction(|db| match stored::get(db, SID_KEY)? {
        Some(key) => Ok(key),
        None => {
            let key = random_token();
            stored::set(db, SID_KEY, &key)?;
            Ok(key)
        }
    })
}

/// The `sid` of the COOP session whose cookie has the digest `session_digest`: a keyed digest,
/// so it names the session without being (or leading to) its cookie.
pub fn session_id(coop: &Coop, session_digest: &str) -> String {
    let digest = Sha256::digest(format!("{}\n{session_digest}", coop.sid_key));
    URL_SAFE_NO_PAD.encode(&digest[..18])
}

/// The notices for `clients` (each once) that registered a back-channel logout URI.
pub fn notices(coop: &Coop, clients: &[String], sub: &str, sid: Option<&str>) -> Vec<Notice> {
    let mut notices: Vec<Notice> = clients
        .iter()
        .filter(|client| coop.config.backchannel_logout_uris.contains_key(*client))
        .map(|client| Notice {
            client_id: client.clone(),
            sub: sub.to_owned(),
            sid: sid.map(str::to_owned),
        })
        .collect();
    notices.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    notices.dedup();
    notices
}

/// The logout token of `notice`, signed with COOP's key, issued now on COOP's clock.
pub fn logout_token(coop: &Coop, notice: &Notice) -> String {
    let now = coop.clock.now_ms().div_euclid(1000);
    let claims = LogoutClaims {
        iss: &coop.issuer,
        aud: &notice.client_id,
        iat: now,
        exp: now + LIFETIME.as_secs() as i64,
        jti: random_token(),
        events: json!({ EVENT: {} }),
        sub: &notice.sub,
        sid: notice.sid.as_deref(),
    };
    coop.keys.sign(TYP, &claims)
}

/// Sends each notice's logout token to its client, one after the other, and counts the outcomes.
pub async fn deliver(coop: &Coop, notices: Vec<Notice>) {
    for notice in notices {
        let Some(uri) = coop.config.backchannel_logout_uris.get(&notice.client_id) else {
            continue;
        };
        let token = logout_token(coop, &notice);
        let sent = coop
            .http
            .post(uri)
            .form(&[("logout_token", token.as_str())])
            .timeout(DELIVERY_TIMEOUT)
            .send()
            .await;
        let outcome = match &sent {
            Ok(response) => response.status().as_u16().to_string(),
            Err(error) if error.is_timeout() => "timeout".to_owned(),
            Err(_) => "unreachable".to_owned(),
        };
        tracing::info!(client_id = %notice.client_id, sub = %notice.sub, with_sid = notice.sid.is_some(), %outcome, "back-channel logout token sent");
        coop.counters.backchannel_logout(&notice.client_id, &outcome);
    }
}

/// A grant COOP revoked on its own, remembered in the transaction that revoked it.
#[derive(Clone, Debug)]
pub struct Revoked {
    pub client_id: String,
    pub sub: String,
}

/// Once the transaction that revoked `revoked` has committed: its client's logout token, if
/// it registered a back-channel logout URI, sent in the background.
pub fn after_revocation(coop: &crate::state::SharedCoop, revoked: Option<Revoked>) {
    let Some(revoked) = revoked else {
        return;
    };
    let notices = notices(coop, &[revoked.client_id], &revoked.sub, None);
    if notices.is_empty() {
        return;
    }
    let coop = coop.clone();
    tokio::spawn(async move { deliver(&coop, notices).await });
}

/// An HTTP client for deliveries: no redirects (§2.5 gives none to follow), no cookies.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(DELIVERY_TIMEOUT)
        .build()
        .expect("a reqwest client")
}
