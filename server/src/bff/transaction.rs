//! Login transactions: what binds a code redemption to the browser that started the login.
//!
//! `GET /bff/login` opens one: the BFF picks the `state` and the `nonce`, records them with the
//! SPA's PKCE challenge and the scopes asked for, and seals the record into a short-lived,
//! HttpOnly `__Host-` cookie that script cannot read ([`crate::cookies::LOGIN`]). `POST /bff/login` must find the open
//! transaction of the `state` it brings — in that cookie, so on the same browser — before the
//! provider is called; the transaction is then used up, whatever the outcome. A code fetched
//! by injected script and carried to another machine meets no transaction there; on a machine
//! that opened its own, the ID token's `nonce` (chosen by the BFF, per transaction) differs.
//!
//! A few transactions may be open at once (logins started in several tabs); the oldest gives
//! way past [`MAX_OPEN`]. A cookie can be sent again (a double submit, a replayed request), so
//! the [`Ledger`] also remembers the states used in this process until they would have expired:
//! a used transaction never reaches the provider twice (a replayed code would make the provider
//! revoke the farmer's new grant, RFC 6749 §4.1.2).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::cookies::{LOGIN, SealedCookies};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a farmer has at the provider before the login must be started again.
pub const LIFETIME_SECONDS: i64 = 600;
pub const MAX_OPEN: usize = 3;
/// Used states remembered at most (about 60 MB); the expired ones are forgotten first.
const MAX_SPENT: usize = 1_000_000;

/// One login under way. Field names are short: they travel in a cookie.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    #[serde(rename = "s")]
    pub state: String,
    #[serde(rename = "n")]
    pub nonce: String,
    /// The SPA's PKCE challenge (S256).
    #[serde(rename = "c")]
    pub challenge: String,
    /// The scopes asked for: a grant with more than these is refused.
    #[serde(rename = "sc")]
    pub scopes: Vec<String>,
    #[serde(rename = "e")]
    pub expires_at: i64,
    /// What the code is for: a session, or the daily job's offline grant.
    #[serde(rename = "p", default)]
    pub purpose: Purpose,
}

/// What a login transaction's code is redeemed for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A session (the cookie).
    #[default]
    Login,
    /// Daily counting: an `offline_access` grant for the vault, never the cookie.
    Counting,
}

impl Transaction {
    /// Whether `verifier` is the one the challenge was made from (RFC 7636 S256).
    pub fn verifies(&self, verifier: &str) -> bool {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == self.challenge
    }
}

/// A well-formed S256 challenge: base64url of 32 bytes.
pub fn is_challenge(value: &str) -> bool {
    value.len() == 43 && URL_SAFE_NO_PAD.decode(value).is_ok_and(|bytes| bytes.len() == 32)
}

/// A well-formed PKCE verifier (RFC 7636 §4.1): 43 to 128 unreserved characters.
pub fn is_verifier(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `n` random bytes, base64url.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the operating system's random numbers");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The states used in this process.
#[derive(Clone, Default)]
pub struct Ledger {
    /// SHA-256 of a used state → when its transaction would have expired.
    spent: Arc<Mutex<HashMap<[u8; 32], i64>>>,
}

impl Ledger {
    /// The transactions this browser has open (expired, used, unreadable: none).
    pub fn open(&self, cookies: &SealedCookies, now: i64) -> Vec<Transaction> {
        let Some(value) = cookies.read(LOGIN) else {
            return Vec::new();
        };
        let mut open: Vec<Transaction> = serde_json::from_str(&value).unwrap_or_default();
        let spent = self.spent.lock().expect("not poisoned");
        open.retain(|t| t.expires_at > now && !spent.contains_key(&digest(&t.state)));
        open
    }

    /// Writes `open` plus `new` (the oldest dropped past [`MAX_OPEN`]) into the cookie.
    pub fn with(&self, cookies: &SealedCookies, mut open: Vec<Transaction>, new: Transaction, now: i64) {
        open.push(new);
        let excess = open.len().saturating_sub(MAX_OPEN);
        open.drain(..excess);
        write_cookie(cookies, &open, now);
    }

    /// Takes the transaction of `state` out of `open` and marks it used; returns it (if there
    /// was one) and writes the rest into the cookie.
    pub fn take(
        &self,
        cookies: &SealedCookies,
        mut open: Vec<Transaction>,
        state: &str,
        now: i64,
    ) -> Option<Transaction> {
        let taken = open.iter().position(|t| t.state == state).map(|i| open.remove(i));
        // Checked and marked under one lock: two requests racing with one cookie cannot both
        // have it. When the ledger is full of unexpired states, nothing more is taken (a login
        // refused beats a code redeemed twice).
        let taken = taken.filter(|taken| {
            let mut spent = self.spent.lock().expect("not poisoned");
            if spent.len() >= MAX_SPENT {
                spent.retain(|_, &mut expires_at| expires_at > now);
            }
            if spent.len() >= MAX_SPENT {
                tracing::error!("login transactions: {MAX_SPENT} used in ten minutes; refusing more");
                return false;
            }
            spent.insert(digest(&taken.state), taken.expires_at).is_none()
        });
        write_cookie(cookies, &open, now);
        taken
    }
}

fn digest(state: &str) -> [u8; 32] {
    Sha256::digest(state.as_bytes()).into()
}

/// The open transactions, sealed until the newest expires; none: the cookie cleared.
fn write_cookie(cookies: &SealedCookies, open: &[Transaction], now: i64) {
    if open.is_empty() {
        cookies.clear(LOGIN);
    } else {
        let max_age = open.iter().map(|t| t.expires_at - now).max().unwrap_or(0);
        cookies.write(
            LOGIN,
            &serde_json::to_string(open).expect("transactions serialize"),
            max_age,
        );
    }
}

#[cfg(test)]
mod tests {
    use tower_cookies::Cookies;
    use tower_cookies::cookie::Cookie;

    use super::*;
    use crate::cookies::KeyRing;
    use crate::settings::Secret;

    fn keys(secret: &str) -> KeyRing {
        KeyRing::new(&[Secret::new(secret)]).unwrap()
    }

    fn transaction(state: &str, expires_at: i64) -> Transaction {
        Transaction {
            state: state.into(),
            nonce: format!("nonce-{state}"),
            challenge: URL_SAFE_NO_PAD.encode(Sha256::digest(b"verifier")),
            scopes: vec!["openid".into()],
            expires_at,
            purpose: Purpose::Login,
        }
    }

    /// The `Set-Cookie` line `write` leaves in a response's jar.
    fn set_cookie(keys: &KeyRing, write: impl FnOnce(&SealedCookies)) -> String {
        let response = SealedCookies::new(Cookies::default(), keys.clone());
        write(&response);
        response.jar().get(LOGIN).expect("the cookie written").to_string()
    }

    /// A request carrying the cookie of `set_cookie` (and another).
    fn request_with(keys: &KeyRing, set_cookie: &str) -> SealedCookies {
        let cookies = Cookies::default();
        cookies.add(Cookie::new("other", "1"));
        cookies.add(Cookie::parse(set_cookie.split(';').next().unwrap().to_owned()).unwrap());
        SealedCookies::new(cookies, keys.clone())
    }

    const KEY: &str = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0";

    #[test]
    fn round_trips_sealed_keeps_the_newest_and_is_used_once() {
        let (keys, ledger) = (keys(KEY), Ledger::default());
        let mut cookie = set_cookie(&keys, |jar| {
            ledger.with(jar, Vec::new(), transaction("a", 1_000), 0)
        });
        assert!(!cookie.contains("nonce-a"), "sealed");
        for state in ["b", "c", "d"] {
            let open = ledger.open(&request_with(&keys, &cookie), 0);
            cookie = set_cookie(&keys, |jar| ledger.with(jar, open, transaction(state, 1_000), 0));
        }
        let open_now = ledger.open(&request_with(&keys, &cookie), 0);
        let states: Vec<&str> = open_now.iter().map(|t| t.state.as_str()).collect();
        assert_eq!(states, ["b", "c", "d"]);

        let mut taken = None;
        let rest = set_cookie(&keys, |jar| taken = ledger.take(jar, open_now, "c", 0));
        assert_eq!(taken.unwrap().nonce, "nonce-c");
        let request = request_with(&keys, &rest);
        let again = ledger.take(&request, ledger.open(&request, 0), "c", 0);
        assert!(again.is_none(), "a transaction is used once");
        let request = request_with(&keys, &cookie);
        let replayed = ledger.take(&request, ledger.open(&request, 0), "c", 0);
        assert!(replayed.is_none(), "even when the old cookie is sent again");
    }

    #[test]
    fn expired_foreign_or_tampered_cookies_open_nothing() {
        let (keys, ledger) = (keys(KEY), Ledger::default());
        let cookie = set_cookie(&keys, |jar| {
            ledger.with(jar, Vec::new(), transaction("a", 100), 0)
        });
        assert!(
            ledger.open(&request_with(&keys, &cookie), 100).is_empty(),
            "expired"
        );
        let other = super::tests::keys("b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0");
        assert!(
            ledger.open(&request_with(&other, &cookie), 0).is_empty(),
            "another key"
        );
        let tampered = cookie.replacen('.', ".x", 1);
        assert!(
            ledger.open(&request_with(&keys, &tampered), 0).is_empty(),
            "tampered"
        );
    }

    #[test]
    fn checks_the_pkce_verifier_and_challenge_shape() {
        let t = transaction("a", 1);
        assert!(t.verifies("verifier"));
        assert!(!t.verifies("verifier2"));
        assert!(is_challenge(&t.challenge));
        assert!(!is_challenge("short"));
        assert!(!is_challenge(&"A".repeat(44)));
    }
}
