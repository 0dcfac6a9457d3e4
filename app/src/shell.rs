//! The HTML document and the router: every page of TopCluck is rendered inside [`App`].

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{Route, Router, Routes},
};

use crate::auth::{CallbackPage, provide_session};
use crate::layout::Header;
use crate::pages::{HomePage, NotFound};

/// The whole HTML document the server sends; the browser build hydrates its `<body>`. Its
/// `<head>` links the bundle by the names of this build (hashed or not: see `HashedStylesheet`
/// and `HydrationScripts`), which only the server knows.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    use_the_servers_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="description" content="TopCluck counts your eggs through COOP." />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                // `/pkg/topcluck.<hash>.css` with cargo-leptos's hash files (LEPTOS_HASH_FILES=true),
                // `/pkg/topcluck.css` without. The id lets `cargo leptos watch` swap it live.
                <HashedStylesheet id="leptos" options=options.clone() />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Hands Leptos the Content-Security-Policy nonce the server chose for this response (it is in
/// the request's extensions, and in the response's header), so that the `<script>` elements of
/// `AutoReload` and `HydrationScripts` carry it. leptos_axum provides a nonce of its own for
/// every render, which the header does not know; this one, provided later, takes its place.
#[cfg(feature = "ssr")]
fn use_the_servers_nonce() {
    use leptos::nonce::Nonce;
    let nonce =
        use_context::<http::request::Parts>().and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

/// The app: layout and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_session();
    mark_hydrated();

    view! {
        <Title formatter=|page: String| format!("{page} · TopCluck") />
        <Router>
            <Header />
            <main class="page">
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=HomePage />
                    <Route path=StaticSegment("callback") view=CallbackPage />
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"TopCluck — OAuth 2.0 login that keeps farmers logged in."</p>
            </footer>
        </Router>
    }
}

/// Sets `data-hydrated` on `<html>` once the browser build has taken over the page, so tests
/// and scripts can tell a hydrated page from a server-rendered one. Effects never run on the
/// server, so the attribute appears only after hydration.
fn mark_hydrated() {
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
