//! Sessions ended for good: a session id recorded here (logout, a login over it, a refresh
//! token that died) makes every copy of its cookie refused — on this instance at once, on the
//! others within a second (the store's `revoked_sessions`, followed by
//! [`crate::store::sessions::RevokedSessions::follow`]). The check is in memory: it costs a
//! proxied request a hash lookup.
//!
//! It also refuses a session the provider ended by a back-channel logout — the logout's
//! watermark at or after the session's login ([`crate::store::watermarks`]), followed the same
//! way — even when the registry has no row for it.

use std::time::Duration;

use crate::store::registry::{Ended, Logout};
use crate::store::sessions::{FOLLOW_EVERY, RevokedSessions};
use crate::store::watermarks::{Watermark, Watermarks};
use crate::store::{Store, StoreError};

use super::SessionData;

/// The revoked sessions this instance knows, and the store that shares them. Cheap to clone.
#[derive(Clone, Default)]
pub struct Gate {
    revoked: RevokedSessions,
    watermarks: Watermarks,
    store: Option<Store>,
    /// The provider whose logout watermarks end this BFF's sessions.
    issuer: String,
    /// The sessions' maximum age: the login time of a cookie without the ID token's `iat`.
    max_age: Duration,
}

impl Gate {
    /// A gate sharing its revocations through `store` (`None`: this process only), for the
    /// sessions of `issuer` of at most `max_age`.
    pub fn new(store: Option<Store>, issuer: &str, max_age: Duration) -> Self {
        Self {
            revoked: RevokedSessions::default(),
            watermarks: Watermarks::default(),
            store,
            issuer: issuer.to_owned(),
            max_age,
        }
    }

    /// Whether `data`'s session was ended for good.
    pub fn refuses(&self, data: &SessionData, now: i64) -> bool {
        self.revoked.contains(&data.session_id, now)
    }

    /// Whether the provider ended `data`'s login session (a logout watermark at or after its
    /// login, of its farmer and `sid`): the caller ends it for good ([`Gate::end_for_good`]).
    pub fn ended_by_provider(&self, data: &SessionData) -> bool {
        self.watermarks.ends(
            &self.issuer,
            &data.farmer.sub,
            data.provider_sid.as_deref(),
            data.logged_in_at(self.max_age),
        )
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

    /// Records an accepted logout token (a back-channel logout: [`crate::store::registry`]) in
    /// the store, in one transaction — its `jti`, the registered sessions it names ended for
    /// good, its watermark — then here; the other instances follow within a second. `None`
    /// when the token was used already. Without a store no session was ever registered: an
    /// error, so the provider is told the logout failed.
    pub async fn end_by_logout(&self, logout: &Logout<'_>, now: i64) -> Result<Option<Ended>, StoreError> {
        let store = self.store.as_ref().ok_or_else(|| {
            StoreError::Store(
                "no store: sessions are not registered, so none can be ended by the provider".into(),
            )
        })?;
        let Some(ended) = store.record_logout(logout, now).await? else {
            return Ok(None);
        };
        for (session_id, until) in &ended {
            self.revoked.insert(session_id, *until);
        }
        self.watermarks
            .insert(logout.watermark, logout.watermark_expires_at);
        Ok(Some(ended))
    }

    /// The watermark a logout token of `iss` naming `sub` and/or `sid` leaves at `now`, and
    /// until when it must be kept: until every session that logged in by then has ended.
    pub fn watermark(&self, iss: &str, sub: Option<&str>, sid: Option<&str>, now: i64) -> (Watermark, i64) {
        let mark = Watermark {
            iss: iss.to_owned(),
            sub: sub.map(str::to_owned),
            sid: sid.map(str::to_owned),
            ended_at: now,
        };
        (mark, now.saturating_add(self.max_age.as_secs() as i64))
    }

    /// Keeps the known revocations current from the store, every second (nothing without one);
    /// the logout watermarks likewise.
    pub fn follow(&self, clock: crate::clock::Clock) -> Option<tokio::task::JoinHandle<()>> {
        let store = self.store.clone()?;
        let watermarks = self.watermarks.clone();
        let (marks_store, marks_clock) = (store.clone(), clock.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FOLLOW_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = watermarks.refresh(&marks_store, marks_clock.now()).await {
                    tracing::warn!(%error, "logout watermarks: the store could not be read; retrying");
                }
            }
        });
        Some(self.revoked.follow(store, move || clock.now()))
    }

    /// How many revoked sessions this instance knows.
    pub fn known(&self) -> usize {
        self.revoked.len()
    }
}
