//! Code redemptions per client address, rate-limited, so the BFF cannot be used to hammer the
//! provider's token endpoint with guessed or stolen codes. Counted when an attempt is about to
//! reach the provider — after the checks that cost nothing (the login transaction, PKCE,
//! `redirect_uri`), so those failures lock nobody out — and before the call, so parallel
//! requests cannot slip past. Each address may redeem
//! [`Settings::login_attempt_burst`](crate::settings::Settings) codes in a row; then one more
//! every [`REFILL`], and meanwhile 429 `rate_limited` with `Retry-After`, without reaching the
//! provider. A farmer logs in with one attempt, so only repeated failures or an unusual crowd
//! behind one address ever meet the limit.
//!
//! `governor`'s GCRA, on the BFF's [`Clock`] (tests move it). The key is the TCP peer's
//! address, IPv6 by its /64 (one host usually holds a whole /64). Behind a reverse proxy every
//! client shares the proxy's address: raise the burst, or limit at the proxy.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Reference;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::Clock;

/// One more attempt is allowed per address every this long, once its burst is spent.
pub const REFILL: Duration = Duration::from_secs(3);
/// Addresses tracked at most; past that, new ones share one bucket.
const MAX_TRACKED: usize = 100_000;
/// Forget fully replenished addresses every this many attempts.
const PRUNE_EVERY: u64 = 1024;

impl governor::clock::Clock for Clock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        // Whole seconds from the (movable) clock, the sub-second part of the same reading.
        let wall = time::OffsetDateTime::now_utc();
        let offset = Clock::now(self) - wall.unix_timestamp();
        Duration::from_nanos(wall.unix_timestamp_nanos().max(0) as u64)
            + Duration::from_secs(offset.max(0) as u64)
    }
}

/// Shared by every request of one app.
#[derive(Clone)]
pub struct Throttle(Arc<Inner>);

struct Inner {
    limiter: RateLimiter<IpAddr, HashMapStateStore<IpAddr>, Clock, NoOpMiddleware<Duration>>,
    clock: Clock,
    attempts: AtomicU64,
}

impl Throttle {
    pub fn new(burst: u32, clock: Clock) -> Self {
        Self::with_refill(burst, REFILL, clock)
    }

    /// `burst` in a row per address, then one more every `refill` (another use than code
    /// redemptions: the back-channel logout's, [`super::backchannel`]).
    pub fn with_refill(burst: u32, refill: Duration, clock: Clock) -> Self {
        let burst = NonZeroU32::new(burst.max(1)).expect("at least one");
        let quota = Quota::with_period(refill)
            .expect("a non-zero period")
            .allow_burst(burst);
        Self(Arc::new(Inner {
            limiter: RateLimiter::hashmap_with_clock(quota, clock.clone()),
            clock,
            attempts: AtomicU64::new(0),
        }))
    }

    /// Counts an attempt of `address`: `Err(wait)` when it must wait first.
    pub fn admit(&self, address: IpAddr) -> Result<(), Duration> {
        let inner = &self.0;
        if inner
            .attempts
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PRUNE_EVERY)
        {
            inner.limiter.retain_recent();
        }
        let key = match key(address) {
            key if inner.limiter.len() < MAX_TRACKED => key,
            // Too many addresses at once (a spoofing or IPv6-rotating crowd): they share one.
            _ => IpAddr::from([0u8; 16]),
        };
        inner.limiter.check_key(&key).map_err(|not_until| {
            let now = governor::clock::Clock::now(&inner.clock);
            not_until.earliest_possible().duration_since(now).into()
        })
    }
}

/// IPv4 as it is; IPv6 by its /64.
fn key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::from(octets)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_its_burst_until_the_refill() {
        let clock = Clock::default();
        let throttle = Throttle::new(3, clock.clone());
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(throttle.admit(a), Ok(()), "three attempts pass");
        }
        let wait = throttle.admit(a).expect_err("the fourth waits");
        assert!(wait <= REFILL && wait > Duration::ZERO, "{wait:?}");
        assert_eq!(throttle.admit(b), Ok(()), "per address");
        clock.advance(REFILL + Duration::from_secs(1));
        assert_eq!(throttle.admit(a), Ok(()), "one more after the refill");
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let throttle = Throttle::new(1, Clock::default());
        assert_eq!(throttle.admit("2001:db8:1:2::1".parse().unwrap()), Ok(()));
        assert!(
            throttle.admit("2001:db8:1:2:ffff::9".parse().unwrap()).is_err(),
            "same /64"
        );
        assert_eq!(throttle.admit("2001:db8:1:3::1".parse().unwrap()), Ok(()));
    }
}
