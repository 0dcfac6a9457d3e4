//! What every handler shares: configuration, the store, the signing key, the clock, and the
//! dev-only counters and fault switch.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::dev::{Counters, Faults};
use crate::keys::SigningKey;
use crate::store::{Store, StoreError, purge};

pub type SharedCoop = Arc<Coop>;

pub struct Coop {
    pub config: Config,
    /// The issuer URL, no trailing slash: `iss` of every token.
    pub issuer: String,
    pub store: Store,
    pub keys: SigningKey,
    /// This COOP's time: every expiry decision reads it.
    pub clock: Clock,
    pub counters: Counters,
    pub faults: Faults,
    /// The key of the `sid` claim ([`crate::backchannel::session_id`]).
    pub sid_key: String,
    /// The client back-channel logout tokens are sent with ([`crate::backchannel`]).
    pub http: reqwest::Client,
}

impl Coop {
    pub fn new(config: Config, issuer: String, clock: Clock) -> Result<Self, StoreError> {
        let store = Store::open(&config.data_dir)?;
        let keys = SigningKey::load_or_create(&store)?;
        let sid_key = crate::backchannel::load_sid_key(&store)?;
        Ok(Self {
            config,
            issuer,
            store,
            keys,
            clock,
            counters: Counters::default(),
            faults: Faults::default(),
            sid_key,
            http: crate::backchannel::http_client(),
        })
    }

    /// The audience of access tokens: the egg API.
    pub fn api_audience(&self) -> String {
        format!("{}/api", self.issuer)
    }

    /// Sessions that began at or before this time (ms on COOP's clock) have expired.
    pub fn sessions_expired_at_or_before_ms(&self) -> i64 {
        self.clock.now_ms() - self.config.session_lifetime.as_millis() as i64
    }

    /// Deletes the codes, access-token ids and sessions that have expired (see [`purge`]).
    pub fn purge_expired(&self, db: &rusqlite::Connection) -> Result<(), StoreError> {
        let purged = purge::expired(db, self.clock.now_ms(), self.sessions_expired_at_or_before_ms())?;
        if purged > 0 {
            tracing::debug!(purged, "expired codes, access tokens and sessions deleted");
        }
        Ok(())
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
