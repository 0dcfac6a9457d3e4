//! When the daily job runs: `TOPCLUCK_DAILY_COUNT_AT` (a time of day, `HH:MM`) in
//! `TOPCLUCK_DAILY_COUNT_TZ` (an IANA time zone, default UTC). A run missed while the server
//! was down is caught up when it starts again.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The configured daily time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub at: NaiveTime,
    pub tz: Tz,
}

impl Schedule {
    /// `at` is `HH:MM`, `tz` an IANA name (`Europe/Paris`).
    pub fn parse(at: &str, tz: &str) -> Result<Self, String> {
        let at = NaiveTime::parse_from_str(at.trim(), "%H:%M")
            .map_err(|_| format!("{at:?} is not a time of day (HH:MM)"))?;
        let tz: Tz = tz
            .trim()
            .parse()
            .map_err(|_| format!("{tz:?} is not an IANA time zone"))?;
        Ok(Self { at, tz })
    }

    /// The day `now` (Unix seconds) falls on, in the schedule's time zone: the date counts are
    /// stored under.
    pub fn day(&self, now: i64) -> time::Date {
        to_date(self.local(now).date_naive())
    }

    /// When the run of `day` is due (Unix seconds). A time that does not exist that day (a DST
    /// gap) is taken an hour later.
    pub fn due(&self, day: NaiveDate) -> i64 {
        let naive = day.and_time(self.at);
        match self.tz.from_local_datetime(&naive).earliest() {
            Some(at) => at.timestamp(),
            None => self
                .tz
                .from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
                .map_or(naive.and_utc().timestamp(), |at| at.timestamp()),
        }
    }

    /// The next time a run is due after `now`, given the last day a run completed: today's if it
    /// is due and has not run (a catch-up: now), else the next day's.
    pub fn next(&self, now: i64, last_run: Option<time::Date>) -> i64 {
        let last_run = last_run.map(from_date);
        let today = self.local(now).date_naive();
        if last_run.is_none_or(|last| last < today) && self.due(today) <= now {
            return now;
        }
        let mut day = today;
        loop {
            let due = self.due(day);
            if due > now && last_run.is_none_or(|last| last < day) {
                return due;
            }
            day = day.succ_opt().expect("not the end of time");
        }
    }

    fn local(&self, now: i64) -> DateTime<Tz> {
        Utc.timestamp_opt(now, 0)
            .single()
            .unwrap_or_default()
            .with_timezone(&self.tz)
    }
}

/// `date` as `YYYY-MM-DD`.
pub fn iso(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn to_date(date: NaiveDate) -> time::Date {
    let month = time::Month::try_from(date.month() as u8).expect("1 to 12");
    time::Date::from_calendar_date(date.year(), month, date.day() as u8).expect("a real day")
}

fn from_date(date: time::Date) -> NaiveDate {
    NaiveDate::from_ymd_opt(date.year(), u8::from(date.month()).into(), date.day().into())
        .expect("a real day")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn due_times_follow_the_time_zone_and_catch_up_a_missed_run() {
        let paris = Schedule::parse("06:00", "Europe/Paris").unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(paris.due(day), at("2026-11-23T05:00:00Z"));
        // Before today's time: today's.
        assert_eq!(
            paris.next(at("2026-11-23T04:00:00Z"), None),
            at("2026-11-23T05:00:00Z")
        );
        // Past it and not run today (the server was down): now.
        let now = at("2026-11-23T09:00:00Z");
        assert_eq!(paris.next(now, Some(to_date(day.pred_opt().unwrap()))), now);
        // Past it and run today: tomorrow's.
        assert_eq!(paris.next(now, Some(to_date(day))), at("2026-11-24T05:00:00Z"));
        // The local day, not UTC's.
        assert_eq!(iso(paris.day(at("2026-11-23T23:30:00Z"))), "2026-11-24");
    }

    #[test]
    fn a_time_lost_to_daylight_saving_runs_an_hour_later() {
        let paris = Schedule::parse("02:30", "Europe/Paris").unwrap();
        let spring = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        assert_eq!(paris.due(spring), at("2026-03-29T01:30:00Z"));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(Schedule::parse("6am", "UTC").is_err());
        assert!(Schedule::parse("06:00", "Mars/Olympus").is_err());
        assert!(Schedule::parse("23:59", "UTC").is_ok());
    }
}
