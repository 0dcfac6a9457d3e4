//! The current session as a resource: resolved on the server from the request (the server puts
//! a [`CurrentSession`] into the request's extensions), serialised into the page, and fetched
//! again in the browser through the `current_session_info` server function when it changes.

use leptos::prelude::*;

use super::wire::SessionInfo;

/// The session of the request being rendered, as the server read it from the cookie.
#[derive(Clone, Debug, Default)]
pub struct CurrentSession(pub Option<SessionInfo>);

/// The session resource every component reads.
#[derive(Clone, Copy)]
pub struct SessionResource(pub Resource<Result<Option<SessionInfo>, ServerFnError>>);

/// Who is logged in (no token: [`SessionInfo`] cannot hold one). Server functions live under
/// `/fn`, off the `/api` the BFF proxies.
#[server(prefix = "/fn", endpoint = "session")]
pub async fn current_session_info() -> Result<Option<SessionInfo>, ServerFnError> {
    let parts: Option<http::request::Parts> = use_context();
    Ok(parts
        .and_then(|parts| parts.extensions.get::<CurrentSession>().cloned())
        .and_then(|current| current.0))
}

/// Creates the session resource and provides it to the app.
pub fn provide_session() -> SessionResource {
    let resource = SessionResource(Resource::new(|| (), |_| current_session_info()));
    provide_context(resource);
    resource
}
