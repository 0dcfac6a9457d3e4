//! Discovery (OpenID Connect Discovery 1.0) with `openidconnect`'s provider metadata: the
//! provider's endpoints and signing algorithms, and its keys (JWKS).
//!
//! The discovered `issuer` must equal the configured one *exactly* (Discovery §4.3; the crate
//! compares the strings): `TOPCLUCK_ISSUER` is written exactly as the provider's `issuer`,
//! trailing slash included or not.
//!
//! Beyond OpenID Connect Core's fields it reads the revocation, end-session and introspection
//! endpoints, pushed authorization requests (RFC 9126 §5:
//! `pushed_authorization_request_endpoint`, `require_pushed_authorization_requests`) and
//! whether authorization responses carry `iss` (RFC 9207 §3:
//! `authorization_response_iss_parameter_supported`; both flags default to false).

use std::error::Error as _;

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, DiscoveryError, IssuerUrl, JsonWebKeySetUrl, ProviderMetadata,
};
use serde::{Deserialize, Serialize};

use super::client::ProviderError;
use super::http::{StatusAware, Transport};
use super::id_token;

/// The parts of the discovery document the BFF uses.
#[derive(Clone, Debug)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
    /// RFC 7662: where the BFF asks whether one of its own tokens is still active (to settle a
    /// refresh whose answer it did not fully receive).
    pub introspection_endpoint: Option<String>,
    /// `id_token_signing_alg_values_supported`, less the symmetric ones and `none`: an ID
    /// token's algorithm must be one of these.
    pub id_token_algorithms: Vec<CoreJwsSigningAlgorithm>,
    /// RFC 9126: where the BFF pushes its authorization requests (the client secret goes there:
    /// https, or http to this machine).
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 9126 §5: the provider takes no authorization request that was not pushed.
    pub require_pushed_authorization_requests: bool,
    /// RFC 9207 §3: every authorization response carries `iss`; one without is refused.
    pub authorization_response_iss_parameter_supported: bool,
}

/// What the discovery document has beyond OpenID Connect Core's fields.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct Extensions {
    /// RFC 8414 / RFC 7009.
    revocation_endpoint: Option<String>,
    /// OpenID Connect RP-Initiated Logout.
    end_session_endpoint: Option<String>,
    /// RFC 8414 / RFC 7662.
    introspection_endpoint: Option<String>,
    /// RFC 9126 §5.
    pushed_authorization_request_endpoint: Option<String>,
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    /// RFC 9207 §3.
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for Extensions {}

type Discovered = ProviderMetadata<
    Extensions,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Fetches `{issuer}/.well-known/openid-configuration` and the JWKS it names. Fails when the
/// document's `issuer` is not `issuer`, byte for byte.
pub(super) async fn discover(
    http: &StatusAware,
    issuer: &str,
) -> Result<(Metadata, CoreJsonWebKeySet), ProviderError> {
    let issuer_url = IssuerUrl::new(issuer.to_owned())
        .map_err(|e| ProviderError::Rejected(format!("issuer {issuer:?}: {e}")))?;
    let discovered = Discovered::discover_async(issuer_url, http)
        .await
        .map_err(|e| provider_error("discovery", e))?;
    let token_endpoint = discovered
        .token_endpoint()
        .ok_or_else(|| ProviderError::Rejected("discovery: no token_endpoint".into()))?;
    let extensions = discovered.additional_metadata();
    let par_endpoint = match &extensions.pushed_authorization_request_endpoint {
        Some(endpoint) => Some(url::Url::parse(endpoint).map_err(|_| {
            ProviderError::Rejected("discovery: pushed_authorization_request_endpoint is not a URL".into())
        })?),
        None => None,
    };
    // The browser is sent to the first (a `javascript:` or plain-http address would be
    // followed), and the client secret goes to the others.
    let endpoints = [
        (
            "authorization_endpoint",
            Some(discovered.authorization_endpoint().url()),
        ),
        ("token_endpoint", Some(token_endpoint.url())),
        ("pushed_authorization_request_endpoint", par_endpoint.as_ref()),
    ];
    for (name, url) in endpoints {
        if let Some(url) = url
            && !crate::settings::is_tls_or_loopback(url)
        {
            return Err(ProviderError::Rejected(format!(
                "discovery: {name} is not https (or http to this machine)"
            )));
        }
    }
    let metadata = Metadata {
        issuer: discovered.issuer().as_str().to_owned(),
        authorization_endpoint: discovered.authorization_endpoint().as_str().to_owned(),
        token_endpoint: token_endpoint.as_str().to_owned(),
        jwks_uri: discovered.jwks_uri().as_str().to_owned(),
        revocation_endpoint: extensions.revocation_endpoint.clone(),
        end_session_endpoint: extensions.end_session_endpoint.clone(),
        introspection_endpoint: extensions.introspection_endpoint.clone(),
        pushed_authorization_request_endpoint: extensions.pushed_authorization_request_endpoint.clone(),
        require_pushed_authorization_requests: extensions.require_pushed_authorization_requests,
        authorization_response_iss_parameter_supported: extensions
            .authorization_response_iss_parameter_supported,
        id_token_algorithms: discovered
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|alg| id_token::asymmetric(alg))
            .cloned()
            .collect(),
    };
    Ok((metadata, discovered.jwks().clone()))
}

/// Fetches the JWKS at `jwks_uri` (again: the provider may have rotated its keys).
pub(super) async fn fetch_jwks(
    http: &StatusAware,
    jwks_uri: &str,
) -> Result<CoreJsonWebKeySet, ProviderError> {
    let url = JsonWebKeySetUrl::new(jwks_uri.to_owned())
        .map_err(|e| ProviderError::Rejected(format!("jwks_uri {jwks_uri:?}: {e}")))?;
    CoreJsonWebKeySet::fetch_async(&url, http)
        .await
        .map_err(|e| provider_error("JWKS", e))
}

/// Unreachable, 5xx, 429: unavailable (try again later); anything else: the provider's answer
/// does not fit (rejected).
fn provider_error(what: &str, error: DiscoveryError<Transport>) -> ProviderError {
    match error {
        DiscoveryError::Request(transport) => ProviderError::Unavailable(format!("{what}: {transport}")),
        DiscoveryError::Response(status, _, detail) if status.is_server_error() => {
            ProviderError::Unavailable(format!("{what}: {detail}"))
        }
        DiscoveryError::Response(_, _, detail) => ProviderError::Rejected(format!("{what}: {detail}")),
        other => {
            let cause = other.source().map(|s| format!(": {s}")).unwrap_or_default();
            ProviderError::Rejected(format!("{what}: {other}{cause}"))
        }
    }
}
