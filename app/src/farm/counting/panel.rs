//! The "Daily counting" card: off (turn on), on (since when, last counted, turn off), or
//! stopped because COOP no longer accepts TopCluck's grant (turn it on again, or off), with the
//! chart. Turning on leaves for COOP's consent page (`crate::auth`'s button); turning off is a
//! call here. The status is loaded in the browser, so the server renders "Loading".

use leptos::prelude::*;

use super::chart::CountingChart;
use crate::auth::wire::{CountingState, CountingStatus};
use crate::auth::{SessionState, TurnOnCountingButton};
use crate::farm::panel::local_offset_minutes;

#[component]
pub fn CountingPanel() -> impl IntoView {
    let session = expect_context::<SessionState>();
    let status = RwSignal::new(None::<CountingStatus>);
    let load_error = RwSignal::new(None::<String>);
    let turning_off = RwSignal::new(false);
    let action_error = RwSignal::new(None::<String>);

    #[cfg(feature = "hydrate")]
    let live = live::Live {
        session,
        status,
        load_error,
    };
    // Loads the status, and again (dropping what it shows) whenever the page rechecks.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        session.track_freshness();
        status.set(None);
        action_error.set(None);
        live.load();
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = session;

    let retry = move |_| {
        load_error.set(None);
        #[cfg(feature = "hydrate")]
        live.load();
    };
    let turn_off = move |_| {
        if turning_off.get_untracked() {
            return;
        }
        action_error.set(None);
        #[cfg(feature = "hydrate")]
        live.turn_off(turning_off, action_error);
    };

    view! {
        <article class="card counting" aria-labelledby="counting-heading">
            <h2 id="counting-heading">"Daily counting"</h2>
            {move || match (status.get(), load_error.get()) {
                (Some(status), _) => view! {
                    <State status=status.clone() turning_off turn_off />
                    <Show when=move || action_error.get().is_some()>
                        <p class="error" role="alert" data-testid="counting-error">{move || action_error.get()}</p>
                    </Show>
                    {(matches!(status.state, CountingState::On | CountingState::NeedsConsent) || !status.history.is_empty())
                        .then(|| view! { <CountingChart today=status.today history=status.history /> })}
                }
                    .into_any(),
                (None, Some(message)) => view! {
                    <p class="error" data-testid="counting-error">{message}</p>
                    <button type="button" class="counting-button" on:click=retry>"Load again"</button>
                }
                    .into_any(),
                (None, None) => view! { <p class="loading">"Loading"</p> }.into_any(),
            }}
        </article>
    }
}

/// What the card says for each state, with its button.
#[component]
fn State(
    status: CountingStatus,
    turning_off: RwSignal<bool>,
    turn_off: impl Fn(leptos::ev::MouseEvent) + Send + Sync + 'static,
) -> impl IntoView {
    let offset = local_offset_minutes;
    match status.state {
        CountingState::Off => view! {
            <p data-testid="counting-status">"Daily counting is off."</p>
            <p class="muted">
                "Turn it on and TopCluck counts your eggs once a day while you are away, so a day you \
                 forget to open this page still has its count. COOP asks you to allow it."
            </p>
            <TurnOnCountingButton label="Turn on" />
        }
            .into_any(),
        CountingState::On => view! {
            <p data-testid="counting-status">{super::on_line(&status, offset)}</p>
            {super::outcome_note(status.last_outcome.as_deref()).map(|note| view! { <p class="muted">{note}</p> })}
            {turn_off_button(turning_off, turn_off)}
        }
            .into_any(),
        CountingState::NotConfigured => view! {
            <p data-testid="counting-status">"Daily counting is not available on this TopCluck server."</p>
            <p class="muted">
                "It needs a client registration of its own at the login provider, which this server \
                 does not have yet. Tell the administrator. Nothing else is affected."
            </p>
        }
            .into_any(),
        CountingState::NeedsConsent => view! {
            <div class="counting-stopped" role="alert">
                <p data-testid="counting-status">{super::stopped_line(&status, offset)}</p>
                <p class="muted">"The counts already made are kept."</p>
            </div>
            <div class="counting-actions">
                <TurnOnCountingButton label="Turn it on again" />
                {turn_off_button(turning_off, turn_off)}
            </div>
        }
            .into_any(),
    }
}

/// "Turn off", "Turning off…" while the call is under way.
fn turn_off_button(
    turning_off: RwSignal<bool>,
    turn_off: impl Fn(leptos::ev::MouseEvent) + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <button
            type="button"
            class="counting-button"
            on:click=turn_off
            disabled=move || turning_off.get()
            aria-busy=move || turning_off.get().to_string()
        >
            {move || if turning_off.get() { "Turning off…" } else { "Turn off" }}
        </button>
    }
}

/// The browser's side: loading the status and turning counting off.
#[cfg(feature = "hydrate")]
mod live {
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use serde::Serialize;

    use crate::auth::SessionState;
    use crate::auth::wire::CountingStatus;
    use crate::farm::{Failure, api};

    /// `POST /bff/counting/off`'s body: `{}`.
    #[derive(Serialize)]
    struct Off {}

    #[derive(Clone, Copy)]
    pub struct Live {
        pub session: SessionState,
        pub status: RwSignal<Option<CountingStatus>>,
        pub load_error: RwSignal<Option<String>>,
    }

    impl Live {
        /// Loads the status; an answer that arrives after the session changed is dropped (a
        /// newer load is under way).
        pub fn load(self) {
            let asked = self.session.asked();
            spawn_local(async move {
                let outcome = api::get::<CountingStatus>("/bff/counting").await;
                if self.session.asked() != asked {
                    return;
                }
                match outcome {
                    Ok(status) => {
                        self.load_error.set(None);
                        self.status.set(Some(status));
                    }
                    Err(failure) => self.failed("load daily counting", &failure, self.load_error),
                }
            });
        }

        /// Turns counting off; the card shows the answer. When it is not known whether it was
        /// done, the status is loaded again.
        pub fn turn_off(self, busy: RwSignal<bool>, error: RwSignal<Option<String>>) {
            busy.set(true);
            spawn_local(async move {
                let outcome = api::post::<CountingStatus>("/bff/counting/off", Off {}).await;
                busy.set(false);
                match outcome {
                    Ok(status) => self.status.set(Some(status)),
                    Err(failure) => {
                        self.failed("turn daily counting off", &failure, error);
                        if matches!(failure, Failure::Uncertain(_)) {
                            self.load();
                        }
                    }
                }
            });
        }

        fn failed(self, doing: &str, failure: &Failure, into: RwSignal<Option<String>>) {
            if *failure == Failure::SessionEnded {
                self.session.end();
            }
            into.set(Some(super::super::failure_message(doing, failure)));
        }
    }
}
