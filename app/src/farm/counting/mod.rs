//! Daily counting on the farm page: whether TopCluck's daily job counts this farmer's eggs
//! (turn it on through COOP's consent page, turn it off here), and the chart of the last 30
//! days' counts.
//!
//! The sentences and the chart's arithmetic are plain functions here and in `days` (unit-tested
//! on the host); `chart` draws the SVG, `card` holds the component and its BFF calls.

mod card;
mod chart;
mod days;

pub use card::CountingCard;

use super::{Failure, time};
use crate::wire::CountingStatus;

/// "Nov 23, 2026": the date of `at` (Unix seconds) `offset_minutes` east of UTC.
pub fn long_date(at: i64, offset_minutes: i32) -> String {
    let date = &time::iso(at + i64::from(offset_minutes) * 60)[..10];
    format!("{}, {}", days::short_label(date), &date[..4])
}

/// "Nov 23, 2026, 13:00 UTC+01:00": the date and time of `at` (Unix seconds).
pub fn date_time(at: i64, offset_minutes: i32) -> String {
    let absolute = time::absolute(at, offset_minutes);
    let clock = absolute.split_once(' ').map_or("", |(_, clock)| clock);
    format!("{}, {clock}", long_date(at, offset_minutes))
}

/// The line for counting that is on: since when, and when the job last counted. `offset` is
/// the farmer's offset from UTC at a moment, in minutes east.
pub fn on_line(status: &CountingStatus, offset: impl Fn(i64) -> i32) -> String {
    let since = status
        .enabled_since
        .map(|at| format!(" since {}", long_date(at, offset(at))))
        .unwrap_or_default();
    let last = status
        .last_counted_at
        .map_or_else(|| "not yet".to_owned(), |at| date_time(at, offset(at)));
    format!("Daily counting: on{since}, last counted {last}")
}

/// The notice for a grant COOP no longer accepts.
pub fn stopped_line(status: &CountingStatus, offset: impl Fn(i64) -> i32) -> String {
    let on = status
        .stopped_since
        .map(|at| format!(" on {}", long_date(at, offset(at))))
        .unwrap_or_default();
    format!("Daily counting stopped{on}: COOP no longer accepts TopCluck's access.")
}

/// What the job's last word for this farmer means, when it did not count.
pub fn outcome_note(last_outcome: Option<&str>) -> Option<&'static str> {
    match last_outcome? {
        "retry_later" => Some("The last count could not reach COOP; TopCluck tries again later today."),
        "failed" => Some("The last count failed; TopCluck tries again at the next daily count."),
        _ => None,
    }
}

/// What the panel says when daily counting could not be loaded or changed.
pub fn failure_message(doing: &str, failure: &Failure) -> String {
    match failure {
        Failure::SessionEnded => format!("Log in again to {doing}."),
        Failure::Unavailable { .. } => format!("COOP is unavailable right now: could not {doing}."),
        Failure::ClientMisconfigured => super::CLIENT_MISCONFIGURED.to_owned(),
        Failure::SessionTooLarge => format!("Could not {doing}: log in again."),
        Failure::Refused(reason) => format!("Could not {doing}: {reason}"),
        Failure::Uncertain(reason) => format!("{reason} Could not {doing}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::CountingState;

    const NOV_23_NOON: i64 = 1_795_435_200;

    fn utc(_: i64) -> i32 {
        0
    }

    fn status(state: CountingState) -> CountingStatus {
        CountingStatus {
            state,
            enabled_since: Some(NOV_23_NOON - 86_400),
            stopped_since: None,
            last_counted_at: None,
            last_outcome: None,
            today: "2026-11-23".into(),
            history: vec![],
        }
    }

    #[test]
    fn dates_read_simply_in_the_farmers_time_zone() {
        assert_eq!(long_date(NOV_23_NOON, 0), "Nov 23, 2026");
        assert_eq!(long_date(NOV_23_NOON, 13 * 60), "Nov 24, 2026");
        assert_eq!(date_time(NOV_23_NOON, 60), "Nov 23, 2026, 13:00 UTC+01:00");
    }

    #[test]
    fn the_on_line_says_since_when_and_the_last_count() {
        let mut on = status(CountingState::On);
        assert_eq!(
            on_line(&on, utc),
            "Daily counting: on since Nov 22, 2026, last counted not yet"
        );
        on.last_counted_at = Some(NOV_23_NOON);
        assert_eq!(
            on_line(&on, utc),
            "Daily counting: on since Nov 22, 2026, last counted Nov 23, 2026, 12:00 UTC"
        );
    }

    #[test]
    fn the_stopped_notice_names_the_day() {
        let mut stopped = status(CountingState::NeedsConsent);
        stopped.stopped_since = Some(NOV_23_NOON);
        assert_eq!(
            stopped_line(&stopped, utc),
            "Daily counting stopped on Nov 23, 2026: COOP no longer accepts TopCluck's access."
        );
    }

    #[test]
    fn only_unsuccessful_outcomes_are_noted() {
        assert_eq!(outcome_note(None), None);
        assert_eq!(outcome_note(Some("counted")), None);
        assert!(outcome_note(Some("retry_later")).is_some_and(|n| n.contains("tries again")));
        assert!(outcome_note(Some("failed")).is_some());
    }

    #[test]
    fn failures_say_what_could_not_be_done() {
        assert_eq!(
            failure_message("turn daily counting off", &Failure::SessionEnded),
            "Log in again to turn daily counting off."
        );
        assert_eq!(
            failure_message("load daily counting", &Failure::Refused("no.".into())),
            "Could not load daily counting: no."
        );
    }
}
