//! The farm: today's egg count, recording collected eggs, and the session's state, all through
//! the BFF's `/api` proxy. The browser never holds a token; renewals happen in the BFF.

#[cfg(feature = "hydrate")]
mod api;
mod panel;

pub use panel::FarmPanel;

use serde::{Deserialize, Serialize};

/// `GET /api/eggs` and `POST /api/eggs`' answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EggCount {
    pub date: String,
    pub count: i64,
}

/// `POST /api/eggs`' body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Collected {
    pub count: i64,
}

/// What a failed API call means for the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The session ended: log in again.
    SessionEnded,
    /// The provider is down; retry after this many seconds.
    Unavailable { retry_after_seconds: u32 },
    /// Anything else, said in a sentence.
    Other(String),
}

/// The most eggs one record may add (the egg API's limit).
pub const MAX_EGGS: i64 = 100_000;

/// Checks the "eggs collected" field.
pub fn parse_count(input: &str) -> Result<i64, String> {
    match input.trim().parse::<i64>() {
        Ok(n) if (1..=MAX_EGGS).contains(&n) => Ok(n),
        Ok(_) => Err(format!("Enter a number from 1 to {MAX_EGGS}.")),
        Err(_) => Err("Enter a whole number of eggs.".to_owned()),
    }
}

/// Seconds to wait before retry `attempt` (1, 2, 4 … capped at 30), at least what the server
/// asked for.
pub fn backoff(attempt: u32, retry_after_seconds: u32) -> u32 {
    (1u32 << attempt.min(5)).min(30).max(retry_after_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_must_be_whole_and_in_range() {
        assert_eq!(parse_count(" 12 "), Ok(12));
        for bad in ["0", "-1", "1.5", "", "eggs", "100001"] {
            assert!(parse_count(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        assert_eq!(
            (0..7).map(|a| backoff(a, 0)).collect::<Vec<_>>(),
            [1, 2, 4, 8, 16, 30, 30]
        );
        assert_eq!(backoff(0, 5), 5);
    }
}
