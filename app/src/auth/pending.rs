//! The server build's stand-in for `browser`: the same calls, which never finish (and no notice
//! kept by a logout). The server renders the buttons and the callback page, but only the browser
//! runs what they start: Leptos's `LocalResource` stays pending on the server, and no `Action` is
//! dispatched there.

use std::future::pending;

use crate::wire::SessionInfo;

/// How `/callback` ended (see the browser's `Completed`); never made here.
#[allow(dead_code, reason = "only the browser build completes a login")]
pub enum Completed {
    LoggedIn(SessionInfo, String),
    LoggedOut(String),
}

pub async fn start_login(_return_to: Option<String>) -> Result<(), String> {
    pending().await
}

pub async fn start_counting(_return_to: Option<String>) -> Result<(), String> {
    pending().await
}

pub async fn complete_login() -> Result<Completed, String> {
    pending().await
}

pub async fn logout() {
    pending().await
}

pub fn take_notice() -> Option<String> {
    None
}
