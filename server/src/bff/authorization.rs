//! The authorization request a login sends the farmer to the provider with, and the check of
//! the provider's answer that comes before any code is redeemed.
//!
//! **The request.** When the provider's discovery names a `pushed_authorization_request_endpoint`
//! (RFC 9126 §5), the BFF pushes the whole request there as the confidential client — response
//! type, client id, redirect URI, scope, the transaction's `state` and `nonce`, the SPA's PKCE
//! challenge, `prompt` — and the authorize URL the SPA is given carries only `client_id` and the
//! `request_uri` (§4). Without the endpoint the URL carries the whole request — unless pushing
//! is required, by `TOPCLUCK_PAR_REQUIRED` or by the provider's
//! `require_pushed_authorization_requests`: then the login is refused
//! ([`BffError::ParNotOffered`]), never downgraded to a plain request. The BFF builds the URL
//! either way (with the SPA's challenge from `GET /bff/login`), so the browser's WASM carries no
//! URL code and needs not know whether the request was pushed.
//!
//! **The response.** RFC 9207 §2.4: when discovery says the provider sends `iss`
//! (`authorization_response_iss_parameter_supported`), a response without it, or with another
//! issuer, is refused; an `iss` present is compared all the same. A response from another
//! issuer is how a mix-up attack (§1) hands this client a code meant for another provider.

use app::wire::LoginParameters;

use super::refusal::LoginRefusal;
use super::transaction::Transaction;
use crate::error::BffError;
use crate::oidc::{Metadata, Provider, ProviderError};
use crate::state::AppState;

/// What the SPA needs to send the farmer to `provider` for the transaction `opened`, asking for
/// `prompt` (`none` for a silent login, `consent` for daily counting): the authorize URL — with
/// the pushed request's `client_id` and `request_uri` only, or with the whole request — and
/// what the SPA keeps for `/callback`.
pub(crate) async fn request(
    state: &AppState,
    provider: &Provider,
    opened: &Transaction,
    prompt: Option<&'static str>,
) -> Result<LoginParameters, BffError> {
    let metadata = provider.metadata().await?;
    let redirect_uri = state.settings.redirect_uri.as_str();
    let scope = opened.scopes.join(" ");
    let mut request = vec![
        ("response_type", "code"),
        ("client_id", provider.client_id()),
        ("redirect_uri", redirect_uri),
        ("scope", &scope),
        ("state", &opened.state),
        ("nonce", &opened.nonce),
        ("code_challenge", &opened.challenge),
        ("code_challenge_method", "S256"),
    ];
    request.extend(prompt.map(|prompt| ("prompt", prompt)));
    // RFC 6749 §3.1: a query the endpoint has is kept, the request's parameters are added.
    let mut url = url::Url::parse(&metadata.authorization_endpoint)
        .map_err(|_| ProviderError::Rejected("discovery: bad authorization_endpoint".into()))?;
    match &metadata.pushed_authorization_request_endpoint {
        Some(endpoint) => {
            let pushed = provider.push_authorization_request(endpoint, &request).await?;
            url.query_pairs_mut()
                .append_pair("client_id", provider.client_id())
                .append_pair("request_uri", &pushed.request_uri);
        }
        None if state.settings.par_required => {
            return Err(BffError::ParNotOffered {
                demanded_by: "TOPCLUCK_PAR_REQUIRED",
            });
        }
        None if metadata.require_pushed_authorization_requests => {
            return Err(BffError::ParNotOffered {
                demanded_by: "the provider's own require_pushed_authorization_requests",
            });
        }
        None => {
            url.query_pairs_mut().extend_pairs(&request);
        }
    }
    Ok(LoginParameters {
        authorize_url: url.into(),
        redirect_uri: redirect_uri.to_owned(),
        state: opened.state.clone(),
    })
}

/// RFC 9207 §2.4: the authorization response's `iss`, if any, against the provider's issuer
/// (discovery's, which is the configured one byte for byte).
pub fn check_issuer(metadata: &Metadata, iss: Option<&str>) -> Result<(), LoginRefusal> {
    match iss {
        Some(iss) if iss == metadata.issuer => Ok(()),
        Some(_) => Err(LoginRefusal::IssuerMismatch),
        None if metadata.authorization_response_iss_parameter_supported => Err(LoginRefusal::IssuerMissing),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(sends_iss: bool) -> Metadata {
        Metadata {
            issuer: "https://id.example".into(),
            authorization_endpoint: "https://id.example/authorize".into(),
            token_endpoint: "https://id.example/token".into(),
            jwks_uri: "https://id.example/jwks".into(),
            revocation_endpoint: None,
            end_session_endpoint: None,
            introspection_endpoint: None,
            id_token_algorithms: Vec::new(),
            pushed_authorization_request_endpoint: None,
            require_pushed_authorization_requests: false,
            authorization_response_iss_parameter_supported: sends_iss,
        }
    }

    #[test]
    fn an_iss_must_be_the_issuer_and_must_be_there_when_the_provider_sends_it() {
        for (sends_iss, iss, accepted) in [
            (true, Some("https://id.example"), true),
            (true, Some("https://id.example/"), false),
            (true, Some("https://evil.example"), false),
            (true, None, false),
            (false, None, true),
            (false, Some("https://id.example"), true),
            (false, Some("https://evil.example"), false),
        ] {
            assert_eq!(
                check_issuer(&metadata(sends_iss), iss).is_ok(),
                accepted,
                "sends iss: {sends_iss}, iss {iss:?}"
            );
        }
    }
}
