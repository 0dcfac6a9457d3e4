//! The logged-in farm page: egg count, the record form, the session panel, and the notices for
//! an ended session (log in again) and a provider outage (retrying with backoff).

use leptos::prelude::*;

use super::{EggCount, Failure};
#[cfg(feature = "hydrate")]
use crate::auth::wire::SessionInfo;
use crate::auth::{LoginButton, SessionState};

#[component]
pub fn FarmPanel() -> impl IntoView {
    let count = RwSignal::new(None::<EggCount>);
    let load_error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<Failure>);
    let input = RwSignal::new(String::new());
    let form_error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let saved = RwSignal::new(None::<String>);
    let now = RwSignal::new(0i64);
    // The panel's own copy of the session info, refreshed after each call (renewals move the
    // access token's expiry).
    let SessionState(session) = expect_context::<SessionState>();
    let session_info = RwSignal::new(session.get_untracked());

    #[cfg(feature = "hydrate")]
    {
        use std::time::Duration;
        let tick = move || now.set((js_sys::Date::now() / 1000.0) as i64);
        tick();
        if let Ok(handle) = set_interval_with_handle(tick, Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
        let watch = Watch { notice, session_info };
        Effect::new(move |_| {
            watch.run(
                std::rc::Rc::new(|| Box::pin(super::api::get::<EggCount>("/api/eggs"))),
                std::rc::Rc::new(move |result| match result {
                    Ok(today) => {
                        load_error.set(None);
                        count.set(Some(today));
                    }
                    Err(message) => load_error.set(Some(message)),
                }),
                0,
            )
        });
    }

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        saved.set(None);
        match super::parse_count(&input.get()) {
            Err(message) => form_error.set(Some(message)),
            Ok(n) => {
                form_error.set(None);
                saving.set(true);
                #[cfg(feature = "hydrate")]
                Watch { notice, session_info }.run(
                    std::rc::Rc::new(move || {
                        Box::pin(super::api::post::<EggCount>(
                            "/api/eggs",
                            super::Collected { count: n },
                        ))
                    }),
                    std::rc::Rc::new(move |result| {
                        saving.set(false);
                        match result {
                            Ok(total) => {
                                saved.set(Some(format!("Recorded {n}. Today's total: {}.", total.count)));
                                input.set(String::new());
                                count.set(Some(total));
                            }
                            Err(message) => form_error.set(Some(message)),
                        }
                    }),
                    0,
                );
                #[cfg(not(feature = "hydrate"))]
                let _ = n;
            }
        }
    };

    view! {
        <section class="farm" aria-label="Your farm">
            {move || match notice.get() {
                Some(Failure::SessionEnded) => view! {
                    <div class="banner banner-ended" role="alert">
                        <p>"Your session has ended — log in again."</p>
                        <LoginButton />
                    </div>
                }.into_any(),
                Some(Failure::Unavailable { retry_after_seconds }) => view! {
                    <div class="banner banner-retry" role="status">
                        <p>{format!("COOP is unavailable right now. Retrying in {retry_after_seconds} s…")}</p>
                    </div>
                }.into_any(),
                _ => ().into_any(),
            }}
            <div class="farm-grid">
                <article class="card eggs-today">
                    <h2>"Today's eggs"</h2>
                    {move || match (count.get(), load_error.get()) {
                        (Some(today), _) => view! {
                            <p class="egg-count" data-testid="egg-count">{today.count}</p>
                            <p class="muted">{today.date}</p>
                        }.into_any(),
                        (None, Some(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                        (None, None) => view! { <p class="loading">"Counting"</p> }.into_any(),
                    }}
                </article>
                <article class="card record-eggs">
                    <h2>"Record collected eggs"</h2>
                    <form on:submit=on_submit novalidate>
                        <label for="egg-input">"Eggs collected"</label>
                        <input
                            id="egg-input"
                            type="number"
                            min="1"
                            max=super::MAX_EGGS
                            inputmode="numeric"
                            prop:value=move || input.get()
                            on:input=move |e| input.set(event_target_value(&e))
                        />
                        <button type="submit" disabled=move || saving.get()>
                            {move || if saving.get() { "Recording…" } else { "Record" }}
                        </button>
                        <Show when=move || form_error.get().is_some()>
                            <p class="error" role="alert">{move || form_error.get()}</p>
                        </Show>
                        <Show when=move || saved.get().is_some()>
                            <p class="saved" role="status">{move || saved.get()}</p>
                        </Show>
                    </form>
                </article>
                <article class="card session-panel" aria-label="Session">
                    <h2>"Session"</h2>
                    <dl>
                        <dt>"Access token"</dt>
                        <dd data-testid="access-expiry">
                            {move || {
                                let Some(info) = session_info.get() else { return "…".to_owned() };
                                let left = info.access_token_expires_at - now.get();
                                if now.get() == 0 { "…".to_owned() }
                                else if left > 0 { format!("renews in {left} s or on demand") }
                                else { "expired — renewed on the next request".to_owned() }
                            }}
                        </dd>
                        <dt>"Last renewed"</dt>
                        <dd data-testid="renewed-at">
                            {move || match session_info.get().and_then(|info| info.renewed_at) {
                                Some(at) if now.get() > 0 => format!("{} s ago", (now.get() - at).max(0)),
                                Some(_) => "…".to_owned(),
                                None => "not yet".to_owned(),
                            }}
                        </dd>
                    </dl>
                </article>
            </div>
        </section>
    }
}

/// Runs BFF calls for the panel: on success refreshes the session panel's info; an ended session
/// shows the log-in-again banner; an outage shows the retry notice and retries with backoff.
#[cfg(feature = "hydrate")]
#[derive(Clone, Copy)]
struct Watch {
    notice: RwSignal<Option<Failure>>,
    session_info: RwSignal<Option<SessionInfo>>,
}

#[cfg(feature = "hydrate")]
type Call<T> =
    std::rc::Rc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Failure>>>>>;
#[cfg(feature = "hydrate")]
type Done<T> = std::rc::Rc<dyn Fn(Result<T, String>)>;

#[cfg(feature = "hydrate")]
impl Watch {
    fn run<T: 'static>(self, call: Call<T>, done: Done<T>, attempt: u32) {
        leptos::task::spawn_local(async move {
            match call().await {
                Ok(value) => {
                    self.notice.set(None);
                    done(Ok(value));
                    // The call may have renewed the tokens: show the new expiry.
                    if let Ok(info) = super::api::get::<SessionInfo>("/bff/session").await {
                        self.session_info.set(Some(info));
                    }
                }
                Err(Failure::SessionEnded) => self.notice.set(Some(Failure::SessionEnded)),
                Err(Failure::Unavailable { retry_after_seconds }) => {
                    let wait = super::backoff(attempt, retry_after_seconds);
                    self.notice.set(Some(Failure::Unavailable {
                        retry_after_seconds: wait,
                    }));
                    set_timeout(
                        move || self.run(call, done, attempt + 1),
                        std::time::Duration::from_secs(wait.into()),
                    );
                }
                Err(Failure::Other(message)) => done(Err(message)),
            }
        });
    }
}
