//! The `id_token_hint` of a logout request: an ID token COOP signed. Its `exp` is not checked
//! (OpenID Connect RP-Initiated Logout 1.0 §2: the OP accepts an expired one; it is a hint of
//! who is logging out, not a credential), but signature, `typ`, `iss` and the presence of `aud`
//! and `sub` are.

use serde::Deserialize;

use crate::state::Coop;

/// Who an ID token was issued to, and for which farmer.
#[derive(Debug, Deserialize)]
pub struct IdTokenHint {
    /// The client (COOP's ID tokens have a single audience).
    pub aud: String,
    pub sub: String,
}

/// The hint's claims, when it is an ID token COOP issued; `None` otherwise.
pub fn verify(coop: &Coop, token: &str) -> Option<IdTokenHint> {
    coop.keys.verify_ignoring_expiry(token, "JWT", &coop.issuer)
}
