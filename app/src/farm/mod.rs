//! The farm page, one card per file: today's egg count (`eggs_today`, loaded by `today`),
//! recording collected eggs (`record`), the session (`session_card`), daily counting
//! (`counting`), and the banner above them (`banner`); `panel` lays them out. Every call goes
//! through the BFF (its `/api` proxy for the eggs): the browser never holds a token, and
//! renewals happen in the BFF.
//!
//! What every answer means for the page is decided here, in plain functions (unit-tested on
//! the host): [`Failure`] reads a failed call, [`record_note`] says what happened to the eggs
//! the farmer tried to record.

mod banner;
pub mod counting;
mod eggs_today;
mod panel;
mod record;
mod session_card;
pub mod time;
mod today;

pub use panel::FarmPanel;

use crate::api::{CLIENT_TIMEOUT_SECONDS, CallError};
use crate::wire::{ApiError, EggCount, ErrorCode};

/// The sentence for the farm page when COOP refuses TopCluck's own credentials.
pub const CLIENT_MISCONFIGURED: &str = "TopCluck cannot renew your access right now: its configuration \
                                        is being fixed. You are still logged in.";

/// What a failed call means for the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `reauthentication_required` or `unauthenticated`: the session ended, log in again.
    SessionEnded,
    /// `temporarily_unavailable`: the provider is down; nothing was done. Retry after this many
    /// seconds.
    Unavailable { retry_after_seconds: u32 },
    /// `client_misconfigured`: the provider refused TopCluck's own credentials, so the access
    /// token could not be renewed; nothing was done, and the session is kept.
    ClientMisconfigured,
    /// `session_too_large`: the provider issued more than a cookie can hold; nothing was kept.
    SessionTooLarge,
    /// Refused before anything was done; the sentence says why.
    Refused(String),
    /// The call may or may not have been carried out (a timeout, a lost connection, an answer
    /// that could not be read); the sentence says what went wrong.
    Uncertain(String),
}

impl From<CallError> for Failure {
    fn from(error: CallError) -> Self {
        match error {
            CallError::NotSent => Self::Refused("this browser could not send the request.".into()),
            CallError::NoAnswer { timed_out } => Self::no_answer(timed_out),
            CallError::Unreadable => Self::unreadable(),
            CallError::Answered {
                status,
                retry_after,
                error,
            } => Self::from_answer(status, retry_after.as_deref(), error),
        }
    }
}

impl Failure {
    /// Reads a BFF answer that was not a success: its status, its `Retry-After` header, and its
    /// body if that was the BFF's [`ApiError`] (otherwise it is the upstream API's own answer,
    /// passed through).
    pub fn from_answer(status: u16, retry_after: Option<&str>, error: Option<ApiError>) -> Self {
        let Some(ApiError { error, message }) = error else {
            return match status {
                400..=499 => Self::Refused(format!("the farm refused the request (HTTP {status}).")),
                _ => Self::Uncertain(format!("The farm answered with an error (HTTP {status}).")),
            };
        };
        match error {
            ErrorCode::ReauthenticationRequired | ErrorCode::Unauthenticated => Self::SessionEnded,
            ErrorCode::TemporarilyUnavailable => Self::Unavailable {
                retry_after_seconds: retry_after_seconds(retry_after),
            },
            ErrorCode::ClientMisconfigured => Self::ClientMisconfigured,
            ErrorCode::SessionTooLarge => Self::SessionTooLarge,
            ErrorCode::PayloadTooLarge => Self::Refused("the request was too large for TopCluck.".into()),
            ErrorCode::Timeout => Self::Uncertain("TopCluck gave up waiting for the farm.".into()),
            ErrorCode::BadGateway => Self::Uncertain("The farm's API could not be reached.".into()),
            ErrorCode::Internal => Self::Uncertain("Something went wrong inside TopCluck.".into()),
            ErrorCode::CsrfRejected
            | ErrorCode::LoginFailed
            | ErrorCode::LoginNotStarted
            | ErrorCode::RateLimited
            | ErrorCode::BadRequest
            | ErrorCode::NotFound
            | ErrorCode::MethodNotAllowed
            | ErrorCode::CountingNotConfigured => Self::Refused(lowercase_first(&message)),
        }
    }

    /// No answer: the browser could not reach TopCluck, or gave up waiting.
    pub fn no_answer(timed_out: bool) -> Self {
        Self::Uncertain(if timed_out {
            format!("TopCluck did not answer within {CLIENT_TIMEOUT_SECONDS} s.")
        } else {
            "TopCluck cannot be reached: check your connection.".to_owned()
        })
    }

    /// A success whose body could not be read.
    pub fn unreadable() -> Self {
        Self::Uncertain("The farm's answer could not be read.".into())
    }

    /// What the egg-count card says when loading today's count failed this way.
    pub fn load_message(&self) -> String {
        match self {
            Self::SessionEnded => "Log in again to see today's count.".into(),
            Self::Unavailable { .. } => "COOP is unavailable right now.".into(),
            Self::ClientMisconfigured => CLIENT_MISCONFIGURED.into(),
            Self::SessionTooLarge => session_too_large().into(),
            Self::Refused(reason) => format!("Today's count could not be loaded: {reason}"),
            Self::Uncertain(reason) => format!("{reason} Today's count could not be loaded."),
        }
    }
}

/// `Retry-After` in seconds (at least 1, at most an hour); 5 when absent or an HTTP date.
fn retry_after_seconds(header: Option<&str>) -> u32 {
    header
        .and_then(|value| value.trim().parse::<u32>().ok())
        .map_or(5, |seconds| seconds.clamp(1, 3600))
}

/// The BFF's sentences are English and start with an ASCII letter (no Unicode case tables in
/// the WASM for this).
fn lowercase_first(sentence: &str) -> String {
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => std::iter::once(first.to_ascii_lowercase()).chain(chars).collect(),
        None => "TopCluck refused the request.".into(),
    }
}

fn session_too_large() -> &'static str {
    "COOP issued more than a browser cookie can hold, so TopCluck could not keep your session. \
     Log in again."
}

/// What the record form says after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub kind: NoteKind,
    pub text: String,
}

/// How a [`Note`] is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    /// Recorded.
    Saved,
    /// Not recorded, nothing wrong with the farmer's session: try again in a moment.
    Retry,
    /// Not recorded (or not known to be).
    Failed,
}

/// "1 egg", "12 eggs".
pub fn eggs(n: i64) -> String {
    if n == 1 {
        "1 egg".into()
    } else {
        format!("{n} eggs")
    }
}

/// What happened to the `n` eggs the farmer tried to record.
pub fn record_note(n: i64, outcome: &Result<EggCount, Failure>) -> Note {
    let (eggs, were, them) = match n {
        1 => (eggs(n), "was", "it"),
        _ => (eggs(n), "were", "them"),
    };
    let (kind, text) = match outcome {
        Ok(total) => (
            NoteKind::Saved,
            format!("Recorded {n}. Today's total: {}.", total.count),
        ),
        Err(Failure::SessionEnded) => (
            NoteKind::Failed,
            format!(
                "Your {eggs} {were} not recorded: your session has ended. Log in again, then record {them}."
            ),
        ),
        Err(Failure::Unavailable { retry_after_seconds }) => (
            NoteKind::Retry,
            format!(
                "COOP is unavailable right now, so your {eggs} {were} not recorded. Try again in \
                 {retry_after_seconds} s."
            ),
        ),
        Err(Failure::ClientMisconfigured) => (
            NoteKind::Retry,
            format!("Your {eggs} {were} not recorded. {CLIENT_MISCONFIGURED}"),
        ),
        Err(Failure::SessionTooLarge) => (
            NoteKind::Failed,
            format!("Your {eggs} {were} not recorded. {}", session_too_large()),
        ),
        Err(Failure::Refused(reason)) => (
            NoteKind::Failed,
            format!("Your {eggs} {were} not recorded: {reason}"),
        ),
        Err(Failure::Uncertain(reason)) => (
            NoteKind::Failed,
            format!(
                "{reason} Your {eggs} may or may not have been recorded: check today's count \
                 before recording {them} again."
            ),
        ),
    };
    Note { kind, text }
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

    fn api_error(error: ErrorCode) -> Option<ApiError> {
        Some(ApiError {
            error,
            message: "The request was malformed.".into(),
        })
    }

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

    #[test]
    fn every_error_code_has_a_meaning() {
        use ErrorCode::*;
        let failure = |code| Failure::from_answer(500, Some("7"), api_error(code));
        assert_eq!(failure(ReauthenticationRequired), Failure::SessionEnded);
        assert_eq!(failure(Unauthenticated), Failure::SessionEnded);
        assert_eq!(
            failure(TemporarilyUnavailable),
            Failure::Unavailable {
                retry_after_seconds: 7
            }
        );
        assert_eq!(failure(ClientMisconfigured), Failure::ClientMisconfigured);
        assert_eq!(failure(SessionTooLarge), Failure::SessionTooLarge);
        assert!(matches!(failure(PayloadTooLarge), Failure::Refused(_)));
        assert!(matches!(failure(CountingNotConfigured), Failure::Refused(_)));
        assert!(matches!(failure(BadRequest), Failure::Refused(m) if m == "the request was malformed."));
        for uncertain in [Timeout, BadGateway, Internal] {
            assert!(
                matches!(failure(uncertain), Failure::Uncertain(_)),
                "{uncertain:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_read_and_bounded() {
        let unavailable =
            |header| Failure::from_answer(503, header, api_error(ErrorCode::TemporarilyUnavailable));
        assert_eq!(
            unavailable(None),
            Failure::Unavailable {
                retry_after_seconds: 5
            }
        );
        assert_eq!(
            unavailable(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Failure::Unavailable {
                retry_after_seconds: 5
            }
        );
        assert_eq!(
            unavailable(Some("0")),
            Failure::Unavailable {
                retry_after_seconds: 1
            }
        );
        assert_eq!(
            unavailable(Some("86400")),
            Failure::Unavailable {
                retry_after_seconds: 3600
            }
        );
    }

    #[test]
    fn upstream_answers_passed_through_are_refusals_or_uncertain() {
        assert!(matches!(Failure::from_answer(422, None, None), Failure::Refused(m) if m.contains("422")));
        assert!(matches!(Failure::from_answer(500, None, None), Failure::Uncertain(m) if m.contains("500")));
    }

    #[test]
    fn every_record_outcome_says_what_happened_to_the_eggs() {
        let ok = record_note(
            2,
            &Ok(EggCount {
                date: "2026-11-23".into(),
                count: 9,
            }),
        );
        assert_eq!(
            ok,
            Note {
                kind: NoteKind::Saved,
                text: "Recorded 2. Today's total: 9.".into()
            }
        );
        let cases = [
            (Failure::SessionEnded, NoteKind::Failed, "your session has ended"),
            (
                Failure::Unavailable {
                    retry_after_seconds: 4,
                },
                NoteKind::Retry,
                "COOP is unavailable right now, so your 1 egg was not recorded. Try again in 4 s.",
            ),
            (
                Failure::ClientMisconfigured,
                NoteKind::Retry,
                CLIENT_MISCONFIGURED,
            ),
            (
                Failure::SessionTooLarge,
                NoteKind::Failed,
                "could not keep your session",
            ),
            (
                Failure::Refused("no.".into()),
                NoteKind::Failed,
                "Your 1 egg was not recorded: no.",
            ),
            (
                Failure::no_answer(true),
                NoteKind::Failed,
                "may or may not have been recorded",
            ),
            (
                Failure::no_answer(false),
                NoteKind::Failed,
                "check your connection",
            ),
            (Failure::unreadable(), NoteKind::Failed, "could not be read"),
        ];
        for (failure, kind, text) in cases {
            let note = record_note(1, &Err(failure.clone()));
            assert_eq!(note.kind, kind, "{failure:?}");
            assert!(note.text.contains(text), "{failure:?}: {}", note.text);
        }
    }
}
