//! Sealing TopCluck's cookies: AEAD (AES-256-GCM, the `cookie` crate's private jar, with the
//! cookie's name as associated data) under a key ring. The value is `<key id>.<sealed>`: the
//! first key seals, any key opens, so keys rotate without logging everyone out. A cookie that
//! does not open — tampered, truncated, unknown key — reads as no cookie.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use tower_cookies::Cookies;
use tower_cookies::cookie::{Cookie, CookieJar, Key};
use tower_sessions_cookie_store::CookieController;

use crate::settings::Secret;

/// A key that can seal and open cookies, with its id.
#[derive(Clone)]
struct RingKey {
    id: String,
    key: Key,
}

/// The cookie key ring.
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish()
    }
}

/// A configured key that is not base64 of at least 32 bytes.
#[derive(Debug, thiserror::Error)]
#[error("cookie key {position} is not base64 of at least 32 bytes")]
pub struct BadKey {
    pub position: usize,
}

impl KeyRing {
    /// Each secret is base64 (standard or URL-safe) of 32 or more bytes; the first 32 bytes are
    /// expanded (HKDF) into the cookie crate's signing and encryption keys.
    pub fn new(secrets: &[Secret]) -> Result<Self, BadKey> {
        let keys = secrets
            .iter()
            .enumerate()
            .map(|(i, secret)| {
                let raw = secret.expose().trim();
                let bytes = URL_SAFE_NO_PAD
                    .decode(raw.trim_end_matches('='))
                    .or_else(|_| STANDARD.decode(raw))
                    .ok()
                    .filter(|b| b.len() >= 32)
                    .ok_or(BadKey { position: i + 1 })?;
                let id = hex_prefix(&Sha256::digest(&bytes[..32]));
                Ok(RingKey {
                    id,
                    key: Key::derive_from(&bytes[..32]),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(BadKey { position: 1 });
        }
        Ok(Self { keys })
    }

    /// Seals `cookie`'s value with the first key.
    pub fn seal(&self, cookie: Cookie<'static>) -> Cookie<'static> {
        let ring_key = &self.keys[0];
        let name = cookie.name().to_owned();
        let mut jar = CookieJar::new();
        jar.private_mut(&ring_key.key).add(cookie);
        let mut sealed = jar.get(&name).expect("the cookie just added").clone();
        sealed.set_value(format!("{}.{}", ring_key.id, sealed.value()));
        sealed
    }

    /// Opens a sealed cookie; `None` if no key of the ring opens it.
    pub fn open(&self, cookie: &Cookie<'_>) -> Option<Cookie<'static>> {
        let (id, sealed) = cookie.value().split_once('.')?;
        let ring_key = self.keys.iter().find(|k| k.id == id)?;
        let mut jar = CookieJar::new();
        jar.add_original(Cookie::new(cookie.name().to_owned(), sealed.to_owned()));
        jar.private(&ring_key.key).get(cookie.name())
    }
}

fn hex_prefix(digest: &[u8]) -> String {
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

impl CookieController for KeyRing {
    fn get(&self, cookies: &Cookies, name: &str) -> Option<Cookie<'static>> {
        cookies.get(name).and_then(|cookie| self.open(&cookie))
    }

    fn add(&self, cookies: &Cookies, cookie: Cookie<'static>) {
        cookies.add(self.seal(cookie));
    }

    /// Browsers ignore any `Set-Cookie` for a `__Host-` cookie — a removal included — that
    /// lacks `Secure` and `Path=/`, and the jar's removal cookie keeps neither: set them here.
    fn remove(&self, cookies: &Cookies, mut cookie: Cookie<'static>) {
        cookie.set_secure(true);
        cookie.set_http_only(true);
        cookie.set_path("/");
        cookies.remove(cookie);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(secrets: &[&str]) -> KeyRing {
        KeyRing::new(&secrets.iter().map(|s| Secret::new(*s)).collect::<Vec<_>>()).unwrap()
    }

    const OLD: &str = "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0";
    const NEW: &str = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0";

    #[test]
    fn the_first_key_seals_and_every_key_opens() {
        let old_ring = ring(&[OLD]);
        let rotated = ring(&[NEW, OLD]);
        let sealed_by_old = old_ring.seal(Cookie::new("__Host-s", "farm"));
        assert_ne!(sealed_by_old.value(), "farm");
        assert_eq!(rotated.open(&sealed_by_old).unwrap().value(), "farm");
        let sealed_by_new = rotated.seal(Cookie::new("__Host-s", "farm"));
        assert!(
            old_ring.open(&sealed_by_new).is_none(),
            "a retired ring must not open new cookies"
        );
        assert_eq!(ring(&[NEW]).open(&sealed_by_new).unwrap().value(), "farm");
    }

    #[test]
    fn tampered_truncated_renamed_or_foreign_cookies_do_not_open() {
        let ring = ring(&[NEW]);
        let sealed = ring.seal(Cookie::new("__Host-s", "farm"));
        let value = sealed.value().to_owned();
        let mut flipped = value.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        for bad in [
            String::from_utf8(flipped).unwrap(),
            value[..value.len() / 2].to_owned(),
            value.replacen('.', "", 1),
            format!("ffffffff.{}", value.split_once('.').unwrap().1),
            String::new(),
        ] {
            assert!(
                ring.open(&Cookie::new("__Host-s", bad.clone())).is_none(),
                "{bad}"
            );
        }
        assert!(
            ring.open(&Cookie::new("__Host-other", value)).is_none(),
            "bound to its name"
        );
    }

    #[test]
    fn keys_must_be_base64_of_32_bytes() {
        assert!(KeyRing::new(&[Secret::new("short")]).is_err());
        assert!(KeyRing::new(&[]).is_err());
        assert!(KeyRing::new(&[Secret::new(STANDARD.encode([7u8; 48]))]).is_ok());
    }
}
