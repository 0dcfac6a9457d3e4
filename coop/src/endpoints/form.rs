//! One extractor for COOP's HTML forms (login, consent, logout confirmation): the body parsed
//! as [`Params`] (RFC 6749 §3.1: a parameter sent twice is refused), then its CSRF token
//! checked as the form's [`Guard`] says, before the handler runs. A body that is not a form is
//! a 400 page, a token that does not hold a 403 page ([`PageError`]).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};

use super::cookies::Cookies;
use crate::error::PageError;
use crate::params::Params;
use crate::state::{Coop, SharedCoop};

/// A posted form whose CSRF token `G` admitted.
pub struct Form<G> {
    pub fields: Params,
    /// What the check found (the COOP session, for a session-bound token).
    pub guard: G,
}

/// How a form's CSRF token (its `csrf` field) is checked.
pub trait Guard: Sized {
    fn admit(coop: &Coop, cookies: &Cookies, token: Option<&str>) -> Result<Self, PageError>;
}

impl<G: Guard> FromRequest<SharedCoop> for Form<G> {
    type Rejection = PageError;

    async fn from_request(request: Request, coop: &SharedCoop) -> Result<Self, PageError> {
        let cookies = Cookies::from_headers(request.headers());
        let body = Bytes::from_request(request, coop).await?;
        let fields = Params::parse(&body).map_err(PageError::bad_request)?;
        let guard = G::admit(coop, &cookies, fields.get("csrf"))?;
        Ok(Self { fields, guard })
    }
}
