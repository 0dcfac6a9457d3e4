//! The "Daily counting" card: off (turn on), on (since when, last counted, turn off), or
//! stopped because COOP no longer accepts TopCluck's grant (turn it on again, or off), with the
//! chart. Turning on leaves for COOP's consent page (`crate::auth`'s button); turning off is a
//! call here. The status is loaded in the browser, so the server renders "Loading".

use leptos::prelude::*;
use serde::Serialize;

use super::chart::CountingChart;
use super::failure_message;
use crate::api;
use crate::auth::{SessionState, TurnOnCountingButton};
use crate::farm::Failure;
use crate::farm::time::local_offset_minutes;
use crate::wire::{CountingState, CountingStatus};

/// `POST /bff/counting/off`'s body: `{}`.
#[derive(Serialize)]
struct Off {}

#[component]
pub fn CountingCard() -> impl IntoView {
    let session = expect_context::<SessionState>();
    let failed = move |doing: &str, failure: Failure| {
        if failure == Failure::SessionEnded {
            session.end();
        }
        failure_message(doing, &failure)
    };
    // Loads the status, and again (dropping what it shows) whenever the page rechecks. `None`
    // for an answer that came after the session changed: not shown (a newer load is under way,
    // or the session has ended).
    let status = LocalResource::new(move || {
        session.freshness();
        async move {
            let answer = session
                .unless_changed(api::get::<CountingStatus>("/bff/counting"))
                .await?;
            Some(answer.map_err(|failure| failed("load daily counting", failure.into())))
        }
    });
    // Turns counting off; the card shows the answer, and the action's value what went wrong.
    // When it is not known whether it was done, the status is loaded again.
    let turn_off = Action::new_local(move |_: &()| async move {
        match api::post::<CountingStatus>("/bff/counting/off", &Off {})
            .await
            .map_err(Failure::from)
        {
            Ok(off) => {
                status.set(Some(Some(Ok(off))));
                Ok(())
            }
            Err(failure) => {
                let uncertain = matches!(failure, Failure::Uncertain(_));
                let message = failed("turn daily counting off", failure);
                if uncertain {
                    status.refetch();
                }
                Err(message)
            }
        }
    });
    // A recheck drops the last error along with the status.
    Effect::new(move |_| {
        session.freshness();
        turn_off.clear();
    });
    // Shown once the attempt is over.
    let error = move || {
        if turn_off.pending().get() {
            return None;
        }
        turn_off.value().get().and_then(Result::err)
    };

    view! {
        <article class="card counting" aria-labelledby="counting-heading">
            <h2 id="counting-heading">"Daily counting"</h2>
            <Suspense fallback=loading>
                {move || match status.get().flatten() {
                    Some(Ok(status)) => view! {
                        <State status=status.clone() turn_off />
                        <Show when=move || error().is_some()>
                            <p class="error" role="alert" data-testid="counting-error">{error}</p>
                        </Show>
                        {(matches!(status.state, CountingState::On | CountingState::NeedsConsent) || !status.history.is_empty())
                            .then(|| view! { <CountingChart today=status.today history=status.history /> })}
                    }
                        .into_any(),
                    Some(Err(message)) => view! {
                        <p class="error" data-testid="counting-error">{message}</p>
                        <button type="button" class="counting-button" on:click=move |_| status.refetch()>"Load again"</button>
                    }
                        .into_any(),
                    None => loading().into_any(),
                }}
            </Suspense>
        </article>
    }
}

fn loading() -> impl IntoView {
    view! { <p class="loading">"Loading"</p> }
}

/// What the card says for each state, with its button.
#[component]
fn State(status: CountingStatus, turn_off: Action<(), Result<(), String>>) -> impl IntoView {
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
            {turn_off_button(turn_off)}
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
                {turn_off_button(turn_off)}
            </div>
        }
            .into_any(),
    }
}

/// "Turn off", "Turning off…" while the call is under way.
fn turn_off_button(turn_off: Action<(), Result<(), String>>) -> impl IntoView {
    let busy = turn_off.pending();
    view! {
        <button
            type="button"
            class="counting-button"
            on:click=move |_| {
                if !busy.get_untracked() {
                    turn_off.dispatch(());
                }
            }
            disabled=move || busy.get()
            aria-busy=move || busy.get().to_string()
        >
            {move || if busy.get() { "Turning off…" } else { "Turn off" }}
        </button>
    }
}
