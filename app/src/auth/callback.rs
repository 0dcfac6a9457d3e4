//! `/callback`: where the provider sends the farmer back. The SPA checks `state`, hands the
//! code to the BFF, and goes to the page the login started from. Every failure says what
//! happened and offers to try again — except a silent login's: it goes back to that page logged
//! out, where a notice says the session ended (`super::silent`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;

use super::controls::LoginButton;

/// The callback page: "Logging you in…" until the login is complete (then the page it started
/// from), or what went wrong, with a button to try again. The login is completed by a
/// `LocalResource`, in the browser only: the server renders "Logging you in…".
#[component]
pub fn CallbackPage() -> impl IntoView {
    let session = expect_context::<super::SessionState>();
    let navigate = leptos_router::hooks::use_navigate();
    let login = LocalResource::new(move || {
        let navigate = navigate.clone();
        async move {
            let return_to = match super::browser::complete_login().await? {
                super::browser::Completed::LoggedIn(info, return_to) => {
                    session.set_active(session.asked(), info);
                    return_to
                }
                super::browser::Completed::LoggedOut(return_to) => return_to,
            };
            // The page the login started from, without loading it again (the app is already
            // here), in place of /callback in the history.
            // (Untracked: what the router reads must not make the resource load again.)
            untrack(|| {
                navigate(
                    &return_to,
                    NavigateOptions {
                        replace: true,
                        ..Default::default()
                    },
                )
            });
            Ok::<_, String>(())
        }
    });
    let working = || view! { <p class="loading">"Logging you in…"</p> };
    view! {
        <Title text="Logging in" />
        <section class="callback" aria-live="polite">
            <Suspense fallback=working>
                {move || match login.get() {
                    Some(Err(message)) => view! {
                        <h1>"The login did not work"</h1>
                        <p class="error" role="alert">{message}</p>
                        <LoginButton return_to="/" />
                    }.into_any(),
                    _ => working().into_any(),
                }}
            </Suspense>
        </section>
    }
}
