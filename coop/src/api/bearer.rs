//! The `Authorization: Bearer` extractor: signature (COOP's key), `typ`, `iss`, `aud`, `exp`
//! (on COOP's clock), and that neither the token nor its grant was revoked.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::authorization;
use crate::error::BearerError;
use crate::issue::AccessClaims;
use crate::scope::Scopes;
use crate::state::SharedCoop;
use crate::store::access_tokens;

/// A valid access token's claims.
pub struct Bearer {
    pub claims: AccessClaims,
}

impl Bearer {
    /// The token's scopes, if they include `scope`.
    pub fn require(&self, scope: &'static str) -> Result<Scopes, BearerError> {
        let scopes = self.claims.scopes();
        if scopes.contains(scope) {
            Ok(scopes)
        } else {
            Err(BearerError::InsufficientScope(scope))
        }
    }
}

impl FromRequestParts<SharedCoop> for Bearer {
    type Rejection = BearerError;

    async fn from_request_parts(parts: &mut Parts, coop: &SharedCoop) -> Result<Self, BearerError> {
        let token = authorization::credentials(&parts.headers, "Bearer").ok_or(BearerError::Missing)?;
        let claims: AccessClaims = coop
            .keys
            .verify(
                token.trim(),
                "at+jwt",
                &coop.issuer,
                &coop.api_audience(),
                coop.clock.now_s(),
            )
            .ok_or(BearerError::InvalidToken(
                "the access token is invalid or expired",
            ))?;
        if !coop
            .store
            .transaction(|db| access_tokens::is_live(db, &claims.jti))?
        {
            return Err(BearerError::InvalidToken("the access token was revoked"));
        }
        Ok(Self { claims })
    }
}
