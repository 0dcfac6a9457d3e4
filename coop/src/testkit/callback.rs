//! The SPA's browser between `GET /bff/login` and `/callback`: it follows the authorize URL
//! the BFF answered ([`authorize_url`]: for a pushed request only `client_id` and
//! `request_uri`, RFC 9126 §4), walks COOP's forms ([`sign_in`]) and lands on the callback
//! ([`Callback`]: its `code` or `error`, `state` and `iss`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::browser::{browser, sign_in};

/// The value of `name` in `url`'s query, if it has one.
pub fn query_value(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The authorize URL `GET /bff/login` answered (`parameters`), which the SPA sends the browser
/// to: for a pushed request `client_id` and `request_uri` only (RFC 9126 §4), otherwise the
/// whole request.
pub fn authorize_url(parameters: &Value) -> String {
    parameters["authorize_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no authorize_url: {parameters}"))
        .to_owned()
}

/// `url` with its `nonce` replaced by `nonce` (a request the browser carries: not pushed).
pub(super) fn with_nonce(url: &str, nonce: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(
        pairs.iter().any(|(name, _)| name == "nonce"),
        "the BFF pushed this request (PAR): a test cannot send COOP another nonce; use a COOP with ParMode::Off"
    );
    url.query_pairs_mut().clear().extend_pairs(
        pairs
            .iter()
            .map(|(name, value)| (name.as_str(), if name == "nonce" { nonce } else { value })),
    );
    url.into()
}

/// Where COOP sent the browser back to, and the authorize URL it was sent to.
pub struct Callback {
    pub authorize_url: String,
    pub query: BTreeMap<String, String>,
}

impl Callback {
    /// The code (panics on an error response).
    pub fn code(&self) -> String {
        self.query
            .get("code")
            .unwrap_or_else(|| panic!("no code: {:?}", self.query))
            .clone()
    }
}

/// A farmer at the provider's authorize endpoint (`url`, for the transaction of `state`),
/// through COOP's login form and, when asked, its consent page (allowed), in a fresh browser:
/// where COOP sent the browser back.
pub async fn coop_login(url: &str, state: &str, farmer: &str) -> Callback {
    coop_login_in(&browser(), url, state, farmer).await
}

/// [`coop_login`] in `browser`, which keeps its COOP session (a later login there is silent,
/// a logout there ends it).
pub async fn coop_login_in(browser: &reqwest::Client, url: &str, state: &str, farmer: &str) -> Callback {
    let location = sign_in(browser, url, farmer, true).await;
    let query: BTreeMap<String, String> = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(query["state"], state);
    Callback {
        authorize_url: url.to_owned(),
        query,
    }
}
