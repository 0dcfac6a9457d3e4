//! The "Session" card: when the access token renews, when it was last renewed, when the
//! refresh token and the session expire, or that the session has ended. It follows the shared
//! session info (fresh after every call), counts down with a one-second clock once hydrated,
//! and asks the BFF when the session reaches its end while the page sits open.

use leptos::prelude::*;

use super::time;
use crate::auth::{Session, SessionState};

#[component]
pub fn SessionCard(ended: Memo<bool>) -> impl IntoView {
    let session = expect_context::<SessionState>();
    let now = clock();
    // A session that reaches its end while the page sits open: ask the BFF, which says so.
    Effect::new(move |asked_at: Option<Option<i64>>| {
        let asked_at = asked_at.flatten();
        let ends_at = session.with(|s| match s {
            Session::Active(info) => Some(info.session_expires_at),
            _ => None,
        });
        match ends_at {
            Some(at) if now.get() >= at && asked_at != Some(at) => {
                session.check_with_the_bff();
                Some(at)
            }
            _ => asked_at,
        }
    });
    // Memos: the expiries' views are rebuilt only when their time changes, not on every renewal.
    let refresh_at = Memo::new(move |_| session.info().map(|info| info.refresh_token_expires_at));
    let session_at = Memo::new(move |_| session.info().map(|info| info.session_expires_at));
    let access = move || {
        let (Some(at), t) = (session.info().map(|i| i.access_token_expires_at), now.get()) else {
            return "…".to_owned();
        };
        if t == 0 {
            "…".to_owned()
        } else if at > t {
            format!("renews in {} s or on demand", at - t)
        } else {
            "expired — renewed on the next request".to_owned()
        }
    };
    let renewed = move || match session.info().and_then(|info| info.renewed_at) {
        Some(at) if now.get() > 0 => format!("{} s ago", (now.get() - at).max(0)),
        Some(_) => "…".to_owned(),
        None => "not yet".to_owned(),
    };
    view! {
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
                            <dd data-testid="access-expiry">{access}</dd>
                            <dt>"Last renewed"</dt>
                            <dd data-testid="renewed-at">{renewed}</dd>
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
    }
}

/// Unix seconds, ticking every second once the page is hydrated: 0 while server-rendered, so
/// the server's HTML and the browser's first render agree.
fn clock() -> ReadSignal<i64> {
    let (now, set_now) = signal(0i64);
    #[cfg(feature = "hydrate")]
    {
        let tick = move || set_now.set((js_sys::Date::now() / 1000.0) as i64);
        Effect::new(move |_| tick());
        if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = set_now;
    now
}

/// When something ends: "in 7 days (2026-11-30 12:00 UTC)", the absolute time in the browser's
/// time zone once hydrated (UTC in the server's HTML), and machine-readable in `datetime`.
#[component]
fn Expiry(at: i64, now: ReadSignal<i64>) -> impl IntoView {
    view! {
        <time datetime=time::iso(at)>
            {move || match now.get() {
                0 => "…".to_owned(),
                t if at > t => time::relative(at - t),
                _ => "passed".to_owned(),
            }}
        </time>
        " ("
        {move || time::absolute(at, if now.get() > 0 { time::local_offset_minutes(at) } else { 0 })}
        ")"
    }
}
