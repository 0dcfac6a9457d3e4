//! Silent renewal of access tokens, safe under concurrency and rotation.
//!
//! However many requests of one session need a refresh at once, the provider sees one refresh
//! request: callers presenting the same refresh token share one in-flight refresh. Its result
//! is remembered for a short window keyed by that (old) refresh token, so a request that still
//! carries the old cookie gets the new tokens — and a new cookie — instead of replaying a used
//! refresh token, which a rotating provider with no grace period punishes by revoking the
//! whole grant. Failures that may pass (provider unavailable) are not remembered.
//!
//! This is per process. Several instances need a shared lease and successor cache (Redis, say).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::oidc::{Provider, ProviderError, RETRY_AFTER_SECONDS};
use crate::session::{self, SessionData};

/// The outcome of a refresh, shared by every request that needed it.
#[derive(Clone, Debug)]
pub enum Renewal {
    /// New tokens, already merged into a copy of the session.
    Renewed(Box<SessionData>),
    /// The refresh token is expired or revoked: the session is over.
    Ended,
    /// The provider could not be reached or failed; try again after this many seconds.
    Unavailable { retry_after_seconds: u64 },
}

type Slot = Arc<OnceCell<Renewal>>;

/// Single-flight refreshes with a successor cache.
pub struct Renewer {
    slots: Mutex<HashMap<String, (Instant, Slot)>>,
    /// How long a result is remembered for requests still carrying the old cookie.
    window: Duration,
}

impl Renewer {
    pub fn new(window: Duration) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            window,
        }
    }

    /// Renews `data`'s tokens, sharing the work and result with every other caller that
    /// presents the same refresh token within the window.
    pub async fn renew(&self, provider: &Provider, data: &SessionData) -> Renewal {
        let Some(refresh_token) = data.refresh_token.clone() else {
            return Renewal::Ended;
        };
        let key = URL_SAFE_NO_PAD.encode(Sha256::digest(refresh_token.as_bytes()));
        let slot = self.slot(&key);
        let renewal = slot
            .get_or_init(|| async {
                let renewal = refresh(provider, data, &refresh_token).await;
                tracing::info!(sub = %data.farmer.sub, outcome = renewal.label(), "access token refresh");
                renewal
            })
            .await
            .clone();
        if matches!(renewal, Renewal::Unavailable { .. }) {
            // Let the next request try again rather than serve a stale failure.
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            if slots.get(&key).is_some_and(|(_, s)| Arc::ptr_eq(s, &slot)) {
                slots.remove(&key);
            }
        }
        renewal
    }

    fn slot(&self, key: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        slots.retain(|_, (created, _)| now.duration_since(*created) < self.window);
        slots
            .entry(key.to_owned())
            .or_insert_with(|| (now, Arc::new(OnceCell::new())))
            .1
            .clone()
    }
}

impl Renewal {
    fn label(&self) -> &'static str {
        match self {
            Self::Renewed(_) => "renewed",
            Self::Ended => "session ended",
            Self::Unavailable { .. } => "provider unavailable",
        }
    }
}

async fn refresh(provider: &Provider, data: &SessionData, refresh_token: &str) -> Renewal {
    match provider.refresh(refresh_token).await {
        Ok(tokens) => {
            let now = session::now();
            let mut renewed = data.clone();
            renewed.access_token_expires_at = tokens.access_token_expires_at(now);
            if let Some(expires_at) = tokens.refresh_token_expires_at(now) {
                renewed.refresh_token_expires_at = Some(expires_at);
            }
            renewed.access_token = tokens.access_token;
            // Rotation: a new refresh token replaces the old; none returned keeps the old.
            if let Some(new) = tokens.refresh_token {
                renewed.refresh_token = Some(new);
            }
            if let Some(scopes) = tokens.scopes {
                renewed.scopes = scopes;
            }
            renewed.renewed_at = Some(now);
            Renewal::Renewed(Box::new(renewed))
        }
        Err(ProviderError::Refused { code }) if code == "invalid_grant" => Renewal::Ended,
        Err(ProviderError::Unavailable(detail)) => {
            tracing::warn!(%detail, "refresh failed: provider unavailable");
            Renewal::Unavailable {
                retry_after_seconds: RETRY_AFTER_SECONDS,
            }
        }
        Err(error) => {
            // unauthorized_client, invalid_client…: this session cannot be renewed.
            tracing::warn!(%error, "refresh refused");
            Renewal::Ended
        }
    }
}
