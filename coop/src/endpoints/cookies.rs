//! COOP's cookies: their names and paths in one place, and the cookies a request came with,
//! parsed by the `cookie` crate ([`Cookies`], an extractor).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use cookie::{Cookie, CookieJar};

/// The COOP session: the farmer is logged in to COOP in this browser. `HttpOnly`, `Lax`.
pub const SESSION: &str = "coop_session";
/// The login form's double-submit anti-CSRF cookie, sent to [`LOGIN_CSRF_PATH`] only.
pub const LOGIN_CSRF: &str = "coop_login_csrf";
pub const LOGIN_CSRF_PATH: &str = "/authorize";
/// The logout confirmation's double-submit anti-CSRF cookie, sent to [`LOGOUT_CSRF_PATH`] only.
pub const LOGOUT_CSRF: &str = "coop_logout_csrf";
pub const LOGOUT_CSRF_PATH: &str = "/end-session";

/// The cookies of a request (every `Cookie` header); of two with one name, the first counts.
#[derive(Debug, Default)]
pub struct Cookies(CookieJar);

impl Cookies {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut jar = CookieJar::new();
        let cookies = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok);
        for cookie in cookies {
            if jar.get(cookie.name()).is_none() {
                jar.add_original(cookie.into_owned());
            }
        }
        Self(jar)
    }

    /// The value of cookie `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(Cookie::value)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Cookies {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// A new COOP session cookie holding `id`.
pub fn session(id: String) -> Cookie<'static> {
    Cookie::build((SESSION, id))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .build()
}

/// What removes cookie `name` (set for `path`) from the browser.
pub fn removal(name: &'static str, path: &'static str) -> Cookie<'static> {
    Cookie::build((name, ""))
        .path(path)
        .max_age(cookie::time::Duration::ZERO)
        .build()
}

/// Adds `cookie` to `response`'s `Set-Cookie` headers.
pub fn set(response: &mut Response, cookie: &Cookie<'_>) {
    if let Ok(value) = cookie.to_string().parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::Cookies;

    #[test]
    fn the_first_cookie_of_a_name_counts_across_headers() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; coop_session=x"));
        headers.append(header::COOKIE, HeaderValue::from_static("coop_session=y; b=2"));
        let cookies = Cookies::from_headers(&headers);
        assert_eq!(cookies.get("coop_session"), Some("x"));
        assert_eq!(cookies.get("b"), Some("2"));
        assert_eq!(cookies.get("c"), None);
    }
}
