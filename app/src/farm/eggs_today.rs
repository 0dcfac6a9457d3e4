//! The "Today's eggs" card: the count, "Counting" while it loads (and while COOP is waited
//! for), or why it could not be loaded. The server renders "Counting".

use leptos::prelude::*;

use super::today::Today;

#[component]
pub fn EggsTodayCard(today: LocalResource<Today>) -> impl IntoView {
    let counting = || view! { <p class="loading">"Counting"</p> };
    view! {
        <article class="card eggs-today">
            <h2>"Today's eggs"</h2>
            <Suspense fallback=counting>
                {move || match today.get() {
                    Some(Today::Count(today)) => view! {
                        <p class="egg-count" data-testid="egg-count">{today.count}</p>
                        <p class="muted">{today.date}</p>
                    }.into_any(),
                    Some(Today::Failed(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                    _ => counting().into_any(),
                }}
            </Suspense>
        </article>
    }
}
