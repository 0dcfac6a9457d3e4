//! The successor cache: for each refresh token the BFF has presented recently (by its SHA-256,
//! never the token), the refresh in flight or its remembered outcome.
//!
//! Bounded in entries and bytes. Entries sit in a queue in insertion order, so expiry and
//! eviction pop from the front — amortised O(1) per renewal, never a scan of the whole map
//! under the lock. A refresh in flight is never evicted: its answer may be the only copy of a
//! rotated refresh token.

use std::collections::{HashMap, VecDeque};

use tokio::sync::watch;

use super::Outcome;

pub type Key = [u8; 32];

/// Limits of the cache.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long (seconds) an outcome is remembered for requests still carrying the old cookie.
    pub window_seconds: i64,
    pub max_entries: usize,
    pub max_bytes: usize,
}

pub enum State {
    InFlight(watch::Receiver<Option<Outcome>>),
    Done { outcome: Outcome, at: i64 },
}

struct Entry {
    generation: u64,
    state: State,
    bytes: usize,
    /// The session was logged out while this refresh was in flight: its answer is revoked.
    ended: bool,
    /// A rotated successor: its old refresh token is used, so evicting it early risks a replay.
    rotated: bool,
}

/// What ending a session found for one refresh token (see [`Cache::end`]).
pub enum Ending {
    /// A refresh is in flight: it is marked, and its answer will be revoked when it lands.
    InFlight,
    /// A remembered successor, now forgotten in favour of "ended".
    Successor(Outcome),
    /// Nothing remembered.
    Nothing,
}

/// What one entry costs besides its outcome: the key, the map and queue slots.
const ENTRY_OVERHEAD: usize = 128;

pub struct Cache {
    limits: Limits,
    entries: HashMap<Key, Entry>,
    order: VecDeque<(Key, u64)>,
    bytes: usize,
    next_generation: u64,
    /// Outcomes dropped before their window ended (the cache was full).
    pub evicted_early: u64,
}

impl Cache {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            next_generation: 0,
            evicted_early: 0,
        }
    }

    pub fn get(&self, key: &Key) -> Option<&State> {
        self.entries.get(key).map(|e| &e.state)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Records a refresh now in flight for `key` (replacing any entry); returns its generation.
    pub fn start(&mut self, key: Key, done: watch::Receiver<Option<Outcome>>, now: i64) -> u64 {
        let generation = self.next_generation;
        self.next_generation += 1;
        self.remove(&key);
        self.entries.insert(
            key,
            Entry {
                generation,
                state: State::InFlight(done),
                bytes: ENTRY_OVERHEAD,
                ended: false,
                rotated: false,
            },
        );
        self.bytes += ENTRY_OVERHEAD;
        self.order.push_back((key, generation));
        self.prune(now);
        generation
    }

    pub fn contains(&self, key: &Key) -> bool {
        self.entries.contains_key(key)
    }

    /// Stores the outcome of the refresh `generation` of `key` — or forgets it when it is not
    /// worth remembering (a failure the next request should retry). `rotated`: the outcome
    /// carries a new refresh token. Returns true when the session was ended (logged out) while
    /// the refresh was in flight: the outcome is then remembered as [`Outcome::Ended`] and the
    /// caller must revoke what the refresh brought.
    pub fn finish(&mut self, key: Key, generation: u64, outcome: Outcome, rotated: bool, now: i64) -> bool {
        let Some(entry) = self.entries.get_mut(&key).filter(|e| e.generation == generation) else {
            self.prune(now);
            return false;
        };
        let ended = entry.ended;
        let outcome = if ended { Outcome::Ended } else { outcome };
        if outcome.remembered() {
            let bytes = ENTRY_OVERHEAD + outcome.bytes();
            self.bytes = self.bytes - entry.bytes + bytes;
            entry.bytes = bytes;
            entry.rotated = rotated && !ended;
            entry.state = State::Done { outcome, at: now };
            // Its window starts now: move it to the back of the queue.
            self.order.push_back((key, generation));
        } else {
            self.remove(&key);
        }
        self.prune(now);
        ended
    }

    /// Ends the session whose refresh token hashes to `key` (logout): whatever is remembered
    /// becomes [`Outcome::Ended`], so a request still carrying that cookie is told the session
    /// is over instead of being handed the successor.
    pub fn end(&mut self, key: Key, now: i64) -> Ending {
        let ending = match self.entries.get_mut(&key) {
            Some(entry) => match &entry.state {
                State::InFlight(_) => {
                    entry.ended = true;
                    return Ending::InFlight;
                }
                State::Done { outcome, .. } => {
                    let found = outcome.clone();
                    self.bytes -= entry.bytes - ENTRY_OVERHEAD;
                    entry.bytes = ENTRY_OVERHEAD;
                    entry.rotated = false;
                    entry.state = State::Done {
                        outcome: Outcome::Ended,
                        at: now,
                    };
                    Ending::Successor(found)
                }
            },
            None => {
                let generation = self.next_generation;
                self.next_generation += 1;
                self.entries.insert(
                    key,
                    Entry {
                        generation,
                        state: State::Done {
                            outcome: Outcome::Ended,
                            at: now,
                        },
                        bytes: ENTRY_OVERHEAD,
                        ended: false,
                        rotated: false,
                    },
                );
                self.bytes += ENTRY_OVERHEAD;
                self.order.push_back((key, generation));
                Ending::Nothing
            }
        };
        self.prune(now);
        ending
    }

    fn remove(&mut self, key: &Key) {
        if let Some(entry) = self.entries.remove(key) {
            self.bytes -= entry.bytes;
        }
    }

    /// Drops outcomes past their window, then the oldest outcomes while over a limit.
    pub fn prune(&mut self, now: i64) {
        // Expired or superseded queue slots at the front.
        while let Some(&(key, generation)) = self.order.front() {
            match self.entries.get(&key) {
                Some(entry) if entry.generation == generation => match &entry.state {
                    State::Done { at, .. } if now - at >= self.limits.window_seconds => {
                        self.remove(&key);
                        self.order.pop_front();
                    }
                    State::InFlight(done) if done.has_changed().is_err() && done.borrow().is_none() => {
                        // The refresh task died without an answer (a panic): forget it.
                        self.remove(&key);
                        self.order.pop_front();
                    }
                    _ => break,
                },
                // Superseded (re-started or finished later) or removed: a stale slot.
                _ => {
                    self.order.pop_front();
                }
            }
        }
        // Over a limit: evict from the front. Refreshes in flight are never evicted; rotated
        // successors (whose old refresh token is used: a late request with the old cookie would
        // replay it) only when evicting everything else did not suffice.
        for spare_rotated in [true, false] {
            let mut budget = self.order.len();
            while self.over_limit() && budget > 0 {
                budget -= 1;
                let Some((key, generation)) = self.order.pop_front() else {
                    break;
                };
                let Some(entry) = self.entries.get(&key).filter(|e| e.generation == generation) else {
                    continue;
                };
                let in_flight = matches!(entry.state, State::InFlight(_));
                if in_flight || (spare_rotated && entry.rotated) {
                    self.order.push_back((key, generation));
                    continue;
                }
                if entry.rotated {
                    tracing::error!(
                        "successor cache full: a rotated refresh token's successor evicted early"
                    );
                }
                self.remove(&key);
                self.evicted_early += 1;
            }
        }
    }

    fn over_limit(&self) -> bool {
        self.entries.len() > self.limits.max_entries || self.bytes > self.limits.max_bytes
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::renewal::Successor;

    fn renewed(token_bytes: usize) -> Outcome {
        Outcome::Renewed(Arc::new(Successor {
            access_token: "a".repeat(token_bytes),
            access_token_expires_at: 1_000,
            access_token_issued_at: 0,
            refresh_token: Some("r".repeat(64)),
            refresh_token_expires_at: None,
            scopes: None,
        }))
    }

    fn key(n: u32) -> Key {
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(&n.to_le_bytes());
        key
    }

    fn limits(max_entries: usize, max_bytes: usize) -> Limits {
        Limits {
            window_seconds: 120,
            max_entries,
            max_bytes,
        }
    }

    fn finished(cache: &mut Cache, n: u32, outcome: Outcome, now: i64) {
        let (_tx, rx) = watch::channel(None);
        let generation = cache.start(key(n), rx, now);
        cache.finish(key(n), generation, outcome, false, now);
    }

    #[test]
    fn outcomes_are_forgotten_after_the_window() {
        let mut cache = Cache::new(limits(100, 1 << 20));
        finished(&mut cache, 1, renewed(10), 0);
        finished(&mut cache, 2, renewed(10), 60);
        cache.prune(119);
        assert_eq!(cache.len(), 2);
        cache.prune(120);
        assert!(cache.get(&key(1)).is_none() && cache.get(&key(2)).is_some());
        cache.prune(180);
        assert_eq!((cache.len(), cache.bytes()), (0, 0));
    }

    #[test]
    fn failures_worth_retrying_are_not_remembered() {
        let mut cache = Cache::new(limits(100, 1 << 20));
        finished(&mut cache, 1, Outcome::Unavailable, 0);
        finished(&mut cache, 2, Outcome::Misconfigured("invalid_client".into()), 0);
        finished(&mut cache, 3, Outcome::Ended, 0);
        assert!(cache.get(&key(1)).is_none() && cache.get(&key(2)).is_none());
        assert!(matches!(
            cache.get(&key(3)),
            Some(State::Done {
                outcome: Outcome::Ended,
                ..
            })
        ));
    }

    #[test]
    fn bounded_in_entries_and_bytes_oldest_first() {
        let mut cache = Cache::new(limits(10, 1 << 20));
        for n in 0..25 {
            finished(&mut cache, n, renewed(100), 0);
        }
        assert_eq!(cache.len(), 10);
        assert!(cache.get(&key(14)).is_none() && cache.get(&key(15)).is_some());
        assert_eq!(cache.evicted_early, 15);

        let mut cache = Cache::new(limits(1_000, 20_000));
        for n in 0..100 {
            finished(&mut cache, n, renewed(1_000), 0);
        }
        assert!(cache.bytes() <= 20_000, "{}", cache.bytes());
        assert!(cache.get(&key(99)).is_some());
    }

    #[test]
    fn a_refresh_in_flight_is_never_evicted() {
        let mut cache = Cache::new(limits(3, 1 << 20));
        let (_tx, rx) = watch::channel(None);
        let generation = cache.start(key(0), rx, 0);
        for n in 1..10 {
            finished(&mut cache, n, renewed(10), 0);
        }
        assert!(matches!(cache.get(&key(0)), Some(State::InFlight(_))));
        cache.finish(key(0), generation, renewed(10), true, 1);
        assert!(matches!(cache.get(&key(0)), Some(State::Done { .. })));
    }

    #[test]
    fn a_refresh_task_that_died_is_forgotten() {
        let mut cache = Cache::new(limits(10, 1 << 20));
        let (tx, rx) = watch::channel(None);
        cache.start(key(0), rx, 0);
        drop(tx);
        cache.prune(1);
        assert!(cache.get(&key(0)).is_none());
    }
}
