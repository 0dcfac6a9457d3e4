//! The "Log in" and "Log out" buttons. They act only once the page is hydrated.

use leptos::prelude::*;

/// Starts a login that returns to `return_to` (default: the current page). `label` names the
/// button (default "Log in").
#[component]
pub fn LoginButton(
    #[prop(optional, into)] return_to: Option<String>,
    #[prop(optional)] label: Option<&'static str>,
) -> impl IntoView {
    let label = label.unwrap_or("Log in");
    let (busy, set_busy) = signal(false);
    let (error, set_error) = signal(None::<String>);
    let on_click = move |_| {
        set_busy.set(true);
        set_error.set(None);
        #[cfg(feature = "hydrate")]
        {
            let return_to = return_to.clone();
            leptos::task::spawn_local(async move {
                if let Err(message) = super::browser::start_login(return_to).await {
                    set_error.set(Some(message));
                    set_busy.set(false);
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &return_to;
    };
    view! {
        <button type="button" class="login-button" on:click=on_click disabled=move || busy.get()>
            {move || if busy.get() { "Logging in…" } else { label }}
        </button>
        <Show when=move || error.get().is_some()>
            <span class="login-error" role="alert">{move || error.get()}</span>
        </Show>
    }
}

/// Turns daily counting on: the provider asks the farmer to allow `offline_access` on its
/// consent page, and the browser comes back to this page. `label` names the button ("Turn on",
/// "Turn it on again").
#[component]
pub fn TurnOnCountingButton(label: &'static str) -> impl IntoView {
    let (busy, set_busy) = signal(false);
    let (error, set_error) = signal(None::<String>);
    let on_click = move |_| {
        set_busy.set(true);
        set_error.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Err(message) = super::browser::start_counting(None).await {
                set_error.set(Some(message));
                set_busy.set(false);
            }
        });
    };
    view! {
        <button
            type="button"
            class="counting-button"
            on:click=on_click
            disabled=move || busy.get()
            aria-busy=move || busy.get().to_string()
        >
            {move || if busy.get() { "Turning on…" } else { label }}
        </button>
        <Show when=move || error.get().is_some()>
            <p class="error" role="alert">{move || error.get()}</p>
        </Show>
    }
}

/// Logs out: the BFF revokes the refresh token and clears the cookie, then the browser goes
/// through the provider's end-session endpoint.
#[component]
pub fn LogoutButton() -> impl IntoView {
    let (busy, set_busy) = signal(false);
    let on_click = move |_| {
        set_busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            super::browser::logout().await;
        });
    };
    view! {
        <button type="button" class="logout-button" on:click=on_click disabled=move || busy.get()>
            {move || if busy.get() { "Logging out…" } else { "Log out" }}
        </button>
    }
}

/// What logging out left to say (e.g. that the provider could not be reached to withdraw
/// TopCluck's access), shown once on the page the browser comes back to.
#[component]
pub fn LogoutNotice() -> impl IntoView {
    let (notice, set_notice) = signal(None::<String>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| set_notice.set(super::browser::take_notice()));
    #[cfg(not(feature = "hydrate"))]
    let _ = set_notice;
    view! {
        <Show when=move || notice.get().is_some()>
            <p class="notice" role="status">{move || notice.get()}</p>
        </Show>
    }
}
