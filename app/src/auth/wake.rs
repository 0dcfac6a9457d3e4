//! A tab that comes back after the computer slept (or after hours in the background) checks
//! its session before showing stale data: a one-second tick notices that the wall clock jumped
//! (timers do not run while asleep, and barely run in a hidden tab), and once the tab is
//! visible again the page rechecks: every panel drops what it shows and loads it again, and
//! the BFF is asked who is logged in.

use leptos::prelude::*;
use std::time::Duration;

use super::session::SessionState;

/// A gap between two ticks longer than this means the page was not running.
const GAP_MS: f64 = 30_000.0;

/// Watches for the page waking up, for as long as it lives (the app is never unmounted).
pub fn watch(state: SessionState) {
    let last_tick = StoredValue::new(js_sys::Date::now());
    let stale = StoredValue::new(false);
    let tick = move || {
        let now = js_sys::Date::now();
        if now - last_tick.get_value() > GAP_MS {
            stale.set_value(true);
        }
        last_tick.set_value(now);
        // A hidden tab waits until it is looked at again.
        if stale.get_value() && !document().hidden() {
            stale.set_value(false);
            if state.is_active_untracked() {
                super::session::recheck_with_the_bff(state);
            }
        }
    };
    set_interval(tick, Duration::from_secs(1));
}
