//! The logged-in farm page: the banner, then the cards — today's eggs, the record form, the
//! session, daily counting.
//!
//! Who is logged in comes from the shared [`SessionState`]: every BFF answer that says the
//! session ended ends it there, so the header shows "Log in" at the same moment this page
//! shows the log-in-again notice; every call that completes refreshes it from `/bff/session`.

use leptos::prelude::*;

use super::banner::Banner;
use super::counting::CountingCard;
use super::eggs_today::EggsTodayCard;
use super::record::RecordCard;
use super::session_card::SessionCard;
use crate::auth::SessionState;

#[component]
pub fn FarmPanel() -> impl IntoView {
    let session = expect_context::<SessionState>();
    let today = super::today::load(session);
    let ended = Memo::new(move |_| session.is_ended());
    view! {
        <section class="farm" aria-label="Your farm">
            <Banner ended today />
            <div class="farm-grid">
                <EggsTodayCard today />
                <RecordCard today />
                <SessionCard ended />
                <CountingCard />
            </div>
        </section>
    }
}
