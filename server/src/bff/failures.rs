//! Failed logins, rate-limited per client address, so the BFF cannot be used to hammer the
//! provider's token endpoint with guessed or stolen codes. Only failures count (a 4xx answer
//! to `POST /bff/login`): farmers who log in are never slowed down. Each address may fail
//! [`Settings::login_failure_burst`](crate::settings::Settings) times in a row; then its
//! logins are answered 429 with `Retry-After`, without reaching the provider, until one more
//! attempt is allowed [`REFILL`] later.
//!
//! The counting is `governor`'s GCRA keyed by IP address, on the BFF's [`Clock`] (tests move it).
//! The address is the TCP peer's: behind a reverse proxy, every client shares the proxy's.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::Clock;
use crate::edges::Connection;
use crate::error::BffError;

/// One more failure is allowed per address every this long, once its burst is spent.
pub const REFILL: Duration = Duration::from_secs(6);
/// Past this many addresses, ones no longer blocked are forgotten.
const MAX_TRACKED: usize = 10_000;

impl governor::clock::Clock for Clock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_secs(Clock::now(self).max(0) as u64)
            + Duration::from_nanos(u64::from(time::OffsetDateTime::now_utc().nanosecond()))
    }
}

/// Shared by every request of one app.
#[derive(Clone)]
pub struct FailureLimit(Arc<Inner>);

struct Inner {
    limiter: RateLimiter<IpAddr, HashMapStateStore<IpAddr>, Clock, StateInformationMiddleware>,
    /// Addresses that spent their failures, and until when.
    blocked: Mutex<HashMap<IpAddr, Duration>>,
    clock: Clock,
}

impl FailureLimit {
    pub fn new(burst: u32, clock: Clock) -> Self {
        let burst = NonZeroU32::new(burst.max(1)).expect("at least one");
        let quota = Quota::with_period(REFILL)
            .expect("a non-zero period")
            .allow_burst(burst);
        Self(Arc::new(Inner {
            limiter: RateLimiter::hashmap_with_clock(quota, clock.clone()).with_middleware(),
            blocked: Mutex::new(HashMap::new()),
            clock,
        }))
    }

    /// How long `address` must still wait, if it spent its failures.
    fn wait(&self, address: IpAddr) -> Option<Duration> {
        let now = governor::clock::Clock::now(&self.0.clock);
        let mut blocked = self.0.blocked.lock().expect("not poisoned");
        match blocked.get(&address) {
            Some(&until) if until > now => Some(until - now),
            Some(_) => {
                blocked.remove(&address);
                None
            }
            None => None,
        }
    }

    /// Counts a failure of `address`; blocks it once it has no failure left.
    fn failed(&self, address: IpAddr) {
        let now = governor::clock::Clock::now(&self.0.clock);
        let until = match self.0.limiter.check_key(&address) {
            Ok(snapshot) if snapshot.remaining_burst_capacity() > 0 => return,
            // That was the last one: blocked until the next failure is allowed.
            Ok(_) => now + REFILL,
            Err(not_until) => not_until.earliest_possible().max(now),
        };
        let mut blocked = self.0.blocked.lock().expect("not poisoned");
        if blocked.len() >= MAX_TRACKED {
            blocked.retain(|_, &mut until| until > now);
            self.0.limiter.retain_recent();
        }
        blocked.insert(address, until);
    }
}

/// The middleware on `POST /bff/login`.
pub async fn limit(State(limit): State<FailureLimit>, request: Request, next: Next) -> Response {
    let address = request
        .extensions()
        .get::<Connection>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.peer.ip());
    if let Some(wait) = limit.wait(address) {
        tracing::warn!(%address, "login refused: too many failed logins from this address");
        return BffError::TooManyFailures {
            retry_after_seconds: wait.as_secs().max(1),
        }
        .into_response();
    }
    let response = next.run(request).await;
    if response.status().is_client_error() {
        limit.failed(address);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_an_address_after_its_burst_of_failures_until_the_refill() {
        let clock = Clock::default();
        let limit = FailureLimit::new(3, clock.clone());
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(limit.wait(a), None, "three failures are allowed");
            limit.failed(a);
        }
        let wait = limit.wait(a).expect("the fourth attempt waits");
        assert!(wait <= REFILL, "{wait:?}");
        assert_eq!(limit.wait(b), None, "per address");
        clock.advance(REFILL + Duration::from_secs(1));
        assert_eq!(limit.wait(a), None, "one more after the refill");
    }
}
