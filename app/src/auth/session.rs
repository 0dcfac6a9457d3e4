//! The session as the page shows it. The server reads it from the request (the BFF puts a
//! [`CurrentSession`] into the request's extensions); a `SharedValue` carries it into the page,
//! so hydration starts from the same value. No Suspense, no streaming: the first byte of HTML
//! already says who is logged in, with or without JavaScript.

use leptos::prelude::*;

use super::wire::SessionInfo;

/// The session of the request being rendered, as the server read it from the cookie.
#[derive(Clone, Debug, Default)]
pub struct CurrentSession(pub Option<SessionInfo>);

/// Who is logged in, for every component. Login and logout reload the page, so it does not
/// change while a page lives (the farm panel keeps its own copy of the token expiry).
#[derive(Clone, Copy)]
pub struct SessionState(pub ReadSignal<Option<SessionInfo>>);

/// Reads the session (server) or the value the server sent (hydration) and provides it.
pub fn provide_session() -> SessionState {
    let initial = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<CurrentSession>().cloned())
                .and_then(|current| current.0)
        }
        #[cfg(not(feature = "ssr"))]
        {
            None::<SessionInfo>
        }
    })
    .into_inner();
    let state = SessionState(RwSignal::new(initial).read_only());
    provide_context(state);
    state
}
