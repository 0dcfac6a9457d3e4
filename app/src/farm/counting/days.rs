//! The chart's days: the 30-day window ending `today`, each day with its count or a gap, bar
//! heights, short labels ("Nov 23") and the summary read out by screen readers. Plain
//! arithmetic on `YYYY-MM-DD` dates, identical on the server and in the browser.

use crate::farm::time;
use crate::wire::DayCount;

/// How many days the chart shows, `today` included.
pub const WINDOW_DAYS: i64 = 30;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// One day of the chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// "Nov 23".
    pub label: String,
    /// The stored count; `None` is a gap (no count was possible), not a zero.
    pub count: Option<i64>,
}

/// The days since 1970-01-01 of a `YYYY-MM-DD` date, if it is one.
pub fn day_number(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let (year, month, day): (i64, i64, i64) = (year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The `YYYY-MM-DD` date of a day number.
pub fn date_of(day: i64) -> String {
    time::iso(day * 86_400)[..10].to_owned()
}

/// "Nov 23" for `2026-11-23` (the text itself when it is not a date).
pub fn short_label(date: &str) -> String {
    match (day_number(date), date.get(5..7), date.get(8..10)) {
        (Some(_), Some(month), Some(day)) => {
            let month = MONTHS[month.parse::<usize>().unwrap_or(1) - 1];
            format!("{month} {}", day.trim_start_matches('0'))
        }
        _ => date.to_owned(),
    }
}

/// The [`WINDOW_DAYS`] days ending `today`, oldest first, each with its count from `history`
/// or a gap. Counts outside the window are left out; `None` when `today` is not a date.
pub fn last_days(today: &str, history: &[DayCount]) -> Option<Vec<ChartDay>> {
    let last = day_number(today)?;
    Some(
        (last - WINDOW_DAYS + 1..=last)
            .map(|day| {
                let date = date_of(day);
                let count = history.iter().rev().find(|c| c.date == date).map(|c| c.count);
                ChartDay {
                    label: short_label(&date),
                    date,
                    count,
                }
            })
            .collect(),
    )
}

/// The highest count in `days` (0 when there is none).
pub fn highest(days: &[ChartDay]) -> i64 {
    days.iter().filter_map(|d| d.count).max().unwrap_or(0).max(0)
}

/// The height of a bar for `count` when the highest count is `max` and the plot is `full`
/// high. A positive count is never thinner than 2, so it cannot pass for a zero.
pub fn bar_height(count: i64, max: i64, full: i64) -> i64 {
    if count <= 0 || max <= 0 {
        return 0;
    }
    // In i128: a count times the height never overflows.
    (i128::from(count.min(max)) * i128::from(full) / i128::from(max)).max(2) as i64
}

/// What the chart shows, in one sentence: the span, how many days have a count, the highest.
pub fn summary(days: &[ChartDay]) -> String {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return "No days to show.".to_owned();
    };
    let counted = days.iter().filter(|d| d.count.is_some()).count();
    let gaps = days.len() - counted;
    let span = format!("Eggs counted each day from {} to {}", first.label, last.label);
    if counted == 0 {
        return format!("{span}: no day has a count yet.");
    }
    let max = highest(days);
    let best = days
        .iter()
        .rev()
        .find(|d| d.count == Some(max))
        .map_or("", |d| &d.label);
    format!(
        "{span}: {counted} {} with a count, {gaps} without; the highest was {} on {best}.",
        if counted == 1 { "day" } else { "days" },
        super::super::eggs(max)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(date: &str, count: i64) -> DayCount {
        DayCount {
            date: date.into(),
            count,
        }
    }

    #[test]
    fn dates_are_read_and_written_back() {
        assert_eq!(day_number("1970-01-01"), Some(0));
        assert_eq!(day_number("2000-02-29"), Some(11_016));
        assert_eq!(date_of(11_016), "2000-02-29");
        assert_eq!(date_of(day_number("2026-11-23").unwrap()), "2026-11-23");
        for bad in [
            "",
            "2026-11",
            "2026-13-01",
            "2026-02-29",
            "2026-11-31",
            "26-11-23",
            "2026-1-23",
            "x",
        ] {
            assert_eq!(day_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn labels_are_short() {
        assert_eq!(short_label("2026-11-23"), "Nov 23");
        assert_eq!(short_label("2027-01-05"), "Jan 5");
        assert_eq!(short_label("soon"), "soon");
    }

    #[test]
    fn the_window_is_thirty_days_ending_today_across_months_and_leap_days() {
        let days = last_days("2024-03-01", &[]).unwrap();
        assert_eq!(days.len(), 30);
        assert_eq!(days[29].date, "2024-03-01");
        assert_eq!(days[28].date, "2024-02-29");
        assert_eq!(days[0].date, "2024-02-01");
        let days = last_days("2027-01-02", &[]).unwrap();
        assert_eq!(
            (days[0].date.as_str(), days[0].label.as_str()),
            ("2026-12-04", "Dec 4")
        );
        assert_eq!(last_days("yesterday", &[]), None);
    }

    #[test]
    fn missing_days_are_gaps_and_zero_is_a_count() {
        let history = [
            count("2026-10-01", 99), // before the window
            count("2026-11-20", 0),
            count("2026-11-22", 7),
            count("2026-11-23", 12),
            count("2026-11-24", 50), // after today
        ];
        let days = last_days("2026-11-23", &history).unwrap();
        assert_eq!(days[0].date, "2026-10-25");
        let counts: Vec<_> = days[26..].iter().map(|d| d.count).collect();
        assert_eq!(counts, [Some(0), None, Some(7), Some(12)]);
        assert_eq!(days.iter().filter(|d| d.count.is_none()).count(), 27);
        assert_eq!(highest(&days), 12);
    }

    #[test]
    fn bars_scale_to_the_highest_count_and_stay_visible() {
        assert_eq!(bar_height(12, 12, 100), 100);
        assert_eq!(bar_height(6, 12, 100), 50);
        assert_eq!(bar_height(7, 12, 110), 64);
        assert_eq!(bar_height(1, 1000, 100), 2);
        assert_eq!(bar_height(0, 12, 100), 0);
        assert_eq!(bar_height(-3, 12, 100), 0);
        assert_eq!(bar_height(5, 0, 100), 0);
        assert_eq!(bar_height(i64::MAX, i64::MAX, 110), 110, "no overflow");
    }

    #[test]
    fn the_summary_counts_days_and_gaps() {
        let days = last_days("2026-11-23", &[count("2026-11-22", 7), count("2026-11-23", 1)]).unwrap();
        assert_eq!(
            summary(&days),
            "Eggs counted each day from Oct 25 to Nov 23: 2 days with a count, 28 without; the \
             highest was 7 eggs on Nov 22."
        );
        let empty = last_days("2026-11-23", &[]).unwrap();
        assert_eq!(
            summary(&empty),
            "Eggs counted each day from Oct 25 to Nov 23: no day has a count yet."
        );
        assert_eq!(summary(&[]), "No days to show.");
    }
}
