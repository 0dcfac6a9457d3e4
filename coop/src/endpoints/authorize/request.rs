//! Checking an authorization request: client, redirect URI, response type, PKCE, scope and
//! `prompt`.
//!
//! `offline_access` follows OpenID Connect Core §11: it is granted only with `prompt=consent`
//! (the farmer says yes on COOP's consent page) and only to a client allowed it
//! ([`crate::config::ClientPolicy::offline_access`]). Without `prompt=consent` COOP *ignores*
//! it, as §11 says ("… it MUST ignore the offline_access request"): the request goes on
//! without it and the token answer's `scope` shows it was not granted. Asked for with consent
//! by a client not allowed it, the request is refused with `invalid_scope`.

use super::error_redirect;
use crate::config::Client;
use crate::error::PageError;
use crate::params::Params;
use crate::pkce;
use crate::scope::Scopes;
use crate::state::Coop;

/// What `prompt` asks for (a space-separated set; `select_account` is accepted and means
/// nothing, COOP has one account per browser).
#[derive(Clone, Copy, Debug, Default)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    fn parse(value: &str) -> Result<Self, &'static str> {
        let mut prompt = Self::default();
        for part in value.split(' ').filter(|p| !p.is_empty()) {
            match part {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => return Err("prompt must be none, login, consent or select_account"),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err("prompt=none cannot be combined with other values");
        }
        Ok(prompt)
    }
}

/// A valid authorization request.
pub struct AuthorizationRequest<'a> {
    pub client: &'a Client,
    pub redirect_uri: String,
    pub state: Option<String>,
    /// What will be granted: the scope asked for, without an ignored `offline_access`.
    pub scope: Scopes,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub prompt: Prompt,
    pub login_hint: Option<String>,
}

/// Checks an authorization request. Errors about the client or redirect URI are shown to the
/// farmer (redirecting to an unverified URI would be an open redirect); the rest go back to
/// the client (RFC 6749 §4.1.2.1).
pub fn validate<'a>(coop: &'a Coop, params: &Params) -> Result<AuthorizationRequest<'a>, PageError> {
    let client = params
        .get("client_id")
        .and_then(|id| coop.config.client(id))
        .ok_or_else(|| PageError::bad_request("Unknown client_id."))?;
    let redirect_uri = params
        .get("redirect_uri")
        .filter(|uri| client.redirect_uris.iter().any(|r| r == uri))
        .ok_or_else(|| {
            PageError::bad_request("redirect_uri is missing or not registered for this client.")
        })?;
    let mut request = AuthorizationRequest {
        client,
        redirect_uri: redirect_uri.to_owned(),
        state: params.get("state").map(str::to_owned),
        scope: Scopes::parse(params.get("scope").unwrap_or_default()),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: params.get("code_challenge").unwrap_or_default().to_owned(),
        prompt: Prompt::default(),
        login_hint: params.get("login_hint").map(str::to_owned),
    };
    let refuse =
        |code: &'static str, description: &str| Err(error_redirect(coop, &request, code, description));
    if params.get("response_type") != Some("code") {
        return refuse(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    if request.code_challenge.is_empty() {
        return refuse(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        );
    }
    if params.get("code_challenge_method") != Some("S256") {
        return refuse("invalid_request", "code_challenge_method must be S256");
    }
    if !pkce::is_s256_challenge(&request.code_challenge) {
        return refuse(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 digest",
        );
    }
    if request.scope.is_empty() {
        return refuse("invalid_scope", "scope is required");
    }
    let unsupported = request.scope.unsupported();
    if !unsupported.is_empty() {
        return refuse(
            "invalid_scope",
            &format!("unknown scope: {}", unsupported.join(" ")),
        );
    }
    let prompt = match Prompt::parse(params.get("prompt").unwrap_or_default()) {
        Ok(prompt) => prompt,
        Err(problem) => return refuse("invalid_request", problem),
    };
    let mut scope = None;
    if request.scope.contains("offline_access") {
        if !prompt.consent {
            let without = request.scope.without("offline_access");
            if without.is_empty() {
                return refuse(
                    "invalid_scope",
                    "offline_access is ignored without prompt=consent, and nothing else was asked for",
                );
            }
            tracing::info!(client_id = %client.id, "offline_access ignored: no prompt=consent (OIDC Core §11)");
            scope = Some(without);
        } else if !coop.config.allows_offline_access(&client.id) {
            return refuse("invalid_scope", "this client may not ask for offline_access");
        }
    }
    if let Some(scope) = scope {
        request.scope = scope;
    }
    request.prompt = prompt;
    Ok(request)
}
