//! `/callback`: where the provider sends the farmer back. The SPA checks `state`, hands the
//! code to the BFF, and goes to the page the login started from. Every failure says what
//! happened and offers to try again.

use leptos::prelude::*;
use leptos_meta::Title;
#[cfg(feature = "hydrate")]
use leptos_router::NavigateOptions;

use super::controls::LoginButton;

/// What the callback page shows. (Only the browser build ever fails a login.)
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackStatus {
    Working,
    Failed(String),
}

#[component]
pub fn CallbackPage() -> impl IntoView {
    let (status, set_status) = signal(CallbackStatus::Working);
    #[cfg(feature = "hydrate")]
    let (session, navigate) = (
        expect_context::<super::SessionState>(),
        leptos_router::hooks::use_navigate(),
    );
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let navigate = navigate.clone();
            leptos::task::spawn_local(async move {
                match super::browser::complete_login().await {
                    // Logged in: the page the login started from, without loading it again
                    // (the app is already here), in place of /callback in the history.
                    Ok((info, return_to)) => {
                        session.set_active(session.asked(), info);
                        navigate(
                            &return_to,
                            NavigateOptions {
                                replace: true,
                                ..Default::default()
                            },
                        );
                    }
                    Err(message) => set_status.set(CallbackStatus::Failed(message)),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = set_status;
    });
    view! {
        <Title text="Logging in" />
        <section class="callback" aria-live="polite">
            {move || match status.get() {
                CallbackStatus::Working => view! {
                    <p class="loading">"Logging you in…"</p>
                }.into_any(),
                CallbackStatus::Failed(message) => view! {
                    <h1>"The login did not work"</h1>
                    <p class="error" role="alert">{message}</p>
                    <LoginButton return_to="/" />
                }.into_any(),
            }}
        </section>
    }
}
