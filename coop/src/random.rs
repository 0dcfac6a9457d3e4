//! Unguessable values from the operating system's CSPRNG, and their digests for storage.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// 256 random bits, base64url without padding (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
}

/// The SHA-256 digest of `value`, base64url: what the store keeps instead of a token.
#[cfg(feature = "provider")]
pub fn digest(value: &str) -> String {
    use sha2::{Digest, Sha256};
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}
