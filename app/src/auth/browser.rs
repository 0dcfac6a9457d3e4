//! Browser-only login plumbing: the PKCE verifier from the Web Crypto CSPRNG and its challenge
//! from Web Crypto's SHA-256 (the session cookie is `__Host-`, so TopCluck only ever runs in a
//! secure context, where both exist), the login
//! transaction the BFF opens for its challenge (with the BFF's `state` and `nonce`), the pending
//! login in sessionStorage (gloo-storage), and the BFF calls (through [`crate::api`], whose
//! failures are told to the farmer by [`CallError::sentence`]).

use gloo_storage::{SessionStorage, Storage};
use serde::{Deserialize, Serialize};

use super::pkce::base64url;
use super::safe_return_path;
use super::tabs::{TabNews, announce};
use crate::api::{self, CallError};
use crate::wire::{CodeExchange, LoginParameters, LogoutResult, SessionInfo};

const PENDING_KEY: &str = "topcluck.login";
/// What the farmer is told on the next page after logging out (see [`take_notice`]).
const NOTICE_KEY: &str = "topcluck.notice";

/// A login under way: kept in sessionStorage between leaving for the provider and `/callback`.
/// (The nonce stays with the BFF's login transaction: only the BFF checks it.)
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    state: String,
    code_verifier: String,
    redirect_uri: String,
    return_to: String,
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
    start("/bff/login", return_to).await
}

/// Sends the farmer to the provider to allow daily counting (`offline_access`, with the
/// provider's consent page); back on `/callback`, the BFF keeps the grant in its vault.
pub async fn start_counting(return_to: Option<String>) -> Result<(), String> {
    start("/bff/counting/start", return_to).await
}

/// A code + PKCE flow through the transaction `begin` (a BFF path) opens.
async fn start(begin: &str, return_to: Option<String>) -> Result<(), String> {
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
    let parameters: LoginParameters = api::get_with_query(
        begin,
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .await
    .map_err(|error| error.sentence())?;
    let pending = PendingLogin {
        state: parameters.state.clone(),
        code_verifier,
        redirect_uri: parameters.redirect_uri.clone(),
        return_to,
    };
    // The browser's own URL parser and form encoder: no URL code in the WASM.
    let url = web_sys::Url::new(&parameters.authorization_endpoint)
        .map_err(|_| "The login provider's address is invalid.".to_owned())?;
    let query = url.search_params();
    for (name, value) in [
        ("response_type", "code"),
        ("client_id", &parameters.client_id),
        ("redirect_uri", &parameters.redirect_uri),
        ("scope", &parameters.scope),
        ("state", &pending.state),
        ("nonce", &parameters.nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ] {
        query.append(name, value);
    }
    if let Some(prompt) = &parameters.prompt {
        query.append("prompt", prompt);
    }
    SessionStorage::set(PENDING_KEY, &pending)
        .map_err(|_| "This browser does not allow session storage.".to_owned())?;
    location
        .assign(&url.href())
        .map_err(|_| "Could not open the login page.".to_owned())
}

/// At `/callback`: checks the answer and has the BFF redeem the code. `Ok` is the new session
/// and the same-origin path the login started from (the caller goes there without reloading
/// the page); `Err` is a message for the farmer.
pub async fn complete_login() -> Result<(SessionInfo, String), String> {
    let search = window().location().search().unwrap_or_default();
    let query = web_sys::UrlSearchParams::new_with_str(&search)
        .map_err(|_| "The login answer is unreadable.".to_owned())?;
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
    let pending: PendingLogin = SessionStorage::get(PENDING_KEY)
        .map_err(|_| "This login was started in another tab or has expired. Start it again.".to_owned())?;
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
    };
    let answer = api::post::<SessionInfo>("/bff/login", &exchange).await;
    SessionStorage::delete(PENDING_KEY);
    let info = answer.map_err(|error| error.sentence())?;
    announce(TabNews::LoggedIn);
    Ok((info, safe_return_path(&pending.return_to).to_owned()))
}

/// Logs out at the BFF, then follows its redirect (through the provider's end-session
/// endpoint). What the farmer must know about it — access not withdrawn at the provider — is
/// kept for the page the browser comes back to.
pub async fn logout() {
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

/// The notice kept by [`logout`], once.
pub fn take_notice() -> Option<String> {
    let notice = SessionStorage::get::<String>(NOTICE_KEY).ok();
    SessionStorage::delete(NOTICE_KEY);
    notice
}
