//! The "Record collected eggs" card: the form, and an `Action` that records the eggs. The
//! action's pending state is the busy button ("Recording…"), its value the note that says what
//! became of the eggs (or why the number was refused before anything was sent).

use leptos::prelude::*;

use super::today::Today;
use super::{Failure, MAX_EGGS, Note, NoteKind, parse_count, record_note};
use crate::api;
use crate::auth::SessionState;
use crate::wire::{Collected, EggCount};

#[component]
pub fn RecordCard(today: LocalResource<Today>) -> impl IntoView {
    let session = expect_context::<SessionState>();
    let input = RwSignal::new(String::new());
    let record = Action::new_local(move |&n: &i64| async move {
        let outcome = api::post::<EggCount>("/api/eggs", &Collected { count: n })
            .await
            .map_err(Failure::from);
        let note = record_note(n, &outcome);
        match outcome {
            Ok(total) => {
                input.set(String::new());
                today.set(Some(Today::Count(total)));
            }
            Err(Failure::SessionEnded) => {
                session.end();
                return note;
            }
            // They may have been recorded: show today's count as it now is.
            Err(Failure::Uncertain(_)) => today.refetch(),
            Err(_) => {}
        }
        session.check_with_the_bff();
        note
    });
    // A recheck drops the last note along with the count.
    Effect::new(move |_| {
        session.freshness();
        record.clear();
    });
    let note = record.value();
    let busy = record.pending();

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        match parse_count(&input.get_untracked()) {
            Err(message) => note.set(Some(Note {
                kind: NoteKind::Failed,
                text: message,
            })),
            Ok(n) => {
                note.set(None);
                record.dispatch(n);
            }
        }
    };

    view! {
        <article class="card record-eggs">
            <h2>"Record collected eggs"</h2>
            <form on:submit=on_submit novalidate>
                <label for="egg-input">"Eggs collected"</label>
                <input
                    id="egg-input"
                    type="number"
                    min="1"
                    max=MAX_EGGS
                    inputmode="numeric"
                    prop:value=move || input.get()
                    on:input=move |e| input.set(event_target_value(&e))
                />
                // aria-disabled, not disabled: a disabled button loses the keyboard focus
                // (to <body>) while recording. `on_submit` ignores a second submit.
                <button type="submit" aria-disabled=move || busy.get().to_string() aria-busy=move || busy.get().to_string()>
                    {move || if busy.get() { "Recording…" } else { "Record" }}
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
    }
}
