//! What every handler shares: configuration, the store, the signing key, the clock, and the
//! dev-only counters and fault switch.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::dev::{Counters, Faults};
use crate::keys::SigningKey;
use crate::store::{Store, StoreError};

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
}

impl Coop {
    pub fn new(config: Config, issuer: String, clock: Clock) -> Result<Self, StoreError> {
        let store = Store::open(&config.data_dir)?;
        let keys = SigningKey::load_or_create(&store)?;
        Ok(Self {
            config,
            issuer,
            store,
            keys,
            clock,
            counters: Counters::default(),
            faults: Faults::default(),
        })
    }

    /// The audience of access tokens: the egg API.
    pub fn api_audience(&self) -> String {
        format!("{}/api", self.issuer)
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
