//! How big a session may be. Browsers drop a `Set-Cookie` larger than 4,096 bytes (RFC 6265
//! §6.1's minimum, and what Chromium and Firefox enforce) without a word, so the session
//! layer must refuse any record whose *sealed* cookie line would exceed that.
//!
//! tower-sessions-cookie-store checks its `max_cookie_bytes` against the record before it is
//! sealed; sealing adds a key id, a nonce and a tag and base64-encodes the lot (about a third
//! more), and the line carries the name and attributes. [`max_record_bytes`] measures that
//! overhead by sealing a probe with the real key ring and attributes, and returns the largest
//! record whose line still fits.

use super::sealing::KeyRing;
use super::{SESSION, attributes};

/// The largest `Set-Cookie` value (name, value and attributes) a browser keeps.
pub const BROWSER_COOKIE_LIMIT: usize = 4096;

/// The `Set-Cookie` line the session layer would send for a record of `record_bytes` bytes,
/// with the widest attributes it ever writes.
pub fn sealed_line(keys: &KeyRing, record_bytes: usize) -> String {
    let cookie = attributes(SESSION, "x".repeat(record_bytes))
        // Ten digits: longer than any Max-Age a session gets.
        .max_age(time::Duration::seconds(9_999_999_999))
        .build();
    keys.seal(cookie).to_string()
}

/// The largest record (before sealing) whose sealed `Set-Cookie` fits [`BROWSER_COOKIE_LIMIT`].
pub fn max_record_bytes(keys: &KeyRing) -> usize {
    // Sealed length grows by 4 characters per 3 bytes; search down from the unsealed limit.
    let mut n = BROWSER_COOKIE_LIMIT;
    while n > 0 && sealed_line(keys, n).len() > BROWSER_COOKIE_LIMIT {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Secret;

    #[test]
    fn the_largest_record_seals_into_a_cookie_a_browser_keeps_and_one_more_byte_does_not() {
        let keys = KeyRing::new(&[Secret::new("bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0")]).unwrap();
        let max = max_record_bytes(&keys);
        let at = sealed_line(&keys, max).len();
        let above = sealed_line(&keys, max + 1).len();
        println!(
            "largest record {max} bytes -> Set-Cookie {at} bytes; {} bytes -> {above}",
            max + 1
        );
        assert!(at <= BROWSER_COOKIE_LIMIT, "{at}");
        assert!(above > BROWSER_COOKIE_LIMIT, "{above}");
        // Sealing costs about a third: the unsealed limit the crate defaults to is far too high.
        assert!(max < 3100, "{max}");
    }
}
