//! One refresh at the provider and what came of it.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::oidc::{Provider, ProviderError, RETRY_AFTER_SECONDS};
use crate::session::{SessionData, effective_skew};

use super::Renewal;

/// The token set a refresh produced: all that is remembered of it, applied onto whichever copy
/// of the session a request carries. Serialized only into the store's sealed successor rows.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Successor {
    pub access_token: String,
    pub access_token_expires_at: i64,
    pub access_token_issued_at: i64,
    /// `None` when the provider returned no refresh token (the old one stays).
    pub refresh_token: Option<String>,
    pub refresh_token_expires_at: Option<i64>,
    pub scopes: Option<Vec<String>>,
}

impl std::fmt::Debug for Successor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Successor")
            .field("access_token_expires_at", &self.access_token_expires_at)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

impl Successor {
    /// The access token expires within the skew: not to be handed out.
    pub fn is_stale(&self, now: i64, skew: Duration) -> bool {
        self.access_token_expires_at - now
            <= effective_skew(
                self.access_token_expires_at,
                Some(self.access_token_issued_at),
                skew,
            )
    }

    /// The provider rotated: it returned a refresh token other than `old`.
    pub fn rotated_from(&self, old: &str) -> bool {
        self.refresh_token.as_deref().is_some_and(|new| new != old)
    }

    /// `data` with these tokens.
    pub fn apply(&self, data: &SessionData) -> SessionData {
        let mut renewed = data.clone();
        renewed.access_token = self.access_token.clone();
        renewed.access_token_expires_at = self.access_token_expires_at;
        renewed.access_token_issued_at = Some(self.access_token_issued_at);
        if let Some(new) = &self.refresh_token {
            renewed.refresh_token = Some(new.clone());
        }
        if let Some(expires_at) = self.refresh_token_expires_at {
            renewed.refresh_token_expires_at = Some(expires_at);
        }
        if let Some(scopes) = &self.scopes {
            renewed.scopes = scopes.clone();
        }
        renewed.renewed_at = Some(self.access_token_issued_at);
        renewed
    }

    fn bytes(&self) -> usize {
        self.access_token.len()
            + self.refresh_token.as_ref().map_or(0, String::len)
            + self.scopes.iter().flatten().map(|s| s.len() + 24).sum::<usize>()
            + std::mem::size_of::<Self>()
    }
}

/// What a refresh came to.
#[derive(Clone, Debug)]
pub enum Outcome {
    Renewed(Arc<Successor>),
    /// `invalid_grant`: the refresh token is dead.
    Ended,
    /// The token is an older copy of the session's cookie whose link to the newest was pruned
    /// (the browser has presented newer ones since): refused without contacting the provider —
    /// that copy ends, the session does not.
    StaleCopy,
    Unavailable,
    Misconfigured(String),
    BadAnswer(String),
}

impl Outcome {
    /// Worth remembering for the window: what the next request would otherwise redo with a
    /// used (or dead) refresh token.
    pub fn remembered(&self) -> bool {
        matches!(self, Self::Renewed(_) | Self::Ended | Self::StaleCopy)
    }

    pub fn bytes(&self) -> usize {
        match self {
            Self::Renewed(successor) => successor.bytes(),
            _ => 0,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::Renewed(_) => "renewed",
            Self::Ended => "refresh token refused: session ended",
            Self::StaleCopy => "an older copy of the session's cookie: refused",
            Self::Unavailable => "provider unavailable",
            Self::Misconfigured(_) => "client refused: configuration fault",
            Self::BadAnswer(_) => "unreadable answer",
        }
    }

    /// What a request carrying `data` gets from this outcome.
    pub fn for_session(&self, data: &SessionData) -> Renewal {
        match self {
            Self::Renewed(successor) => Renewal::Renewed(Box::new(successor.apply(data))),
            Self::Ended => Renewal::Ended,
            Self::StaleCopy => Renewal::StaleCopy,
            Self::Unavailable => Renewal::Unavailable {
                retry_after_seconds: RETRY_AFTER_SECONDS,
            },
            Self::Misconfigured(code) => Renewal::Misconfigured(code.clone()),
            Self::BadAnswer(detail) => Renewal::BadAnswer(detail.clone()),
        }
    }
}

impl Successor {
    /// What the provider's answer `tokens` is, at `now`.
    pub fn from_tokens(tokens: crate::oidc::Tokens, now: i64) -> Self {
        Successor {
            access_token_expires_at: tokens.access_token_expires_at(now),
            access_token_issued_at: now,
            refresh_token_expires_at: tokens.refresh_token_expires_at(now),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            scopes: tokens.scopes,
        }
    }
}

/// Refreshes at the provider. Times are read from `clock` when the answer arrives.
pub async fn refresh(provider: &Provider, refresh_token: &str, clock: &Clock) -> Outcome {
    let answer = provider.refresh(refresh_token).await;
    crate::metrics::provider_refresh(&answer);
    match answer {
        Ok(tokens) => Outcome::Renewed(Arc::new(Successor::from_tokens(tokens, clock.now()))),
        Err(ProviderError::Refused { .. }) => Outcome::Ended,
        // The renewal core keeps its successor cache for answers that do arrive late; a lost
        // one is retried like an outage (the known gap: see the README).
        Err(ProviderError::Unavailable(detail) | ProviderError::AnswerLost(detail)) => {
            tracing::warn!(%detail, "refresh failed: provider unavailable");
            Outcome::Unavailable
        }
        Err(ProviderError::Misconfigured { code }) => {
            tracing::error!(%code, "refresh refused: the provider does not accept this client's configuration");
            Outcome::Misconfigured(code)
        }
        Err(
            error @ (ProviderError::BadAnswer(_)
            | ProviderError::Rejected(_)
            | ProviderError::IdToken(_)
            | ProviderError::LogoutToken(_)
            | ProviderError::NoRevocationEndpoint
            | ProviderError::UnsupportedTokenType),
        ) => {
            tracing::error!(%error, "refresh failed: unreadable answer");
            Outcome::BadAnswer(error.to_string())
        }
    }
}
