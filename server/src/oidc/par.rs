//! Pushed authorization requests (RFC 9126): the BFF posts the authorization request to the
//! provider's `pushed_authorization_request_endpoint` as the confidential client it is at the
//! token endpoint (§2: `client_secret_basic`), and the browser carries only the `request_uri`
//! it gets back (§4). Scope, nonce, PKCE challenge and prompt never pass through the browser's
//! address bar, and the provider knows the request came from TopCluck before the farmer sees a
//! page.
//!
//! The `oauth2` crate does not do PAR: this is one `reqwest` call on the provider's client
//! (its timeouts, no redirects). Its failures are [`ProviderError`]s like the token
//! endpoint's: unreachable, timing out or 5xx → unavailable (a push changes nothing at the
//! provider that a retry could harm); the provider's OAuth error (§2.3) → it refused this
//! client's request (configuration); anything else → an unreadable answer. No secret and no
//! parameter value is repeated in them.

use serde::Deserialize;

use super::client::{Provider, ProviderError, error_code};

/// What the provider answered a push with (§2.2).
#[derive(Clone, Debug, Deserialize)]
pub struct Pushed {
    /// The reference the authorize URL carries, with `client_id`.
    pub request_uri: String,
    /// Its lifetime, in seconds.
    pub expires_in: u64,
}

impl Provider {
    /// Pushes the authorization request `parameters` (§2.1: those of an authorization request,
    /// `client_id` included) to `endpoint`.
    pub async fn push_authorization_request(
        &self,
        endpoint: &str,
        parameters: &[(&str, &str)],
    ) -> Result<Pushed, ProviderError> {
        let url = url::Url::parse(endpoint)
            .ok()
            .filter(crate::settings::is_tls_or_loopback)
            .ok_or_else(|| {
                ProviderError::Rejected("pushed_authorization_request_endpoint is not https".into())
            })?;
        let (status, body) = self
            .authenticated_post(url, parameters)
            .await
            .map_err(|e| ProviderError::Unavailable(format!("pushed authorization request: {e}")))?;
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(ProviderError::Unavailable(format!(
                "pushed authorization request: HTTP {status}"
            )));
        }
        if status.is_success() {
            return serde_json::from_slice::<Pushed>(&body)
                .ok()
                .filter(|pushed| !pushed.request_uri.is_empty())
                .ok_or_else(|| {
                    ProviderError::BadAnswer(format!(
                        "pushed authorization request: HTTP {status} without a request_uri"
                    ))
                });
        }
        // §2.3: the error response of RFC 6749 §5.2.
        #[derive(Deserialize)]
        struct OAuthErrorBody {
            error: String,
        }
        match serde_json::from_slice::<OAuthErrorBody>(&body) {
            Ok(body) => Err(ProviderError::Misconfigured {
                code: format!("pushed authorization request: {}", error_code(&body.error)),
            }),
            Err(_) => Err(ProviderError::BadAnswer(format!(
                "pushed authorization request: HTTP {status}"
            ))),
        }
    }
}
