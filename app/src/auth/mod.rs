//! Logging in and out, from the browser's side. The SPA makes the PKCE verifier, has the BFF
//! open a login transaction for its challenge (the BFF picks state and nonce), sends the farmer
//! to the provider, and hands the code to the BFF at `/callback`; it never sees a token. The
//! session state is rendered on the server (no flash of "logged out") and refetched in the
//! browser. When the session ends while the page is open, the page tries once to log the
//! farmer back in without a page (`prompt=none`, `silent`).

#[cfg(feature = "hydrate")]
mod browser;
mod callback;
mod controls;
#[cfg(not(feature = "hydrate"))]
mod pending;
mod pkce;
#[cfg(not(feature = "hydrate"))]
use pending as browser;
mod session;
#[cfg(feature = "hydrate")]
mod silent;
#[cfg(feature = "hydrate")]
mod tabs;
#[cfg(feature = "hydrate")]
mod wake;

pub use callback::CallbackPage;
pub use controls::{LoginButton, LogoutButton, LogoutNotice, TurnOnCountingButton};
pub use session::{Asked, CurrentSession, Session, SessionState, provide_session};

/// Only same-origin relative paths may be returned to after login; anything else goes home.
pub fn safe_return_path(path: &str) -> &str {
    let same_origin = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.contains(['\r', '\n', '\t'])
        && !path.starts_with("/callback");
    if same_origin { path } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::safe_return_path;

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(safe_return_path("/eggs?day=1"), "/eggs?day=1");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "eggs",
            "/callback?code=x",
        ] {
            assert_eq!(safe_return_path(bad), "/", "{bad}");
        }
    }
}
