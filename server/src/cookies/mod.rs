//! Every cookie TopCluck sets, in one place: its name, its attributes and its sealing.
//!
//! | cookie | holds | lifetime | written by |
//! | --- | --- | --- | --- |
//! | [`SESSION`] `__Host-topcluck` | the session: tokens, the farmer's claims (`crate::session::SessionData`) | the session's end (`Max-Age`) | the session layer ([`session_layer`]) |
//! | [`LOGIN`] `__Host-topcluck-login` | the open login transactions (`crate::bff::transaction`) | the newest transaction's end (10 minutes) | [`SealedCookies`] |
//! | [`LOGOUT_HINT`] `__Host-topcluck-logout` | "a logout is under way", with the ID token as its hint (`crate::bff::logout`) | a minute | [`SealedCookies`] |
//!
//! All three have the same attributes ([`attributes`]): the `__Host-` prefix (so browsers insist
//! on `Secure`, `Path=/` and no `Domain`), `Secure`, `HttpOnly` (script can neither read nor
//! forge them), `SameSite=Strict` (no request another site starts carries them; see
//! `crate::session` for what that costs). All three are sealed by one key ring ([`KeyRing`]:
//! AES-256-GCM with the cookie's name as associated data, the first key seals, every key opens)
//! and read and written through tower-cookies' [`Cookies`] jar, with the key ring as its
//! [`CookieController`](tower_sessions_cookie_store::CookieController). A cookie that does not
//! open reads as none. A session cookie never exceeds what browsers keep ([`budget`]).

pub mod budget;
pub mod sealing;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use tower_cookies::Cookies;
use tower_cookies::cookie::{Cookie, CookieBuilder, SameSite};
use tower_sessions::Expiry;
use tower_sessions_cookie_store::{CookieController, CookieSessionConfig, CookieSessionManagerLayer};

use crate::error::BffError;
pub use sealing::{BadKey, KeyRing};

/// The session cookie.
pub const SESSION: &str = "__Host-topcluck";
/// The login transactions' cookie.
pub const LOGIN: &str = "__Host-topcluck-login";
/// The logout-under-way cookie.
pub const LOGOUT_HINT: &str = "__Host-topcluck-logout";

/// The attributes every TopCluck cookie has (see the module's documentation).
pub fn attributes(name: &'static str, value: String) -> CookieBuilder<'static> {
    Cookie::build((name, value))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
}

/// The tower layer that reads and writes the sealed session cookie ([`SESSION`]), and puts the
/// request's [`Cookies`] jar in its extensions (where [`SealedCookies`] finds it).
pub fn session_layer(keys: KeyRing) -> CookieSessionManagerLayer<KeyRing> {
    let config = CookieSessionConfig::default()
        .with_name(SESSION)
        .with_http_only(true)
        .with_secure(true)
        .with_same_site(tower_sessions_cookie_store::SameSite::Strict)
        .with_path("/")
        .with_clear_on_decode_error(true)
        // Makes every cookie carry Max-Age: the record's expiry, which `crate::session::save`
        // sets to the session's end. (The layer would pass it on only when it saves; `save`
        // writes first.)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(7)))
        .with_max_cookie_bytes(budget::max_record_bytes(&keys));
    // The layer is built private and then given our key ring as its controller (the crate has
    // no constructor that takes a controller); the throwaway key is never used.
    CookieSessionManagerLayer::private(tower_sessions_cookie_store::Key::generate())
        .with_controller(keys)
        .with_config(config)
}

/// The request's cookie jar with the key ring: TopCluck's short-lived sealed cookies besides
/// the session ([`LOGIN`], [`LOGOUT_HINT`]). What is written here reaches the response whatever
/// its status. An extractor: needs [`session_layer`] (the jar) and the key ring as an
/// `Extension`.
///
/// Reading looks at **every** copy of a name the request carries, the first that opens winning:
/// the jar keeps only the last copy, so a request with a copy that does not open after one that
/// does would otherwise read nothing. The request's `Cookie` headers are kept for that.
#[derive(Clone)]
pub struct SealedCookies {
    cookies: Cookies,
    keys: KeyRing,
    /// The request's `Cookie` header values, as sent.
    request: Arc<[String]>,
}

impl SealedCookies {
    /// Over a jar alone: reads find what the jar holds.
    pub fn new(cookies: Cookies, keys: KeyRing) -> Self {
        Self::with_request(cookies, keys, Vec::new())
    }

    /// Over a request's jar and its `Cookie` header values.
    pub fn with_request(cookies: Cookies, keys: KeyRing, cookie_headers: Vec<String>) -> Self {
        Self {
            cookies,
            keys,
            request: cookie_headers.into(),
        }
    }

    /// The opened value of the cookie `name`: the first copy in the request that a key of the
    /// ring opens (copies that do not open are skipped), else the jar's.
    pub fn read(&self, name: &str) -> Option<String> {
        self.request
            .iter()
            .flat_map(|header| Cookie::split_parse(header.as_str()))
            .filter_map(Result::ok)
            .filter(|cookie| cookie.name() == name)
            .find_map(|cookie| self.keys.open(&cookie))
            .or_else(|| self.keys.get(&self.cookies, name))
            .map(|cookie| cookie.value().to_owned())
    }

    /// Stores `value` sealed in the cookie `name` for `max_age_seconds`.
    pub fn write(&self, name: &'static str, value: &str, max_age_seconds: i64) {
        let cookie = attributes(name, value.to_owned())
            .max_age(time::Duration::seconds(max_age_seconds.max(0)))
            .build();
        self.keys.add(&self.cookies, cookie);
    }

    /// Clears the cookie `name`: an empty value with `Max-Age=0` and every attribute (browsers
    /// ignore a `__Host-` removal without `Secure` and `Path=/`), sent whether or not the
    /// request had the cookie.
    pub fn clear(&self, name: &'static str) {
        let cookie = attributes(name, String::new())
            .max_age(time::Duration::seconds(0))
            .build();
        self.cookies.add(cookie);
    }

    /// The jar itself (tests read what was written).
    pub fn jar(&self) -> &Cookies {
        &self.cookies
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SealedCookies {
    type Rejection = BffError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let cookies = parts
            .extensions
            .get::<Cookies>()
            .cloned()
            .ok_or(BffError::MissingLayer("the cookie jar (tower-cookies)"))?;
        let keys = parts
            .extensions
            .get::<KeyRing>()
            .cloned()
            .ok_or(BffError::MissingLayer("the cookie key ring"))?;
        let cookie_headers = parts
            .headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(str::to_owned)
            .collect();
        Ok(Self::with_request(cookies, keys, cookie_headers))
    }
}

#[cfg(test)]
mod tests;
