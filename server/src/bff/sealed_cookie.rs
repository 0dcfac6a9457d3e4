//! Short-lived cookies of the BFF's own besides the session: sealed with the session's key ring
//! (so script can neither read nor forge them), `__Host-` (Secure, `Path=/`, no `Domain`),
//! HttpOnly and `SameSite=Strict` (only TopCluck's own pages send them).

use axum::http::{HeaderMap, HeaderValue, header};
use tower_cookies::cookie::{Cookie, SameSite};

use crate::session::sealing::KeyRing;

/// The opened value of the cookie `name`, if the request has one that a key of the ring opens.
pub fn read(headers: &HeaderMap, name: &str, keys: &KeyRing) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim().to_owned()).ok())
        .filter(|cookie| cookie.name() == name)
        .find_map(|cookie| keys.open(&cookie))
        .map(|cookie| cookie.value().to_owned())
}

/// The `Set-Cookie` value that stores `value` for `max_age_seconds`, or clears the cookie.
pub fn set(name: &'static str, value: Option<&str>, max_age_seconds: i64, keys: &KeyRing) -> HeaderValue {
    let cookie = Cookie::build((name, value.unwrap_or_default().to_owned()))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(if value.is_some() {
            max_age_seconds.max(0)
        } else {
            0
        }))
        .build();
    let cookie = if value.is_some() {
        keys.seal(cookie)
    } else {
        cookie
    };
    HeaderValue::from_str(&cookie.to_string()).expect("a cookie is a valid header value")
}
