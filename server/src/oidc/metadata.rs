//! Discovery (OpenID Connect Discovery 1.0): the provider's endpoints, fetched once and cached.

use serde::Deserialize;

/// The parts of the discovery document the BFF uses.
#[derive(Clone, Debug, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
}
