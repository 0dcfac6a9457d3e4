//! Why a login or a counting enrolment is refused although the provider answered: the
//! authorization response, or what the provider issued, does not fit the request. Answered `400 login_failed`; the reason is logged only.

/// A login or enrolment refused on the provider's answer.
#[derive(Debug, thiserror::Error)]
pub enum LoginRefusal {
    #[error("the PKCE verifier does not match the transaction's challenge")]
    VerifierMismatch,
    #[error("no ID token in the token response")]
    NoIdToken,
    /// The scopes beyond the request, as the provider named them when they are scope tokens
    /// (made with [`LoginRefusal::scopes_beyond`]).
    #[error("the provider granted scopes beyond the request: {}", .0.join(" "))]
    ScopesBeyondRequest(Vec<String>),
    #[error("counting was allowed by another farmer than the one logged in")]
    AnotherFarmer,
    #[error("the provider issued no refresh token for offline_access")]
    NoRefreshToken,
    #[error("the access token does not allow eggs:read: the farmer did not allow reading eggs")]
    NoEggsRead,
    /// RFC 9207 §2.4: the authorization response names another issuer than the one the request
    /// went to — it may come from another provider (a mix-up attack). Its `iss` is not repeated.
    #[error("the authorization response's iss is not this provider's issuer (RFC 9207)")]
    IssuerMismatch,
    /// RFC 9207 §2.4: the provider says it sends `iss`, and this response has none.
    #[error(
        "the authorization response has no iss, though the provider's discovery says it sends one (RFC 9207)"
    )]
    IssuerMissing,
    /// A back-channel logout ended this login session at the provider while the login was
    /// completing (a watermark at or after the ID token's `iat`, [`crate::store::watermarks`]).
    #[error("the provider ended this login session while the login was completing")]
    EndedByProvider,
}

/// The most scopes a refusal repeats.
const MAX_SCOPES_SAID: usize = 8;

impl LoginRefusal {
    /// A refusal for `scopes` granted beyond the request. Each is repeated only when it is an
    /// RFC 6749 §3.3 scope token (`%x21 / %x23-5B / %x5D-7E`) of at most 64 characters, and at
    /// most [`MAX_SCOPES_SAID`] of them: a provider's answer cannot write arbitrary text (line
    /// breaks, megabytes) into the logs.
    pub fn scopes_beyond(scopes: &[&str]) -> Self {
        let token = |s: &&str| {
            !s.is_empty() && s.len() <= 64 && s.chars().all(|c| matches!(c, '!' | '#'..='[' | ']'..='~'))
        };
        let mut said: Vec<String> = scopes
            .iter()
            .take(MAX_SCOPES_SAID)
            .map(|s| {
                if token(s) {
                    (*s).to_owned()
                } else {
                    "(not a scope token)".to_owned()
                }
            })
            .collect();
        if scopes.len() > MAX_SCOPES_SAID {
            said.push(format!("(and {} more)", scopes.len() - MAX_SCOPES_SAID));
        }
        Self::ScopesBeyondRequest(said)
    }
}

#[cfg(test)]
mod tests {
    use super::LoginRefusal;

    #[test]
    fn only_scope_tokens_are_repeated() {
        let refusal = LoginRefusal::scopes_beyond(&["eggs:write", "a\nforged line", "quote\""]);
        assert_eq!(
            refusal.to_string(),
            "the provider granted scopes beyond the request: eggs:write (not a scope token) (not a scope token)"
        );
        let many: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(
            LoginRefusal::scopes_beyond(&many)
                .to_string()
                .ends_with("s7 (and 2 more)")
        );
    }
}
