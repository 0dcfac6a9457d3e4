//! TopCluck's Leptos app.
//!
//! Built twice by cargo-leptos: with `ssr` it is linked into the server, which renders every
//! page; with `hydrate` it is compiled to WASM and takes over the server-rendered page in the
//! browser. Browser-only code sits behind `hydrate`, server-only code behind `ssr`.
//!
//! Where things are: [`wire`], the JSON shared with the server; [`api`], the browser's one
//! client for it; [`auth`], the session and logging in and out; [`farm`], the farm page's cards;
//! [`pages`] and [`layout`], the routes and what surrounds them.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod farm;
pub mod layout;
pub mod pages;
pub mod shell;
pub mod wire;

pub use shell::{App, shell};

/// The WASM entry point: hydrates the page the server rendered.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
