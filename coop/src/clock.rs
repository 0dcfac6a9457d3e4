//! COOP's clock: the wall clock plus an offset that only moves forward, so tests can make
//! codes, tokens, sessions and outages expire without sleeping. Each COOP has its own (several
//! can run in one test process); clones share the offset.
//!
//! Every time-based decision reads this clock. Only real waits (the fault switch's latency and
//! answer delay) are measured on the wall clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The wall clock plus an adjustable offset. Cheap to clone; clones share the offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

/// A move that would put the clock more than [`Clock::MAX_OFFSET`] ahead of the wall clock.
#[derive(Debug, thiserror::Error)]
#[error("the clock may run at most {} seconds ahead of the wall clock", Clock::MAX_OFFSET.as_secs())]
pub struct TooFarAhead;

impl Clock {
    /// How far ahead of the wall clock the clock may run: 100 years (36,525 days).
    pub const MAX_OFFSET: Duration = Duration::from_secs(36_525 * 24 * 3600);

    /// A clock that shows the wall clock's time until it is advanced.
    pub fn new() -> Self {
        Self::default()
    }

    /// Milliseconds since the Unix epoch, offset included.
    pub fn now_ms(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        wall + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Seconds since the Unix epoch, offset included (the `iat` and `exp` of tokens).
    pub fn now_s(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// The time now, offset included.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.now_ms().max(0) as u64)
    }

    /// How far ahead of the wall clock it runs.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::Relaxed).max(0) as u64)
    }

    /// Moves the clock forward by `by`; returns the new offset.
    pub fn try_advance(&self, by: Duration) -> Result<Duration, TooFarAhead> {
        let max = Self::MAX_OFFSET.as_millis() as i64;
        let by = i64::try_from(by.as_millis()).map_err(|_| TooFarAhead)?;
        self.offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                offset.checked_add(by).filter(|&new| new <= max)
            })
            .map(|old| Duration::from_millis((old + by) as u64))
            .map_err(|_| TooFarAhead)
    }

    /// Moves the clock forward by `by`.
    ///
    /// # Panics
    ///
    /// If that would put it more than [`Clock::MAX_OFFSET`] ahead of the wall clock.
    pub fn advance(&self, by: Duration) {
        if let Err(error) = self.try_advance(by) {
            panic!("cannot advance COOP's clock by {by:?}: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone_and_only_forward_within_the_limit() {
        let clock = Clock::new();
        let other = Clock::new();
        let shared = clock.clone();
        let before = clock.now_ms();
        clock.advance(Duration::from_secs(3600));
        assert_eq!(shared.offset(), Duration::from_secs(3600));
        assert!(shared.now_ms() >= before + 3_600_000);
        assert_eq!(other.offset(), Duration::ZERO);

        assert!(clock.try_advance(Clock::MAX_OFFSET).is_err());
        assert!(clock.try_advance(Duration::MAX).is_err());
        assert_eq!(clock.offset(), Duration::from_secs(3600));
        assert_eq!(
            clock
                .try_advance(Clock::MAX_OFFSET - Duration::from_secs(3600))
                .unwrap(),
            Clock::MAX_OFFSET
        );
    }
}
