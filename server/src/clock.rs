//! The BFF's clock: wall time plus an offset that tests move forward instead of sleeping.
//! Every expiry decision (session, access token, refresh token, the renewal window) reads it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

/// Cheap to clone; clones share one offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    /// Seconds since the Unix epoch, as this clock sees them.
    pub fn now(&self) -> i64 {
        OffsetDateTime::now_utc().unix_timestamp() + self.offset_seconds.load(Ordering::Relaxed)
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_seconds
            .fetch_add(by.as_secs() as i64, Ordering::Relaxed);
    }
}
