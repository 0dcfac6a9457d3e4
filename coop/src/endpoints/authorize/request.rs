//! Checking an authorization request: client, redirect URI, response type, PKCE, scope and
//! `prompt` — one set of rules ([`check`]) for the request `/authorize` receives and for the one
//! a client pushes to `POST /par` (RFC 9126 §2.1: "validated … as it would an authorization
//! request"); [`validate`] first finds a pushed request by its `request_uri` (§4).
//!
//! `offline_access` follows OpenID Connect Core §11: it is granted only with `prompt=consent`
//! (the farmer says yes on COOP's consent page) and only to a client allowed it
//! ([`crate::config::ClientPolicy::offline_access`]). Without `prompt=consent` COOP *ignores*
//! it, as §11 says ("… it MUST ignore the offline_access request"): the request goes on
//! without it and the token answer's `scope` shows it was not granted. Asked for with consent
//! by a client not allowed it, the request is refused with `invalid_scope`.

use std::borrow::Cow;

use super::error_redirect;
use crate::config::{Client, ParMode};
use crate::error::PageError;
use crate::params::Params;
use crate::pkce;
use crate::scope::Scopes;
use crate::state::Coop;
use crate::store::pushed;

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
#[derive(Clone)]
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
    /// The digest of the `request_uri` it was pushed under (RFC 9126), if it was: the
    /// authorization response uses it up.
    pub pushed: Option<String>,
}

/// Why an authorization request is refused.
pub enum Refusal<'a> {
    /// The client or its redirect URI is unknown: said to the farmer, never redirected to (an
    /// open redirect).
    Unverified(Cow<'static, str>),
    /// An error for the client (RFC 6749 §4.1.2.1): its code and description, and the request
    /// whose checked redirect URI it goes back to.
    ToClient(Box<AuthorizationRequest<'a>>, &'static str, String),
}

impl Refusal<'_> {
    /// As a page answers it: a page, or the browser sent back to the client with `error`.
    pub fn page(self, coop: &Coop) -> PageError {
        match self {
            Self::Unverified(message) => PageError::BadRequest(message),
            Self::ToClient(request, code, description) => error_redirect(coop, &request, code, &description),
        }
    }
}

/// What a page says about a `request_uri` COOP cannot use (unknown, another client's, expired
/// or used): the farmer can only start again.
const UNKNOWN_REQUEST_URI: &str =
    "This login request is unknown to COOP. Go back to the app and log in again.";
const EXPIRED_REQUEST_URI: &str = "This login request has expired. Go back to the app and log in again.";
const USED_REQUEST_URI: &str = "This login request was already used. Go back to the app and log in again.";

/// The authorization request `params` make: the one pushed under their `request_uri`, if they
/// have one (its other parameters are then ignored, RFC 9126 §4), else `params` themselves —
/// refused when COOP requires pushed requests ([`ParMode::Required`]).
pub fn validate<'a>(coop: &'a Coop, params: &Params) -> Result<AuthorizationRequest<'a>, PageError> {
    let Some(request_uri) = params.get("request_uri") else {
        let request = check(coop, params).map_err(|refusal| refusal.page(coop))?;
        if coop.config.par == ParMode::Required {
            return Err(error_redirect(
                coop,
                &request,
                "invalid_request",
                "this provider requires pushed authorization requests (RFC 9126): push the request first",
            ));
        }
        return Ok(request);
    };
    let (pushed_params, digest) = pushed_request(coop, params, request_uri)?;
    let mut request = check(coop, &pushed_params).map_err(|refusal| refusal.page(coop))?;
    request.pushed = Some(digest);
    Ok(request)
}

/// The parameters pushed under `request_uri` and its digest, when `params`' client pushed them,
/// they have not expired and no authorization response used them yet; opened on the way
/// ([`pushed::open`]).
fn pushed_request(coop: &Coop, params: &Params, request_uri: &str) -> Result<(Params, String), PageError> {
    if !coop.config.par.offered() {
        return Err(PageError::bad_request(
            "COOP does not take request_uri: it offers no pushed authorization requests.",
        ));
    }
    let now = coop.clock.now_ms();
    // Another client's request is as unknown as one never pushed (RFC 9126 §4: "pushed by the
    // client identified by client_id"), and is not opened either: only its own client can start
    // the longer time a request gets once its forms are shown.
    let client_id = params.get("client_id");
    let found = coop.store.transaction(|db| {
        let found =
            pushed::find(db, request_uri)?.filter(|found| client_id == Some(found.client_id.as_str()));
        if let Some(found) = &found
            && found.expires_ms > now
            && !found.used
        {
            pushed::open(db, &found.digest, now)?;
        }
        Ok::<_, PageError>(found)
    })?;
    let found = found.ok_or(PageError::BadRequest(UNKNOWN_REQUEST_URI.into()))?;
    if found.used {
        return Err(PageError::BadRequest(USED_REQUEST_URI.into()));
    }
    if found.expires_ms <= now {
        return Err(PageError::BadRequest(EXPIRED_REQUEST_URI.into()));
    }
    let pushed_params = Params::parse(found.request.as_bytes()).map_err(PageError::bad_request)?;
    Ok((pushed_params, found.digest))
}

/// Checks an authorization request's parameters. Errors about the client or redirect URI are
/// [`Refusal::Unverified`] (redirecting to an unverified URI would be an open redirect); the
/// rest go back to the client (RFC 6749 §4.1.2.1).
pub fn check<'a>(coop: &'a Coop, params: &Params) -> Result<AuthorizationRequest<'a>, Refusal<'a>> {
    let client = params
        .get("client_id")
        .and_then(|id| coop.config.client(id))
        .ok_or(Refusal::Unverified("Unknown client_id.".into()))?;
    let redirect_uri = params
        .get("redirect_uri")
        .filter(|uri| client.redirect_uris.iter().any(|r| r == uri))
        .ok_or(Refusal::Unverified(
            "redirect_uri is missing or not registered for this client.".into(),
        ))?;
    let mut request = AuthorizationRequest {
        client,
        redirect_uri: redirect_uri.to_owned(),
        state: params.get("state").map(str::to_owned),
        scope: Scopes::parse(params.get("scope").unwrap_or_default()),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: params.get("code_challenge").unwrap_or_default().to_owned(),
        prompt: Prompt::default(),
        login_hint: params.get("login_hint").map(str::to_owned),
        pushed: None,
    };
    let refuse = |code: &'static str, description: &str| {
        Err(Refusal::ToClient(
            Box::new(request.clone()),
            code,
            description.to_owned(),
        ))
    };
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
