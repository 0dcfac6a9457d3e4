//! The "Log in", "Turn on" (daily counting) and "Log out" buttons, and the notice a logout
//! leaves. Each button is an `Action` that sends the browser away (to COOP, or through the
//! logout): busy from the click until the page is gone, or, when it could not leave, its error.
//! They act only once the page is hydrated.

use leptos::prelude::*;

use super::browser;

/// Leaving the page: `Ok` once the browser is on its way (the button stays busy until the page
/// is gone), `Err` with what to tell the farmer when it could not leave.
#[derive(Clone, Copy)]
struct Leave(Action<(), Result<(), String>>);

impl Leave {
    fn new<F>(go: impl Fn() -> F + 'static) -> Self
    where
        F: Future<Output = Result<(), String>> + 'static,
    {
        Self(Action::new_local(move |_: &()| go()))
    }

    /// Under way, or on its way out (tracked).
    fn busy(self) -> bool {
        self.0.pending().get() || self.0.value().with(|left| matches!(left, Some(Ok(()))))
    }

    /// Why the last attempt could not leave, once it is over (tracked).
    fn error(self) -> Option<String> {
        if self.0.pending().get() {
            return None;
        }
        self.0.value().get().and_then(Result::err)
    }

    fn start(self) {
        self.0.dispatch(());
    }
}

/// Starts a login that returns to `return_to` (default: the current page). `label` names the
/// button (default "Log in").
#[component]
pub fn LoginButton(
    #[prop(optional, into)] return_to: Option<String>,
    #[prop(optional)] label: Option<&'static str>,
) -> impl IntoView {
    let label = label.unwrap_or("Log in");
    let login = Leave::new(move || browser::start_login(return_to.clone()));
    view! {
        <button type="button" class="login-button" on:click=move |_| login.start() disabled=move || login.busy()>
            {move || if login.busy() { "Logging in…" } else { label }}
        </button>
        <Show when=move || login.error().is_some()>
            <span class="login-error" role="alert">{move || login.error()}</span>
        </Show>
    }
}

/// Turns daily counting on: the provider asks the farmer to allow `offline_access` on its
/// consent page, and the browser comes back to this page. `label` names the button ("Turn on",
/// "Turn it on again").
#[component]
pub fn TurnOnCountingButton(label: &'static str) -> impl IntoView {
    let turn_on = Leave::new(|| browser::start_counting(None));
    view! {
        <button
            type="button"
            class="counting-button"
            on:click=move |_| turn_on.start()
            disabled=move || turn_on.busy()
            aria-busy=move || turn_on.busy().to_string()
        >
            {move || if turn_on.busy() { "Turning on…" } else { label }}
        </button>
        <Show when=move || turn_on.error().is_some()>
            <p class="error" role="alert">{move || turn_on.error()}</p>
        </Show>
    }
}

/// Logs out: the BFF revokes the refresh token and clears the cookie, then the browser goes
/// through the provider's end-session endpoint (or home, with a notice, when that failed).
#[component]
pub fn LogoutButton() -> impl IntoView {
    let logout = Leave::new(|| async {
        browser::logout().await;
        Ok(())
    });
    view! {
        <button type="button" class="logout-button" on:click=move |_| logout.start() disabled=move || logout.busy()>
            {move || if logout.busy() { "Logging out…" } else { "Log out" }}
        </button>
    }
}

/// What logging out left to say (e.g. that the provider could not be reached to withdraw
/// TopCluck's access), shown once on the page the browser comes back to. Read once hydrated
/// (effects never run on the server), so the server's page and the hydrated one agree.
#[component]
pub fn LogoutNotice() -> impl IntoView {
    let notice = RwSignal::new(None::<String>);
    Effect::new(move |_| notice.set(browser::take_notice()));
    view! {
        <Show when=move || notice.get().is_some()>
            <p class="notice" role="status">{move || notice.get()}</p>
        </Show>
    }
}
