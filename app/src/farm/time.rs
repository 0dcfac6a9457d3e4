//! Times for the session panel: "in 7 days" and "2026-11-30 12:00 UTC", from Unix seconds.
//! Plain arithmetic, identical on the server and in the browser (so hydration agrees); only
//! [`local_offset_minutes`] asks the browser.

/// How far away a moment `seconds` from now is: "in 42 s", "in 5 min", "in 7 h 59 min",
/// "in 7 days"; "now" for a moment already reached.
pub fn relative(seconds: i64) -> String {
    match seconds {
        ..=0 => "now".to_owned(),
        1..90 => format!("in {seconds} s"),
        90..5_400 => format!("in {} min", (seconds + 30) / 60),
        5_400..172_800 => {
            let minutes = (seconds + 30) / 60;
            match minutes % 60 {
                0 => format!("in {} h", minutes / 60),
                m => format!("in {} h {m} min", minutes / 60),
            }
        }
        _ => format!("in {} days", (seconds + 43_200) / 86_400),
    }
}

/// `at` (Unix seconds) as a date and time to the minute, shifted by `offset_minutes` east of
/// UTC and labelled with that offset: "2026-11-30 12:00 UTC", "2026-11-30 13:00 UTC+01:00".
pub fn absolute(at: i64, offset_minutes: i32) -> String {
    let local = at + i64::from(offset_minutes) * 60;
    let (date, hour, minute, _) = civil(local);
    let zone = match offset_minutes {
        0 => "UTC".to_owned(),
        m => format!(
            "UTC{}{:02}:{:02}",
            if m < 0 { '-' } else { '+' },
            m.unsigned_abs() / 60,
            m.unsigned_abs() % 60
        ),
    };
    format!("{date} {hour:02}:{minute:02} {zone}")
}

/// `at` (Unix seconds) in ISO 8601, UTC, for `<time datetime>`: "2026-11-30T12:00:00Z".
pub fn iso(at: i64) -> String {
    let (date, hour, minute, second) = civil(at);
    format!("{date}T{hour:02}:{minute:02}:{second:02}Z")
}

/// The proleptic Gregorian date ("YYYY-MM-DD") and time of day of `at` (Unix seconds, UTC).
fn civil(at: i64) -> (String, i64, i64, i64) {
    let (days, secs) = (at.div_euclid(86_400), at.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    )
}

/// The browser's offset from UTC at `at`, in minutes east (0 on the server).
pub fn local_offset_minutes(at: i64) -> i32 {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64 * 1000.0));
        -(date.get_timezone_offset() as i32)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = at;
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(-5), "now");
        assert_eq!(relative(0), "now");
        assert_eq!(relative(42), "in 42 s");
        assert_eq!(relative(300), "in 5 min");
        assert_eq!(relative(28_800), "in 8 h");
        assert_eq!(relative(28_797), "in 8 h");
        assert_eq!(relative(28_700), "in 7 h 58 min");
        assert_eq!(relative(604_800), "in 7 days");
        assert_eq!(relative(604_795), "in 7 days");
        assert_eq!(relative(2 * 86_400), "in 2 days");
    }

    #[test]
    fn absolute_times_are_calendar_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso(1_795_435_200), "2026-11-23T12:00:00Z");
        assert_eq!(absolute(1_795_435_200, 0), "2026-11-23 12:00 UTC");
        assert_eq!(absolute(1_795_435_200, 60), "2026-11-23 13:00 UTC+01:00");
        assert_eq!(absolute(1_795_435_200, -570), "2026-11-23 02:30 UTC-09:30");
    }
}
