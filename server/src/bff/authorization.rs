//! The authorization request a login sends the farmer to the provider with, and the check of
//! the provider's answer that comes before any code is redeemed.
//!
//! **The request.** When the provider's discovery names a `pushed_authorization_request_endpoint`
//! (RFC 9126 §5), the BFF pushes the whole request there as the confidential client — response
//! type, client id, redirect URI, scope, the transaction's `state` and `nonce`, the SPA's PKCE
//! challenge, `prompt` — and the SPA is given only what the authorize URL carries (`client_id`
//! and the `request_uri`, §4) and the `state` it checks at `/callback`. Without the endpoint the
//! SPA gets the parameters to send itself — unless pushing is required, by
//! `TOPCLUCK_PAR_REQUIRED` or by the provider's `require_pushed_authorization_requests`: then the
//! login is refused ([`BffError::ParNotOffered`]), never downgraded to a plain request.
//!
//! **The response.** RFC 9207 §2.4: when discovery says the provider sends `iss`
//! (`authorization_response_iss_parameter_supported`), a response without it, or with another
//! issuer, is refused; an `iss` present is compared all the same. A response from another
//! issuer is how a mix-up attack (§1) hands this client a code meant for another provider.

use app::wire::LoginParameters;

use super::refusal::LoginRefusal;
use super::transaction::Transaction;
use crate::error::BffError;
use crate::oidc::{Metadata, Provider};
use crate::state::AppState;

/// What the SPA needs to send the farmer to `provider` for the transaction `opened`, asking for
/// `prompt` (`none` for a silent login, `consent` for daily counting): the pushed request's
/// reference, or the parameters themselves.
pub(crate) async fn request(
    state: &AppState,
    provider: &Provider,
    opened: &Transaction,
    prompt: Option<&'static str>,
) -> Result<LoginParameters, BffError> {
    let metadata = provider.metadata().await?;
    let redirect_uri = state.settings.redirect_uri.as_str();
    let scope = opened.scopes.join(" ");
    let mut parameters = LoginParameters {
        authorization_endpoint: metadata.authorization_endpoint.clone(),
        client_id: provider.client_id().to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state: opened.state.clone(),
        request_uri: None,
        scope: None,
        nonce: None,
        prompt: None,
    };
    let Some(endpoint) = &metadata.pushed_authorization_request_endpoint else {
        if state.settings.par_required {
            return Err(BffError::ParNotOffered {
                demanded_by: "TOPCLUCK_PAR_REQUIRED",
            });
        }
        if metadata.require_pushed_authorization_requests {
            return Err(BffError::ParNotOffered {
                demanded_by: "the provider's own require_pushed_authorization_requests",
            });
        }
        parameters.scope = Some(scope);
        parameters.nonce = Some(opened.nonce.clone());
        parameters.prompt = prompt.map(str::to_owned);
        return Ok(parameters);
    };
    let mut pushed = vec![
        ("response_type", "code"),
        ("client_id", provider.client_id()),
        ("redirect_uri", redirect_uri),
        ("scope", &scope),
        ("state", &opened.state),
        ("nonce", &opened.nonce),
        ("code_challenge", &opened.challenge),
        ("code_challenge_method", "S256"),
    ];
    pushed.extend(prompt.map(|prompt| ("prompt", prompt)));
    let answer = provider.push_authorization_request(endpoint, &pushed).await?;
    parameters.request_uri = Some(answer.request_uri);
    Ok(parameters)
}

/// RFC 9207 §2.4: the authorization response's `iss`, if any, against the provider's issuer
/// (discovery's, which is the configured one byte for byte).
pub(crate) fn check_issuer(metadata: &Metadata, iss: Option<&str>) -> Result<(), LoginRefusal> {
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
