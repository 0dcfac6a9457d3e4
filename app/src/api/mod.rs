//! The browser's one HTTP client for the BFF (`/bff/…`, and the egg API behind `/api`): every
//! call carries the anti-CSRF header and ends — with the answer, or, when none comes within
//! [`CLIENT_TIMEOUT_SECONDS`], aborted — and fails as a typed [`CallError`]. Each caller says
//! what a failure means for the farmer: the farm page through `farm::Failure`, the login flows
//! through [`CallError::sentence`].
//!
//! Pages are rendered on the server too, but only the browser calls the BFF: in the server build
//! (no `hydrate`) the same functions exist and never finish, as Leptos's own `LocalResource`
//! stays pending there; no `Action` is ever dispatched on the server.

#[cfg(feature = "hydrate")]
mod client;
#[cfg(not(feature = "hydrate"))]
mod pending;

#[cfg(feature = "hydrate")]
pub use client::{get, get_with_query, post, post_empty};
#[cfg(not(feature = "hydrate"))]
pub use pending::{get, get_with_query, post, post_empty};

use crate::wire::ApiError;

/// How long the browser waits for any answer before giving up on a call.
///
/// Longer than the BFF's own limits (a refresh at the provider, then the upstream call), so the
/// BFF normally answers first, with `timeout` or `bad_gateway`; this only catches an answer
/// that never comes (a hung connection). The server's timeouts must fit inside it.
pub const CLIENT_TIMEOUT_SECONDS: u32 = 60;

/// What went wrong with a call to the BFF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The request could not be made (its body could not be encoded); nothing was sent.
    NotSent,
    /// No answer: TopCluck could not be reached, or did not answer within
    /// [`CLIENT_TIMEOUT_SECONDS`] (`timed_out`).
    NoAnswer { timed_out: bool },
    /// A success whose body could not be read.
    Unreadable,
    /// An answer that was not a success: its status, its `Retry-After` header, and its body if
    /// that was the BFF's [`ApiError`] (otherwise it is the upstream API's own answer, passed
    /// through).
    Answered {
        status: u16,
        retry_after: Option<String>,
        error: Option<ApiError>,
    },
}

impl CallError {
    /// The sentence the login and logout flows show: the BFF's own message when it sent one.
    pub fn sentence(&self) -> String {
        match self {
            Self::NotSent => "This browser could not send the request to TopCluck.".to_owned(),
            Self::NoAnswer { timed_out: false } => {
                "TopCluck cannot be reached. Check your connection and try again.".to_owned()
            }
            Self::NoAnswer { timed_out: true } => {
                format!("TopCluck did not answer within {CLIENT_TIMEOUT_SECONDS} s. Try again.")
            }
            Self::Unreadable => "TopCluck sent an unreadable answer.".to_owned(),
            Self::Answered {
                error: Some(error), ..
            } => error.message.clone(),
            Self::Answered { status, .. } => format!("TopCluck answered with HTTP {status}."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ErrorCode;

    #[test]
    fn the_login_flows_say_the_bffs_own_words_or_what_happened() {
        let refused = CallError::Answered {
            status: 400,
            retry_after: None,
            error: Some(ApiError {
                error: ErrorCode::LoginNotStarted,
                message: "This login was not started in this browser.".into(),
            }),
        };
        assert_eq!(refused.sentence(), "This login was not started in this browser.");
        let passed_through = CallError::Answered {
            status: 502,
            retry_after: None,
            error: None,
        };
        assert_eq!(passed_through.sentence(), "TopCluck answered with HTTP 502.");
        assert!(
            CallError::NoAnswer { timed_out: false }
                .sentence()
                .contains("cannot be reached")
        );
        assert!(
            CallError::NoAnswer { timed_out: true }
                .sentence()
                .contains("within 60 s")
        );
    }
}
