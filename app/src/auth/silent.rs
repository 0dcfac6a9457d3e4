//! Silent login: when the farmer's TopCluck session ends while the page is open, the page
//! tries once, top-level, to log in again with `prompt=none` (OpenID Connect Core §3.1.2.1):
//! a provider whose own session is still alive answers with a code and no page, and the farmer
//! is back on the page they were on; one without answers `login_required` (or
//! `consent_required`, `interaction_required`), and the farmer sees the logged-out page with a
//! notice and the Log in button — never an error page.
//!
//! **Never a loop.** A marker in `localStorage` (shared by the tabs, so two tabs that see the
//! end at once do not both try) records the try: `<unix seconds> <state>` from the moment it
//! starts, `failed <state>` once it came back without a session. A try is made only when there
//! is no marker, or the last try succeeded more than [`RETRY_AFTER_SECONDS`] ago: after a
//! failure, no silent try until a login the farmer makes succeeds (it removes the marker);
//! after a success, no second one within minutes, even if the new session ends at once (a
//! provider that keeps ending it would otherwise be asked again and again). Reloading the
//! callback, or a page that finds the session ended again, changes nothing. Only the tab whose
//! own call learned of the end tries; the others hear "ended", then "logged in" when it worked
//! (`super::tabs`).
//!
//! **Never after a logout.** Logging out writes the marker `out` before the BFF is even asked
//! ([`logged_out`]): whether or not its answer arrives, and whichever tab then finds the
//! session gone, no silent try undoes the farmer's choice — until a login they make succeeds.
//!
//! Nothing secret is kept: the `state` names the try so that `/callback` can tell it apart
//! (also after a reload, when the pending login is gone); until the BFF gives the try its
//! state, the marker holds the time in milliseconds, which no callback carries.

use gloo_storage::{LocalStorage, Storage};

const KEY: &str = "topcluck.silent";
/// After a silent login that worked, how long before another may be tried.
const RETRY_AFTER_SECONDS: i64 = 300;
const FAILED: &str = "failed";

fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// The marker: what its first word says (a time, or [`FAILED`]) and the try's state.
fn marker() -> Option<(String, String)> {
    let value = LocalStorage::raw().get_item(KEY).ok()??;
    let (head, state) = value.split_once(' ')?;
    Some((head.to_owned(), state.to_owned()))
}

fn write(head: &str, state: &str) {
    let _ = LocalStorage::raw().set_item(KEY, &[head, " ", state].concat());
}

/// Whether a silent login may be tried now; if so, the try is claimed (before the BFF is even
/// asked, so another tab that sees the end a moment later does not try too).
pub fn claim() -> bool {
    let allowed = match marker() {
        None => true,
        Some((head, _)) => head
            .parse::<i64>()
            .is_ok_and(|at| now_seconds() >= at + RETRY_AFTER_SECONDS),
    };
    if allowed {
        let placeholder = (js_sys::Date::now() as u64).to_string();
        write(&now_seconds().to_string(), &placeholder);
    }
    allowed
}

/// The farmer logs out: no silent try until a login they make succeeds.
pub fn logged_out() {
    write("out", "");
}

/// The try is on its way to the provider with this `state`.
pub fn started(state: &str) {
    write(&now_seconds().to_string(), state);
}

/// The try could not leave (the BFF did not answer): it did not count.
pub fn abandoned() {
    LocalStorage::delete(KEY);
}

/// Whether `state` is the silent try's (when the pending login is gone: a reloaded callback).
pub fn is_the_try(state: &str) -> bool {
    marker().is_some_and(|(_, tried)| tried == state)
}

/// The try came back without a session: none again until a login succeeds.
pub fn failed(state: &str) {
    write(FAILED, state);
}

/// A login the farmer made succeeded: silent logins may be tried again.
pub fn reset() {
    LocalStorage::delete(KEY);
}
