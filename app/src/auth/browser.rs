//! Browser-only login plumbing: the PKCE verifier from the Web Crypto CSPRNG and its challenge
//! from Web Crypto's SHA-256 (the session cookie is `__Host-`, so TopCluck only ever runs in a
//! secure context, where both exist), the login
//! transaction the BFF opens for its challenge (with the BFF's `state` and `nonce`), the pending
//! login in sessionStorage (gloo-storage), and the BFF calls (through [`crate::api`], whose
//! failures are told to the farmer by [`CallError::sentence`]). The BFF builds the authorize
//! URL (no URL code in the WASM): when it pushed the authorization request (RFC 9126), that URL
//! carries `client_id` and `request_uri` only. A silent login (`prompt=none`, [`super::silent`]) that comes back without a session
//! ends on the logged-out page with a notice, not an error.

use gloo_storage::{SessionStorage, Storage};
use serde::{Deserialize, Serialize};

use super::pkce::base64url;
use super::safe_return_path;
use super::silent;
use super::tabs::{TabNews, announce};
use crate::api::{self, CallError};
use crate::wire::{CodeExchange, LoginParameters, LogoutResult, SessionInfo};

const PENDING_KEY: &str = "topcluck.login";
/// What the farmer is told on the next page after logging out, or after a silent login found
/// no session (see [`take_notice`]).
const NOTICE_KEY: &str = "topcluck.notice";
/// What a silent login that found no session at the provider leaves on the logged-out page.
const SESSION_ENDED: &str = "Your session ended. Log in to continue.";

/// A login under way: kept in sessionStorage between leaving for the provider and `/callback`.
/// (The nonce stays with the BFF's login transaction: only the BFF checks it.)
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    state: String,
    code_verifier: String,
    redirect_uri: String,
    return_to: String,
    /// A silent login (`prompt=none`).
    #[serde(default)]
    silent: bool,
}

/// How `/callback` ended without an error for the farmer.
pub enum Completed {
    /// Logged in: the new session, and the same-origin path to go back to.
    LoggedIn(SessionInfo, String),
    /// A silent login found no session at the provider: the path to go back to, logged out
    /// (with the notice).
    LoggedOut(String),
}

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

/// `n` bytes from the browser's CSPRNG, base64url.
fn random(n: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; n];
    window()
        .crypto()
        .and_then(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).map(|_| ()))
        .map_err(|_| "This browser cannot make secure random numbers.".to_owned())?;
    Ok(base64url(&bytes))
}

/// The SHA-256 of `text`, from the browser's Web Crypto.
async fn sha256(text: &str) -> Result<Vec<u8>, String> {
    let unable = |_| "This browser cannot compute the login's challenge.".to_owned();
    let digest = window()
        .crypto()
        .map_err(unable)?
        .subtle()
        .digest_with_str_and_u8_array("SHA-256", text.as_bytes())
        .map_err(unable)?;
    let digest = wasm_bindgen_futures::JsFuture::from(digest)
        .await
        .map_err(unable)?;
    Ok(js_sys::Uint8Array::new(&digest).to_vec())
}

/// Sends the farmer to the provider's authorize endpoint.
pub async fn start_login(return_to: Option<String>) -> Result<(), String> {
    start("/bff/login", return_to, false).await
}

/// Sends the browser to the provider with `prompt=none`, back to this page: a silent login
/// ([`super::silent`], which the caller has claimed).
pub async fn start_silent_login() -> Result<(), String> {
    start("/bff/login", None, true).await
}

/// Sends the farmer to the provider to allow daily counting (`offline_access`, with the
/// provider's consent page); back on `/callback`, the BFF keeps the grant in its vault.
pub async fn start_counting(return_to: Option<String>) -> Result<(), String> {
    start("/bff/counting/start", return_to, false).await
}

/// A code + PKCE flow through the transaction `begin` (a BFF path) opens.
async fn start(begin: &str, return_to: Option<String>, silent: bool) -> Result<(), String> {
    let location = window().location();
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    let return_to = safe_return_path(return_to.as_deref().unwrap_or(&here)).to_owned();

    let code_verifier = random(32)?;
    let challenge = base64url(&sha256(&code_verifier).await?);
    // Opens the login transaction in this browser (an HttpOnly cookie) for this challenge.
    let mut asked = vec![
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if silent {
        asked.push(("prompt", "none"));
    }
    let parameters: LoginParameters = api::get_with_query(begin, &asked)
        .await
        .map_err(|error| error.sentence())?;
    let pending = PendingLogin {
        state: parameters.state.clone(),
        code_verifier,
        redirect_uri: parameters.redirect_uri.clone(),
        return_to,
        silent,
    };
    SessionStorage::set(PENDING_KEY, &pending)
        .map_err(|_| "This browser does not allow session storage.".to_owned())?;
    if silent {
        silent::started(&pending.state);
    }
    location
        .assign(&parameters.authorize_url)
        .map_err(|_| "Could not open the login page.".to_owned())
}

/// At `/callback`: checks the answer and has the BFF redeem the code. `Ok` is the new session
/// and the same-origin path the login started from (the caller goes there without reloading
/// the page), or — for a silent login the provider answered `login_required`,
/// `consent_required` or `interaction_required` — that path logged out, with a notice; `Err` is
/// a message for the farmer.
pub async fn complete_login() -> Result<Completed, String> {
    let search = window().location().search().unwrap_or_default();
    let query = web_sys::UrlSearchParams::new_with_str(&search)
        .map_err(|_| "The login answer is unreadable.".to_owned())?;
    let pending = SessionStorage::get::<PendingLogin>(PENDING_KEY).ok();
    let state = query.get("state").unwrap_or_default();
    // Also after a reload of the callback, when the pending login is gone.
    let silent = pending
        .as_ref()
        .map_or_else(|| silent::is_the_try(&state), |p| p.silent);
    let return_to = pending
        .as_ref()
        .map_or("/", |p| safe_return_path(&p.return_to))
        .to_owned();
    match redeem(&query, pending).await {
        Ok(info) => {
            if !silent {
                silent::reset();
            }
            announce(TabNews::LoggedIn);
            Ok(Completed::LoggedIn(info, return_to))
        }
        // No second try either way; only "the provider has no session for you" (OpenID
        // Connect Core §3.1.2.6) is the quiet logged-out page: anything else is said.
        Err(message) if silent => {
            silent::failed(&state);
            let quiet = query.get("error").is_some_and(|error| {
                matches!(
                    error.as_str(),
                    "login_required" | "consent_required" | "interaction_required"
                )
            });
            if !quiet {
                return Err(message);
            }
            let _ = SessionStorage::set(NOTICE_KEY, SESSION_ENDED);
            Ok(Completed::LoggedOut(return_to))
        }
        Err(message) => Err(message),
    }
}

/// The provider's answer in `query`, for the login `pending`: the session the BFF made of its
/// code (with the answer's `state` and `iss`), or what went wrong.
async fn redeem(
    query: &web_sys::UrlSearchParams,
    pending: Option<PendingLogin>,
) -> Result<SessionInfo, String> {
    if let Some(error) = query.get("error") {
        SessionStorage::delete(PENDING_KEY);
        let detail = query
            .get("error_description")
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Err(match error.as_str() {
            "access_denied" => format!("You did not allow TopCluck to log you in{detail}."),
            "login_required" => "COOP asks you to log in first.".to_owned(),
            _ => format!("COOP refused the login ({error}{detail})."),
        });
    }
    let pending = pending
        .ok_or_else(|| "This login was started in another tab or has expired. Start it again.".to_owned())?;
    if query.get("state").as_deref() != Some(pending.state.as_str()) {
        SessionStorage::delete(PENDING_KEY);
        return Err(
            "The answer from COOP does not belong to the login started here. Start it again.".to_owned(),
        );
    }
    let code = query
        .get("code")
        .ok_or_else(|| "COOP sent no authorization code.".to_owned())?;
    let exchange = CodeExchange {
        code,
        code_verifier: pending.code_verifier,
        state: pending.state,
        redirect_uri: pending.redirect_uri,
        iss: query.get("iss"),
    };
    let answer = api::post::<SessionInfo>("/bff/login", &exchange).await;
    SessionStorage::delete(PENDING_KEY);
    answer.map_err(|error| error.sentence())
}

/// Logs out at the BFF, then follows its redirect (through the provider's end-session
/// endpoint). What the farmer must know about it — access not withdrawn at the provider — is
/// kept for the page the browser comes back to.
pub async fn logout() {
    // First: whatever becomes of the answer, no tab signs the farmer back in silently.
    silent::logged_out();
    let redirect = match api::post_empty::<LogoutResult>("/bff/logout").await {
        Ok(result) => {
            announce(TabNews::LoggedOut);
            if let Some(notice) = result.revocation.notice() {
                let _ = SessionStorage::set(NOTICE_KEY, notice);
            }
            result.redirect_to
        }
        Err(error) => {
            announce(TabNews::Unsure);
            let notice = match error {
                // Never reached: nothing was done.
                CallError::NoAnswer { timed_out: false } | CallError::NotSent => error.sentence(),
                _ => format!("Logging out may not have completed: {}", error.sentence()),
            };
            let _ = SessionStorage::set(NOTICE_KEY, notice);
            "/".to_owned()
        }
    };
    let _ = window().location().assign(&redirect);
}

/// The notice kept by [`logout`] or by a silent login that found no session, once.
pub fn take_notice() -> Option<String> {
    let notice = SessionStorage::get::<String>(NOTICE_KEY).ok();
    SessionStorage::delete(NOTICE_KEY);
    notice
}
