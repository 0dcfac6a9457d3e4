//! TopCluck's Leptos app.
//!
//! Built twice by cargo-leptos: with `ssr` it is linked into the server, which renders every
//! page; with `hydrate` it is compiled to WASM and takes over the server-rendered page in the
//! browser. Browser-only code sits behind `hydrate`, server-only code behind `ssr`.
#![forbid(unsafe_code)]

pub mod auth;
pub mod farm;
pub mod layout;
pub mod pages;
pub mod shell;

pub use shell::{App, shell};

/// The WASM entry point: hydrates the page the server rendered.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
