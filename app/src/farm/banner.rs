//! The banner above the farm's cards: the session has ended (log in again — unless the page is
//! signing the farmer back in, which the header says), COOP is unavailable (the count is asked
//! for again shortly), or COOP refuses TopCluck's own credentials (the farmer is still logged
//! in). Nothing otherwise.

use leptos::prelude::*;

use super::today::{Notice, Today};
use crate::auth::{LoginButton, SessionState};

#[component]
pub fn Banner(ended: Memo<bool>, today: LocalResource<Today>) -> impl IntoView {
    // The notice of the last answer while the count is waited for.
    let notice = Memo::new(move |_| match today.get() {
        Some(Today::Waiting(notice)) => Some(notice),
        _ => None,
    });
    let session = expect_context::<SessionState>();
    move || {
        if ended.get() && session.is_signing_back_in() {
            return ().into_any();
        }
        if ended.get() {
            return view! {
                <div class="banner banner-ended" role="alert">
                    <p>"Your session has ended — log in again."</p>
                    <LoginButton label="Log in again" />
                </div>
            }
            .into_any();
        }
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
}
