//! Sessions ended for good: a session id recorded here (logout, a login over it, a refresh
//! token that died) makes every copy of its cookie refused — on this instance at once, on the
//! others within a second (the store's `revoked_sessions`, followed by
//! [`crate::store::sessions::RevokedSessions::follow`]). The check is in memory: it costs a
//! proxied request a hash lookup.

use crate::store::sessions::RevokedSessions;
use crate::store::{Store, StoreError};

use super::SessionData;

/// The revoked sessions this instance knows, and the store that shares them. Cheap to clone.
#[derive(Clone, Default)]
pub struct Gate {
    revoked: RevokedSessions,
    store: Option<Store>,
}

impl Gate {
    /// A gate sharing its revocations through `store` (`None`: this process only).
    pub fn new(store: Option<Store>) -> Self {
        Self {
            revoked: RevokedSessions::default(),
            store,
        }
    }

    /// Whether `data`'s session was ended for good.
    pub fn refuses(&self, data: &SessionData, now: i64) -> bool {
        self.revoked.contains(&data.session_id, now)
    }

    /// Ends `data`'s session for good: until its cookie expires, no copy of it is honoured.
    /// Recorded here first, then in the store (a failure there is logged: this instance still
    /// refuses it).
    pub async fn end_for_good(&self, data: &SessionData) {
        // Until no copy of the cookie can be honoured any more: its maximum age (a copy's own
        // end may move later as the refresh token slides).
        let until = data.session_expires_at.max(data.ends_at());
        self.revoked.insert(&data.session_id, until);
        if let Some(store) = &self.store
            && let Err(error) = store.revoke_session(&data.session_id, until).await
        {
            tracing::error!(sub = %data.farmer.sub, %error, "session ended here, but the store could not record it for the other instances");
        }
    }

    /// Ends for good every registered session of the provider's login session `sid` and farmer
    /// `sub` (a back-channel logout: [`crate::store::registry`]): recorded in the store first,
    /// in one statement, then here; the other instances follow within a second. Returns how many
    /// sessions were ended. Without a store no session was ever registered: an error, so the
    /// provider is told the logout failed.
    pub async fn end_registered(
        &self,
        sid: Option<&str>,
        sub: Option<&str>,
        now: i64,
    ) -> Result<usize, StoreError> {
        let store = self.store.as_ref().ok_or_else(|| {
            StoreError::Store(
                "no store: sessions are not registered, so none can be ended by the provider".into(),
            )
        })?;
        let ended = store.end_registered(sid, sub, now).await?;
        for (session_id, until) in &ended {
            self.revoked.insert(session_id, *until);
        }
        Ok(ended.len())
    }

    /// Keeps the known revocations current from the store, every second (nothing without one).
    pub fn follow(&self, clock: crate::clock::Clock) -> Option<tokio::task::JoinHandle<()>> {
        let store = self.store.clone()?;
        Some(self.revoked.follow(store, move || clock.now()))
    }

    /// How many revoked sessions this instance knows.
    pub fn known(&self) -> usize {
        self.revoked.len()
    }
}
