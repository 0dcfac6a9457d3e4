//! The logged-in farm page: egg count, the record form, the session panel, and the notices for
//! an ended session (log in again), a provider outage (retrying with backoff) and a provider
//! that refuses TopCluck's own credentials (still logged in).
//!
//! Who is logged in comes from the shared [`SessionState`]: every BFF answer that says the
//! session ended ends it there, so the header shows "Log in" at the same moment this page
//! shows the log-in-again notice; every call that completes refreshes it from `/bff/session`.

use leptos::prelude::*;

use super::{EggCount, Note, NoteKind, time};
use crate::auth::{LoginButton, SessionState};

/// A notice about the farm as a whole, from loading today's count.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Notice {
    /// The provider is down: the count is asked for again in this many seconds.
    Retrying { seconds: u32 },
    /// The provider refuses TopCluck's own credentials: asked for again every 30 s.
    ClientMisconfigured,
}

#[component]
pub fn FarmPanel() -> impl IntoView {
    let session = expect_context::<SessionState>();
    let count = RwSignal::new(None::<EggCount>);
    let load_error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<Notice>);
    let input = RwSignal::new(String::new());
    // What became of the last record (or why the input was refused).
    let note = RwSignal::new(None::<Note>);
    let saving = RwSignal::new(false);
    // Unix seconds, set once the page is hydrated: 0 while server-rendered, so the server's HTML
    // and the browser's first render agree.
    let now = RwSignal::new(0i64);
    let ended = Memo::new(move |_| session.is_ended());

    #[cfg(feature = "hydrate")]
    let live = live::Live {
        session,
        count,
        load_error,
        notice,
        loading: StoredValue::new(None),
    };
    #[cfg(feature = "hydrate")]
    {
        use std::time::Duration;
        let tick = move || now.set((js_sys::Date::now() / 1000.0) as i64);
        Effect::new(move |_| tick());
        if let Ok(handle) = set_interval_with_handle(tick, Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
        // Loads today's count, and again (dropping what it shows) whenever the page rechecks.
        Effect::new(move |_| {
            session.track_freshness();
            count.set(None);
            load_error.set(None);
            note.set(None);
            live.load(0);
        });
        // A session that reaches its end while the page sits open: ask the BFF, which says so.
        Effect::new(move |checked: Option<Option<i64>>| {
            let checked = checked.flatten();
            let ends_at = session.with(|s| match s {
                crate::auth::Session::Active(info) => Some(info.session_expires_at),
                _ => None,
            });
            match ends_at {
                Some(at) if now.get() >= at && checked != Some(at) => {
                    leptos::task::spawn_local(live.sync_session());
                    Some(at)
                }
                _ => checked,
            }
        });
    }

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if saving.get_untracked() {
            return;
        }
        match super::parse_count(&input.get_untracked()) {
            Err(message) => note.set(Some(Note {
                kind: NoteKind::Failed,
                text: message,
            })),
            Ok(n) => {
                note.set(None);
                #[cfg(feature = "hydrate")]
                live.record(n, saving, note, input);
                #[cfg(not(feature = "hydrate"))]
                let _ = n;
            }
        }
    };

    let access_at = Memo::new(move |_| session.info().map(|info| info.access_token_expires_at));
    let renewed_at = Memo::new(move |_| session.info().and_then(|info| info.renewed_at));
    let refresh_at = Memo::new(move |_| session.info().map(|info| info.refresh_token_expires_at));
    let session_at = Memo::new(move |_| session.info().map(|info| info.session_expires_at));

    view! {
        <section class="farm" aria-label="Your farm">
            {move || {
                if ended.get() {
                    view! {
                        <div class="banner banner-ended" role="alert">
                            <p>"Your session has ended — log in again."</p>
                            <LoginButton label="Log in again" />
                        </div>
                    }
                        .into_any()
                } else {
                    match notice.get() {
                        Some(Notice::Retrying { seconds }) => view! {
                            <div class="banner banner-retry" role="status">
                                <p>{format!("COOP is unavailable right now. Retrying in {seconds} s…")}</p>
                            </div>
                        }
                            .into_any(),
                        Some(Notice::ClientMisconfigured) => view! {
                            <div class="banner banner-config" role="status">
                                <p>{super::CLIENT_MISCONFIGURED}</p>
                            </div>
                        }
                            .into_any(),
                        None => ().into_any(),
                    }
                }
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
                        // aria-disabled, not disabled: a disabled button loses the keyboard focus
                        // (to <body>) while recording. `on_submit` ignores a second submit.
                        <button type="submit" aria-disabled=move || saving.get().to_string() aria-busy=move || saving.get().to_string()>
                            {move || if saving.get() { "Recording…" } else { "Record" }}
                        </button>
                        // Always present, so screen readers announce what is put in it.
                        <p
                            class=move || match note.get().map(|n| n.kind) {
                                Some(NoteKind::Saved) => "record-status saved",
                                Some(NoteKind::Retry) => "record-status retry-note",
                                _ => "record-status",
                            }
                            role="status"
                            data-testid="record-status"
                        >
                            {move || note.get().filter(|n| n.kind != NoteKind::Failed).map(|n| n.text)}
                        </p>
                        <Show when=move || note.get().is_some_and(|n| n.kind == NoteKind::Failed)>
                            <p class="error" role="alert" data-testid="record-error">
                                {move || note.get().map(|n| n.text)}
                            </p>
                        </Show>
                    </form>
                </article>
                <article class="card session-panel" aria-label="Session">
                    <h2>"Session"</h2>
                    {move || {
                        if ended.get() {
                            view! {
                                <p data-testid="session-ended">"Ended. Log in again to start a new session."</p>
                            }
                                .into_any()
                        } else {
                            view! {
                                <dl>
                                    <dt>"Access token"</dt>
                                    <dd data-testid="access-expiry">
                                        {move || {
                                            let (Some(at), t) = (access_at.get(), now.get()) else { return "…".to_owned() };
                                            if t == 0 { "…".to_owned() }
                                            else if at > t { format!("renews in {} s or on demand", at - t) }
                                            else { "expired — renewed on the next request".to_owned() }
                                        }}
                                    </dd>
                                    <dt>"Last renewed"</dt>
                                    <dd data-testid="renewed-at">
                                        {move || match renewed_at.get() {
                                            Some(at) if now.get() > 0 => format!("{} s ago", (now.get() - at).max(0)),
                                            Some(_) => "…".to_owned(),
                                            None => "not yet".to_owned(),
                                        }}
                                    </dd>
                                    <dt>"Refresh token expires"</dt>
                                    <dd data-testid="refresh-expiry">
                                        {move || match refresh_at.get().flatten() {
                                            Some(at) => view! { <Expiry at now /> }.into_any(),
                                            None => "not said by the provider".into_any(),
                                        }}
                                    </dd>
                                    <dt>"Session ends"</dt>
                                    <dd data-testid="session-expiry">
                                        {move || session_at.get().map(|at| view! { <Expiry at now /> })}
                                    </dd>
                                </dl>
                            }
                                .into_any()
                        }
                    }}
                </article>
                <super::counting::CountingPanel />
            </div>
        </section>
    }
}

/// When something ends: "in 7 days (2026-11-30 12:00 UTC)", the absolute time in the browser's
/// time zone once hydrated (UTC in the server's HTML), and machine-readable in `datetime`.
#[component]
fn Expiry(at: i64, now: RwSignal<i64>) -> impl IntoView {
    view! {
        <time datetime=time::iso(at)>
            {move || match now.get() {
                0 => "…".to_owned(),
                t if at > t => time::relative(at - t),
                _ => "passed".to_owned(),
            }}
        </time>
        " ("
        {move || time::absolute(at, if now.get() > 0 { local_offset_minutes(at) } else { 0 })}
        ")"
    }
}

/// The browser's offset from UTC at `at`, in minutes east (0 on the server).
pub(super) fn local_offset_minutes(at: i64) -> i32 {
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

/// The browser's side of the farm page: the calls, and what each outcome does to the page.
#[cfg(feature = "hydrate")]
mod live {
    use leptos::prelude::*;
    use leptos::task::spawn_local;

    use super::super::{Collected, EggCount, Failure, Note, api, backoff, record_note};
    use super::Notice;
    use crate::auth::{Asked, SessionState};

    #[derive(Clone, Copy)]
    pub struct Live {
        pub session: SessionState,
        pub count: RwSignal<Option<EggCount>>,
        pub load_error: RwSignal<Option<String>>,
        pub notice: RwSignal<Option<Notice>>,
        /// The generation a load is under way (or waiting to retry) for: a second one for the
        /// same generation is not started.
        pub loading: StoredValue<Option<Asked>>,
    }

    impl Live {
        /// Loads today's count; retries with backoff while the provider is unavailable (or
        /// refuses TopCluck's credentials), and stops once the page is gone.
        ///
        /// A load belongs to the session's generation it started in ([`SessionState::asked`]):
        /// its answer is dropped once the session changed (ended, another farmer logged in, the
        /// page rechecked), and a load for the new generation starts even while one for an
        /// older one is still under way.
        pub fn load(self, attempt: u32) {
            let asked = self.session.asked();
            match self.loading.try_get_value() {
                None => return,
                Some(Some(loading)) if loading == asked && attempt == 0 => return,
                Some(_) => self.loading.set_value(Some(asked)),
            }
            spawn_local(async move {
                let outcome = api::get::<EggCount>("/api/eggs").await;
                if self.session.asked() != asked {
                    return;
                }
                let retry_in = match outcome {
                    Ok(today) => {
                        self.notice.set(None);
                        self.load_error.set(None);
                        self.count.set(Some(today));
                        None
                    }
                    Err(Failure::Unavailable { retry_after_seconds }) => {
                        let seconds = backoff(attempt, retry_after_seconds);
                        self.notice.set(Some(Notice::Retrying { seconds }));
                        Some(seconds)
                    }
                    Err(Failure::ClientMisconfigured) => {
                        self.notice.set(Some(Notice::ClientMisconfigured));
                        Some(30)
                    }
                    Err(failure) => {
                        self.notice.set(None);
                        if failure == Failure::SessionEnded {
                            self.session.end();
                        }
                        self.load_error.set(Some(failure.load_message()));
                        None
                    }
                };
                match retry_in {
                    Some(seconds) => set_timeout(
                        move || self.load(attempt + 1),
                        std::time::Duration::from_secs(seconds.into()),
                    ),
                    None => {
                        self.loading.set_value(None);
                        if !self.session.is_ended_untracked() {
                            self.sync_session().await;
                        }
                    }
                }
            });
        }

        /// Records `n` eggs. The button is freed whatever the outcome, and the note says what
        /// became of the eggs.
        pub fn record(
            self,
            n: i64,
            saving: RwSignal<bool>,
            note: RwSignal<Option<Note>>,
            input: RwSignal<String>,
        ) {
            saving.set(true);
            spawn_local(async move {
                let outcome = api::post::<EggCount>("/api/eggs", Collected { count: n }).await;
                saving.set(false);
                note.set(Some(record_note(n, &outcome)));
                match outcome {
                    Ok(total) => {
                        input.set(String::new());
                        self.notice.set(None);
                        self.count.set(Some(total));
                    }
                    Err(Failure::SessionEnded) => {
                        self.session.end();
                        return;
                    }
                    // They may have been recorded: show today's count as it now is.
                    Err(Failure::Uncertain(_)) => self.load(0),
                    Err(_) => {}
                }
                self.sync_session().await;
            });
        }

        /// Asks the BFF who is logged in: new session info (renewals move the expiries), or the
        /// news that the session ended.
        pub async fn sync_session(self) {
            crate::auth::ask(self.session).await;
        }
    }
}
