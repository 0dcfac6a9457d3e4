//! Double-submit CSRF tokens for COOP's forms (login, logout confirmation; checked by the
//! [`super::form::Form`] extractor): the page carries a
//! random token in a hidden field and sets it in an `HttpOnly`, `SameSite=Strict` cookie scoped
//! to the form's endpoint; a post is accepted only when both are present and equal (compared in
//! constant time). Another site can neither read the token nor make the browser send the cookie.
//!
//! The consent form's token is bound to the farmer's COOP session instead ([`for_session`]): it
//! is derived from the session id (the `coop_session` cookie), so it is valid only with that
//! session's cookie, and dies with the session (a logout, another login).

use cookie::Cookie;
use subtle::ConstantTimeEq;

use super::cookies::Cookies;

/// A new token, and the cookie that holds it (sent only to `path`).
pub fn issue(cookie_name: &'static str, path: &'static str) -> (String, Cookie<'static>) {
    let token = crate::random::random_token();
    let cookie = Cookie::build((cookie_name, token.clone()))
        .path(path)
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .build();
    (token, cookie)
}

/// The token of a form posted within the COOP session whose cookie value is `session_id`:
/// SHA-256 of a purpose label and the session id, so it cannot be computed without the
/// (`HttpOnly`) session cookie and is different for every form purpose.
pub fn for_session(purpose: &str, session_id: &str) -> String {
    crate::random::digest(&format!("coop csrf {purpose}\n{session_id}"))
}

/// True when `from_form` is [`for_session`]`(purpose, session_id)` (compared in constant time).
pub fn check_for_session(purpose: &str, session_id: &str, from_form: Option<&str>) -> bool {
    from_form.is_some_and(|form| {
        for_session(purpose, session_id)
            .as_bytes()
            .ct_eq(form.as_bytes())
            .into()
    })
}

/// True when the form's token equals the one in the cookie `cookie_name`.
pub fn check(cookies: &Cookies, cookie_name: &str, from_form: Option<&str>) -> bool {
    match (cookies.get(cookie_name), from_form) {
        (Some(cookie), Some(form)) if !cookie.is_empty() => cookie.as_bytes().ct_eq(form.as_bytes()).into(),
        _ => false,
    }
}
