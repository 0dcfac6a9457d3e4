//! COOP's OAuth 2.0 / OpenID Connect endpoints, one module each.

pub mod authorize;
pub mod consent_page;
pub mod cookies;
pub mod csrf;
pub mod discovery;
pub mod end_session;
pub mod form;
pub mod introspect;
pub mod login_page;
pub mod logout_page;
pub mod page;
pub mod par;
pub mod revoke;
pub mod token;
pub mod userinfo;
