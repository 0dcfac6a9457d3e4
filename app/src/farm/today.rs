//! Today's egg count, loaded in the browser by a `LocalResource` keyed on the session's
//! freshness: it loads once, and again (dropping what it showed) whenever the page rechecks.
//! While COOP is unavailable, or refuses TopCluck's own credentials, the count is asked for
//! again after a while (with backoff); the banner says so. A load that fails otherwise says why;
//! one that says the session ended ends it for the whole page.

use leptos::prelude::*;
use std::time::Duration;

use super::{Failure, backoff};
use crate::api;
use crate::auth::SessionState;
use crate::wire::EggCount;

/// What the egg-count card knows of today's count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Today {
    Count(EggCount),
    /// Not yet: the count is asked for again, as the notice says.
    Waiting(Notice),
    /// It could not be loaded: the sentence says why.
    Failed(String),
    /// The answer came after the session changed: not shown (a newer load is under way, or the
    /// session has ended).
    Dropped,
}

/// A notice about the farm as a whole, from loading today's count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The provider is down: the count is asked for again in this many seconds.
    Retrying { seconds: u32 },
    /// The provider refuses TopCluck's own credentials: asked for again every 30 s.
    ClientMisconfigured,
}

impl Notice {
    fn retry_in(self) -> u32 {
        match self {
            Self::Retrying { seconds } => seconds,
            Self::ClientMisconfigured => 30,
        }
    }
}

/// Loads today's count for the page's freshness, and asks again while the answer is
/// [`Today::Waiting`] (until the page is gone).
pub fn load(session: SessionState) -> LocalResource<Today> {
    // Retries since the last answer that was not a wait: the backoff grows with it.
    let attempts = StoredValue::new(0u32);
    let today = LocalResource::new(move || {
        session.freshness();
        async move {
            let Some(outcome) = session.unless_changed(api::get::<EggCount>("/api/eggs")).await else {
                return Today::Dropped;
            };
            let today = match outcome.map_err(Failure::from) {
                Ok(today) => Today::Count(today),
                Err(Failure::Unavailable { retry_after_seconds }) => {
                    let seconds = backoff(attempts.get_value(), retry_after_seconds);
                    attempts.update_value(|n| *n += 1);
                    return Today::Waiting(Notice::Retrying { seconds });
                }
                Err(Failure::ClientMisconfigured) => return Today::Waiting(Notice::ClientMisconfigured),
                Err(failure) => {
                    if failure == Failure::SessionEnded {
                        session.end();
                    }
                    Today::Failed(failure.load_message())
                }
            };
            attempts.set_value(0);
            if !session.is_ended_untracked() {
                session.check_with_the_bff();
            }
            today
        }
    });
    Effect::new(move |_| {
        let Some(Today::Waiting(notice)) = today.get() else {
            return;
        };
        let again = Duration::from_secs(notice.retry_in().into());
        // Cleared when the answer changes, or the page is gone.
        if let Ok(timer) = set_timeout_with_handle(move || today.refetch(), again) {
            on_cleanup(move || timer.clear());
        }
    });
    today
}
