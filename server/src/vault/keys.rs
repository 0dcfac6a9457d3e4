//! The vault's key ring: AES-256-GCM keys with ids (`TOPCLUCK_VAULT_KEYS` =
//! `id:base64key,id:base64key`, 32 bytes each). The first key seals; every key opens, so a new
//! key can be put first, [`crate::vault::Vault::reencrypt_all`] run, and the old one dropped.
//!
//! A sealed token is the key's id (kept in its own column) and `nonce (12 random bytes) ||
//! ciphertext || tag`. The associated data is the owner (issuer, subject, client id), so a
//! sealed token copied to another farmer's row does not open.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::Owner;

const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;
/// Prefixed to the associated data: a format version, and no other use of these keys can
/// produce a ciphertext that opens here.
const AAD_CONTEXT: &[u8] = b"topcluck vault v1";

/// The vault's keys, newest (sealing) first. Cheap to clone; `Debug` shows only the ids.
#[derive(Clone)]
pub struct KeyRing {
    keys: Arc<[(String, Aes256Gcm)]>,
}

/// A refresh token sealed for its owner.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    /// `nonce || ciphertext || tag`.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Why a sealed token did not open.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    /// No key of the ring has this id (it was dropped before the row was re-encrypted).
    UnknownKey(String),
    /// The key is known but the bytes do not open for this owner: tampered, truncated, or
    /// sealed for another farmer.
    Unreadable,
}

/// A `TOPCLUCK_VAULT_KEYS` value that is not a key ring. Never contains a key — nor an id: an
/// entry written the wrong way round (`<key>:id`) would make its key the id, so entries are
/// named by their position in the list.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyRingError(String);

impl KeyRing {
    /// Parses `id:base64key` entries separated by commas or spaces. A key is 32 bytes in
    /// base64, standard or URL-safe, padded or not; an id is 1-64 of `A-Z a-z 0-9 . _ -`.
    pub fn parse(value: &str) -> Result<Self, KeyRingError> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        let entries = value.split([',', ' ', '\n', '\t']).filter(|e| !e.is_empty());
        for (position, entry) in (1..).zip(entries) {
            let problem = |text: String| KeyRingError(format!("entry {position} of the list: {text}"));
            let Some((id, key)) = entry.split_once(':') else {
                return Err(problem("no key id: write id:base64key".into()));
            };
            let id_ok = (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if !id_ok {
                return Err(problem(
                    "its key id must be 1-64 characters of A-Z a-z 0-9 . _ - (write id:base64key)".into(),
                ));
            }
            if let Some(first) = keys.iter().position(|(existing, _)| existing == id) {
                return Err(problem(format!("its key id is also entry {}'s", first + 1)));
            }
            let normalized = key.trim_end_matches('=').replace('+', "-").replace('/', "_");
            let bytes = URL_SAFE_NO_PAD
                .decode(normalized)
                .map_err(|_| problem("its key is not base64 (write id:base64key)".into()))?;
            if bytes.len() != KEY_LEN {
                return Err(problem(format!(
                    "its key is {} bytes, not {KEY_LEN} (write id:base64key)",
                    bytes.len()
                )));
            }
            let cipher = Aes256Gcm::new_from_slice(&bytes).expect("32 bytes is an AES-256 key");
            keys.push((id.to_owned(), cipher));
        }
        if keys.is_empty() {
            return Err(KeyRingError(
                "no key: write one or more id:base64key (32 bytes each), the first seals".into(),
            ));
        }
        Ok(Self { keys: keys.into() })
    }

    /// The id of the key that seals.
    pub fn sealing_key_id(&self) -> &str {
        &self.keys[0].0
    }

    /// The ids, sealing key first.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(id, _)| id.as_str())
    }

    /// Seals `token` for `owner` under the newest key, with a fresh random nonce.
    pub fn seal(&self, owner: &Owner, token: &str) -> Sealed {
        self.seal_bound(AAD_CONTEXT, &owner_fields(owner), token.as_bytes())
    }

    /// Opens a token sealed for `owner` under `key_id`.
    pub fn open(&self, owner: &Owner, key_id: &str, bytes: &[u8]) -> Result<String, OpenError> {
        let plaintext = self.open_bound(AAD_CONTEXT, &owner_fields(owner), key_id, bytes)?;
        String::from_utf8(plaintext).map_err(|_| OpenError::Unreadable)
    }

    /// Seals `plaintext` bound to `context` (what it is, with a format version) and `fields`
    /// (whose it is): it opens only with the same context and fields.
    pub fn seal_bound(&self, context: &[u8], fields: &[&[u8]], plaintext: &[u8]) -> Sealed {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system's random source failed");
        let aad = associated_data(context, fields);
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("AES-GCM seals any message of this size");
        let mut bytes = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&ciphertext);
        Sealed {
            key_id: id.clone(),
            bytes,
        }
    }

    /// Opens what [`KeyRing::seal_bound`] sealed with this `context` and these `fields`.
    pub fn open_bound(
        &self,
        context: &[u8],
        fields: &[&[u8]],
        key_id: &str,
        bytes: &[u8],
    ) -> Result<Vec<u8>, OpenError> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| id == key_id)
            .ok_or_else(|| OpenError::UnknownKey(key_id.to_owned()))?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError::Unreadable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let aad = associated_data(context, fields);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Unreadable)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("key_ids", &self.key_ids().collect::<Vec<_>>())
            .finish()
    }
}

/// The SHA-256 of a refresh token: what the compare-and-swap compares, so no plaintext token
/// is ever in SQL.
pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn owner_fields(owner: &Owner) -> [&[u8]; 3] {
    [
        owner.issuer.as_bytes(),
        owner.subject.as_bytes(),
        owner.client_id.as_bytes(),
    ]
}

/// The context and the fields, unambiguously: each field length-prefixed, so ("ab", "c") and
/// ("a", "bc") differ.
fn associated_data(context: &[u8], fields: &[&[u8]]) -> Vec<u8> {
    let mut aad = context.to_vec();
    for field in fields {
        aad.extend_from_slice(&(field.len() as u64).to_be_bytes());
        aad.extend_from_slice(field);
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "a2V5LWEta2V5LWEta2V5LWEta2V5LWEta2V5LWEtLS0";
    const B: &str = "a2V5LWIta2V5LWIta2V5LWIta2V5LWIta2V5LWItLS0";

    fn owner(subject: &str) -> Owner {
        Owner {
            issuer: "https://coop.example".into(),
            subject: subject.into(),
            client_id: "topcluck".into(),
        }
    }

    #[test]
    fn the_first_key_seals_every_key_opens_and_the_owner_is_bound() {
        let old = KeyRing::parse(&format!("old:{A}")).unwrap();
        let ring = KeyRing::parse(&format!("new:{B}, old:{A}")).unwrap();
        let sealed_old = old.seal(&owner("alice"), "rt-1");
        assert_eq!(
            ring.open(&owner("alice"), "old", &sealed_old.bytes).unwrap(),
            "rt-1"
        );
        let sealed = ring.seal(&owner("alice"), "rt-2");
        assert_eq!(sealed.key_id, "new");
        assert_eq!(ring.open(&owner("alice"), "new", &sealed.bytes).unwrap(), "rt-2");
        assert_eq!(
            old.open(&owner("alice"), "new", &sealed.bytes),
            Err(OpenError::UnknownKey("new".into()))
        );
        assert_eq!(
            ring.open(&owner("bob"), "new", &sealed.bytes),
            Err(OpenError::Unreadable)
        );
        // Same token, same key: a new nonce each time.
        assert_ne!(ring.seal(&owner("alice"), "rt-2").bytes, sealed.bytes);
    }

    #[test]
    fn length_prefixes_keep_owners_apart() {
        let ab_c = Owner {
            issuer: "ab".into(),
            subject: "c".into(),
            client_id: "x".into(),
        };
        let a_bc = Owner {
            issuer: "a".into(),
            subject: "bc".into(),
            client_id: "x".into(),
        };
        assert_ne!(
            associated_data(AAD_CONTEXT, &owner_fields(&ab_c)),
            associated_data(AAD_CONTEXT, &owner_fields(&a_bc))
        );
    }

    #[test]
    fn debug_shows_ids_only() {
        let ring = KeyRing::parse(&format!("k1:{A}")).unwrap();
        let sealed = ring.seal(&owner("alice"), "rt-secret");
        let debug = format!("{ring:?} {sealed:?}");
        assert!(debug.contains("k1"), "{debug}");
        assert!(!debug.contains(A) && !debug.contains("rt-secret"), "{debug}");
    }

    /// Every problem names its entry by position, never by its text: an entry written the wrong
    /// way round (`<key>:id`) would otherwise print the key as its "id".
    #[test]
    fn problems_name_entries_by_position_and_never_quote_them() {
        let reversed = format!("{A}:prod");
        let half = &A[..20];
        for (value, entry) in [
            (reversed.clone(), "entry 1 "),
            (format!("k1:{B},{reversed}"), "entry 2 "),
            (format!("k1:{B} k2:{A}={half}"), "entry 2 "),
            (format!("k1:{B},{half}"), "entry 2 "),
            (format!("{A}-{B}:{A}"), "entry 1 "),
            (format!("{A}:{B},{A}:{B}"), "entry 2 "),
            (format!("k1:{A},k1:{B}"), "entry 2 "),
            (format!("k1:{half}"), "entry 1 "),
        ] {
            let error = KeyRing::parse(&value).map(|_| ()).unwrap_err().to_string();
            assert!(error.contains(entry), "{value}: {error}");
            for secret in [A, B, half, "prod"] {
                assert!(!error.contains(secret), "{value}: {error}");
            }
        }
    }
}
