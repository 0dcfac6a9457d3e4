//! The site header: product name, navigation menu and the place for the login state.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::auth::{LoginButton, LogoutButton, SessionState};

/// The header bar. Its menu opens only once the page is hydrated: the server renders it closed.
#[component]
pub fn Header() -> impl IntoView {
    let (menu_open, set_menu_open) = signal(false);
    // Close the menu whenever the route changes.
    let location = use_location();
    Effect::new(move |_| {
        location.pathname.track();
        set_menu_open.set(false);
    });

    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                <img class="brand-mark" src="/favicon.svg" alt="" width="24" height="24" />
                "TopCluck"
            </A>
            <nav class="site-nav" aria-label="Main">
                <button
                    type="button"
                    class="menu-button"
                    aria-controls="site-menu"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| set_menu_open.update(|open| *open = !*open)
                >
                    "Menu"
                </button>
                <ul id="site-menu" class="menu" hidden=move || !menu_open.get()>
                    <li>
                        <A href="/">"Home"</A>
                    </li>
                    <li>
                        <a href="https://datatracker.ietf.org/doc/html/rfc6749" rel="noopener">
                            "About OAuth 2.0"
                        </a>
                    </li>
                </ul>
            </nav>
            <LoginState />
        </header>
    }
}

/// The farmer's name and "Log out", or "Log in" — or, while the page signs the farmer back in
/// after the session ended, "Signing you back in…" (announced: the region is `aria-live`).
/// Rendered on the server from the session cookie, so a reload shows the right state from the
/// first byte; in the browser it follows the shared [`SessionState`], so an ended session shows
/// "Log in" at once.
#[component]
fn LoginState() -> impl IntoView {
    let session = expect_context::<SessionState>();
    // Only the name matters here: renewals change the session info, not who is logged in.
    let farmer = Memo::new(move |_| session.farmer_name());
    view! {
        <div class="login-state" aria-live="polite">
            {move || match farmer.get() {
                Some(name) => {
                    view! {
                        <span class="farmer-name" data-testid="farmer-name">
                            {name}
                        </span>
                        <LogoutButton />
                    }
                        .into_any()
                }
                None if session.is_signing_back_in() => {
                    view! { <span role="status">"Signing you back in…"</span> }.into_any()
                }
                None => view! { <LoginButton /> }.into_any(),
            }}
        </div>
    }
}
