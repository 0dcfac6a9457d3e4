//! `/`: what TopCluck does.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::{LogoutNotice, Session, SessionState};
use crate::farm::FarmPanel;

/// The home page: the farm for a logged-in farmer (and, once their session has ended, the farm
/// with the log-in-again notice), what TopCluck does for everyone else.
#[component]
pub fn HomePage() -> impl IntoView {
    let session = expect_context::<SessionState>();
    // Whose farm is shown: a renewal (new session info) or the session ending keeps the page
    // (it shows the log-in-again notice); another farmer logging in builds it anew, so nothing
    // of the previous farmer's stays on it.
    let farmer = Memo::new(move |shown: Option<&Option<String>>| match session.get() {
        Session::Active(info) => Some(info.farmer.sub),
        Session::Ended => shown.cloned().flatten(),
        Session::LoggedOut => None,
    });
    view! {
        <Title text="Home" />
        {move || match farmer.get() {
            None => view! { <About /> }.into_any(),
            Some(_) => view! { <FarmPanel /> }.into_any(),
        }}
    }
}

/// What TopCluck does.
#[component]
fn About() -> impl IntoView {
    view! {
        <LogoutNotice />
        <section class="hero">
            <h1>"Count your eggs, not your logins."</h1>
            <p class="lead">
                "TopCluck counts every farmer's eggs through the COOP API. Log in once with your "
                "COOP account and TopCluck keeps you logged in: it renews your access silently "
                "while you work, and counts your eggs every day while you are away."
            </p>
        </section>
        <section class="features" aria-label="How it works">
            <article>
                <h2>"Log in with COOP"</h2>
                <p>"Authorization code with PKCE. Your password never reaches TopCluck."</p>
            </article>
            <article>
                <h2>"No tokens in your browser"</h2>
                <p>
                    "Access and refresh tokens stay on the server, sealed in an encrypted, "
                    "HttpOnly cookie that scripts cannot read."
                </p>
            </article>
            <article>
                <h2>"Stay logged in"</h2>
                <p>
                    "Tokens are renewed before they expire, and your session survives a "
                    "provider outage."
                </p>
            </article>
        </section>
    }
}
