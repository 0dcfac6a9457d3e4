//! The session as the page shows it: one signal, provided as context, that the header, the farm
//! page and its session panel all read, so they can never disagree about who is logged in.
//!
//! The server reads the session from the request (the BFF puts a [`CurrentSession`] into the
//! request's extensions); a `SharedValue` carries it into the page, so hydration starts from the
//! same value. The session itself needs no Suspense: the first byte of HTML already says who is logged in,
//! with or without JavaScript. In the browser the value then follows what the BFF says: fresh
//! session info after each call ([`SessionState::set_active`]), and [`Session::Ended`] as soon
//! as any answer says `reauthentication_required` or `unauthenticated` ([`SessionState::end`]);
//! the tab that learned it then tries once to sign the farmer back in without a page
//! (`super::silent`), saying so while it does ([`SessionState::is_signing_back_in`]).
//! A page rendered logged out for a request from another site asks `/bff/session` once after
//! hydration (the cookie is `SameSite=Strict`: the server did not see it).

use leptos::prelude::*;

use crate::farm::Failure;
use crate::wire::SessionInfo;

/// The session of the request being rendered, as the server read it from the cookie.
#[derive(Clone, Debug, Default)]
pub struct CurrentSession(pub Option<SessionInfo>);

/// Who is logged in, as far as this page knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Session {
    /// Nobody was logged in when the page was rendered.
    LoggedOut,
    /// A farmer is logged in; the info is the BFF's latest word.
    Active(SessionInfo),
    /// A farmer was logged in, but the session ended while the page was open (refresh token
    /// expired or revoked, cookie gone): the page asks them to log in again.
    Ended,
}

/// The current session, for every component (`expect_context::<SessionState>()`).
///
/// Components that only care whether someone is logged in should read it through a `Memo`
/// (as the header and the home page do): the info changes after every renewal, and a view
/// that re-rendered on each change would lose its own state.
///
/// It also carries the page's freshness: [`SessionState::recheck`] (after the computer slept,
/// say) makes every card whose `LocalResource` is keyed on [`SessionState::freshness`] drop
/// what it shows and load it again.
///
/// Its last signal is non-zero while a silent login is on its way
/// ([`SessionState::is_signing_back_in`]): a number, not a `bool`, because the page already has
/// `RwSignal<u32>` and a signal of a new type costs about 1.2 KB of gzipped WASM.
#[derive(Clone, Copy)]
pub struct SessionState(RwSignal<Session>, StoredValue<u64>, RwSignal<u32>, RwSignal<u32>);

/// When a question about the session was asked: [`SessionState::asked`]. Every change of
/// session (ended, logged out or in elsewhere, rechecked) starts a new generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asked(u64);

impl SessionState {
    /// The whole state (tracked).
    pub fn get(self) -> Session {
        self.0.get()
    }

    /// Reads the state without cloning it (tracked).
    pub fn with<R>(self, f: impl FnOnce(&Session) -> R) -> R {
        self.0.with(f)
    }

    /// The session info while a farmer is logged in (tracked).
    pub fn info(self) -> Option<SessionInfo> {
        self.0.with(|session| match session {
            Session::Active(info) => Some(info.clone()),
            _ => None,
        })
    }

    /// The logged-in farmer's display name (tracked).
    pub fn farmer_name(self) -> Option<String> {
        self.0.with(|session| match session {
            Session::Active(info) => Some(info.farmer.display_name().to_owned()),
            _ => None,
        })
    }

    /// True once the session has ended while the page was open (tracked).
    pub fn is_ended(self) -> bool {
        self.0.with(|session| matches!(session, Session::Ended))
    }

    /// True once the session has ended (untracked: for code outside views and effects).
    pub fn is_ended_untracked(self) -> bool {
        self.0.with_untracked(|session| matches!(session, Session::Ended))
    }

    /// True when nobody was logged in to begin with (tracked).
    pub fn is_logged_out(self) -> bool {
        self.0.with(|session| matches!(session, Session::LoggedOut))
    }

    /// Call before asking the BFF for the session, and hand the result to
    /// [`SessionState::set_active`] with the answer.
    pub fn asked(self) -> Asked {
        Asked(self.1.get_value())
    }

    /// The BFF answered a question asked at `asked` with session info: the farmer is (still, or
    /// again) logged in. An answer to a question asked before the session ended is ignored: it
    /// may have been sent with the cookie that is gone now.
    pub fn set_active(self, asked: Asked, info: SessionInfo) {
        if asked != self.asked() {
            return;
        }
        let changed = self
            .0
            .with_untracked(|session| !matches!(session, Session::Active(current) if *current == info));
        if changed {
            self.0.set(Session::Active(info));
        }
    }

    /// True while a farmer is logged in (untracked).
    pub fn is_active_untracked(self) -> bool {
        self.0
            .with_untracked(|session| matches!(session, Session::Active(_)))
    }

    /// The BFF said the session is over (`reauthentication_required` or `unauthenticated`).
    /// A page that had nobody logged in stays logged out. The other tabs are told, and this one
    /// tries once to sign the farmer back in without a page (`super::silent`), unless a silent
    /// try was made moments ago or came back without a session.
    pub fn end(self) {
        if self.end_here() {
            #[cfg(feature = "hydrate")]
            {
                super::tabs::announce(super::tabs::TabNews::Ended);
                if super::silent::claim() {
                    self.3.set(1);
                    leptos::task::spawn_local(async move {
                        // On its way: the page stays "signing you back in" until it is gone.
                        if super::browser::start_silent_login().await.is_err() {
                            super::silent::abandoned();
                            self.3.set(0);
                        }
                    });
                }
            }
        }
    }

    /// True while the page is on its way to sign the farmer back in (tracked).
    pub fn is_signing_back_in(self) -> bool {
        self.3.get() != 0
    }

    /// Another tab learned that the session ended: this one shows it too.
    pub fn end_elsewhere(self) {
        self.end_here();
    }

    /// Ends the session on this page; true when it was active.
    fn end_here(self) -> bool {
        let was_logged_in = self.is_active_untracked();
        if was_logged_in {
            self.1.update_value(|ends| *ends += 1);
            self.0.set(Session::Ended);
        }
        was_logged_in
    }

    /// The farmer logged out in another tab: this one shows nobody logged in. Answers to
    /// questions asked before are ignored, as after an end.
    pub fn log_out_elsewhere(self) {
        self.1.update_value(|ends| *ends += 1);
        if !self.is_logged_out_untracked() {
            self.0.set(Session::LoggedOut);
        }
    }

    fn is_logged_out_untracked(self) -> bool {
        self.0
            .with_untracked(|session| matches!(session, Session::LoggedOut))
    }

    /// How fresh what the page shows is (tracked): the key of every load. A `LocalResource` that
    /// reads it loads again, dropping what it showed, whenever the page rechecks
    /// ([`SessionState::recheck`]).
    pub fn freshness(self) -> u32 {
        self.2.get()
    }

    /// Awaits `call`, a question to the BFF asked now: its answer, or `None` when the session
    /// changed before the answer came (ended, logged out or in elsewhere, rechecked): it may have
    /// been sent with a cookie that is gone, or belong to the time before the computer slept.
    pub async fn unless_changed<T>(self, call: impl Future<Output = T>) -> Option<T> {
        let asked = self.asked();
        let answer = call.await;
        (self.asked() == asked).then_some(answer)
    }

    /// Asks the BFF who is logged in, in the background: fresh session info (renewals move the
    /// expiries), or the news that the session ended.
    pub fn check_with_the_bff(self) {
        leptos::task::spawn_local(ask(self));
    }

    /// What the page shows may be stale (the computer slept, another tab logged in): every
    /// panel drops its data and loads it again. Answers to questions asked before are ignored:
    /// they may belong to another farmer's cookie, or to the time before the sleep.
    pub fn recheck(self) {
        self.1.update_value(|generation| *generation += 1);
        self.2.update(|epoch| *epoch = epoch.wrapping_add(1));
    }
}

/// Reads the session (server) or the value the server sent (hydration) and provides it.
pub fn provide_session() -> SessionState {
    // The session as the server saw it, and whether the server could see it at all.
    let (initial, unseen) = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            let parts = use_context::<http::request::Parts>();
            let current = parts
                .as_ref()
                .and_then(|parts| parts.extensions.get::<CurrentSession>().cloned())
                .and_then(|current| current.0);
            // The session cookie is `SameSite=Strict`: a navigation from another site (a link
            // in an email, the provider's redirect) does not carry it.
            let cross_site = parts.is_some_and(|parts| {
                parts
                    .headers
                    .get("sec-fetch-site")
                    .is_some_and(|site| site.as_bytes() == b"cross-site")
            });
            let unseen = current.is_none() && cross_site;
            (current, unseen)
        }
        #[cfg(not(feature = "ssr"))]
        {
            (None::<SessionInfo>, false)
        }
    })
    .into_inner();
    let state = SessionState(
        RwSignal::new(match initial {
            Some(info) => Session::Active(info),
            None => Session::LoggedOut,
        }),
        StoredValue::new(0),
        RwSignal::new(0),
        RwSignal::new(0),
    );
    provide_context(state);
    #[cfg(feature = "hydrate")]
    {
        // A page rendered logged out because the request came from another site (so without
        // the `SameSite=Strict` session cookie) asks the BFF once, with the cookie.
        if unseen {
            state.check_with_the_bff();
        }
        super::tabs::follow(state);
        super::wake::watch(state);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = unseen;
    state
}

/// What this tab shows may be stale or another farmer's (the computer slept, another tab
/// logged in): every panel drops its data and loads it again, and the BFF is asked who is
/// logged in.
#[cfg(feature = "hydrate")]
pub(crate) fn recheck_with_the_bff(state: SessionState) {
    state.recheck();
    state.check_with_the_bff();
}

/// Asks the BFF who is logged in: fresh session info, or the news that the session ended.
async fn ask(state: SessionState) {
    let asked = state.asked();
    match crate::api::get::<SessionInfo>("/bff/session")
        .await
        .map_err(Failure::from)
    {
        Ok(info) => state.set_active(asked, info),
        Err(Failure::SessionEnded) => state.end(),
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Farmer;

    fn info(expires: i64) -> SessionInfo {
        SessionInfo {
            farmer: Farmer {
                sub: "ada".into(),
                name: Some("Ada Henhouse".into()),
                email: None,
            },
            access_token_expires_at: expires,
            refresh_token_expires_at: None,
            session_expires_at: expires + 100,
            scopes: vec![],
            renewed_at: None,
        }
    }

    /// A fresh page's session state, as [`provide_session`] makes it.
    fn state_of(session: Session) -> SessionState {
        SessionState(
            RwSignal::new(session),
            StoredValue::new(0),
            RwSignal::new(0),
            RwSignal::new(0),
        )
    }

    #[test]
    fn an_ended_session_shows_nobody_and_a_new_answer_brings_the_farmer_back() {
        let owner = Owner::new();
        owner.with(|| {
            let state = state_of(Session::Active(info(10)));
            assert_eq!(state.farmer_name().as_deref(), Some("Ada Henhouse"));
            let before_the_end = state.asked();
            state.end();
            assert!(state.is_ended());
            assert_eq!(state.farmer_name(), None);
            assert_eq!(state.info(), None);
            // An answer to a question asked before the end may carry the old cookie: ignored.
            state.set_active(before_the_end, info(15));
            assert!(state.is_ended());
            state.set_active(state.asked(), info(20));
            assert_eq!(state.get(), Session::Active(info(20)));
        });
    }

    #[test]
    fn answers_asked_before_a_recheck_or_another_tabs_logout_are_ignored() {
        let owner = Owner::new();
        owner.with(|| {
            let state = state_of(Session::Active(info(10)));
            // Another farmer logged in elsewhere, or the computer slept: the page rechecks.
            let before_the_recheck = state.asked();
            state.recheck();
            state.set_active(before_the_recheck, info(99));
            assert_eq!(
                state.get(),
                Session::Active(info(10)),
                "an answer from before is dropped"
            );
            state.set_active(state.asked(), info(20));
            assert_eq!(state.get(), Session::Active(info(20)));
            // Logged out in another tab: nobody, and answers from before stay dropped.
            let before_the_logout = state.asked();
            state.log_out_elsewhere();
            assert!(state.is_logged_out());
            state.set_active(before_the_logout, info(30));
            assert!(state.is_logged_out());
        });
    }

    #[test]
    fn a_logged_out_page_stays_logged_out_when_told_the_session_ended() {
        let owner = Owner::new();
        owner.with(|| {
            let state = state_of(Session::LoggedOut);
            state.end();
            assert!(state.is_logged_out());
            assert!(!state.is_ended());
        });
    }
}
