//! The workspace's one test kit (cargo feature `testkit`; tests and benchmarks only, never a
//! production build). COOP's tests, the server's tests and the server's proxy benchmark all
//! use it; each concern has one home:
//!
//! - [`test_coop`]: a real COOP on a loopback socket with its own data directory — configured
//!   ([`TestCoop::start_with`], [`TestCoop::start_plain`]), its injected clock, its fault switch,
//!   its counters and grants (`/dev/…`);
//! - [`client`]: COOP's endpoints called as a client backend (token, refresh, revoke,
//!   introspect, the egg API);
//! - [`browser`]: a browser at COOP — PKCE, the authorization request, the login form, the
//!   consent page, hidden fields, a cookie jar — written once ([`sign_in`]);
//! - [`tokens`]: token answers and JWT claims;
//! - [`spa`]: what TopCluck's SPA does against a BFF over HTTP (login, logout, session, `/api`);
//! - [`callback`]: the SPA's browser from the BFF's authorize URL, through COOP, to `/callback`;
//! - [`scripted_provider`]: a small OpenID provider serving exactly the discovery document,
//!   JWKS and ID token a case needs (COOP only signs good ones);
//! - [`bad_inputs`]: the table of bad inputs, one row each, with its one printer and the
//!   no-5xx check;
//! - [`logout`]: back-channel logout — logout tokens of chosen shapes signed by COOP's key, a
//!   farmer logging out of COOP, a client's back-channel logout endpoint that keeps what it gets;
//! - [`http`]: plain HTTP clients and raw requests;
//! - [`process`]: free ports, a program spawned with its environment, waited for until it
//!   answers, stopped by PID;
//! - [`postgres`]: a throwaway PostgreSQL cluster per test binary.
//!
//! Everything is re-exported here: `use coop::testkit::*;`.
#![allow(clippy::missing_panics_doc, clippy::new_without_default)]

pub mod bad_inputs;
pub mod browser;
pub mod callback;
pub mod client;
pub mod http;
pub mod logout;
pub mod postgres;
pub mod process;
pub mod scripted_provider;
pub mod spa;
pub mod test_coop;
pub mod tokens;

pub use bad_inputs::{BadInputs, status_and_code, status_and_error};
pub use browser::{Form, Pkce, authorization_request, browser, hidden, location, pkce, query_of, sign_in};
pub use callback::{Callback, authorize_url, coop_login, query_value};
pub use client::basic;
pub use http::{backend, fetch, get_json, http, json_of, listener, listeners, raw, raw_get, text_of};
pub use logout::{LOGOUT_EVENT, Received, receiver};
pub use process::{Exit, bare_command, free_port, run_until_exit};
pub use spa::{Answer, Pending, Spa, login_cookie_of, session_set_cookie};
pub use test_coop::{ALL_SCOPES, POST_LOGOUT_URI, REDIRECT_URI, SECRET, TestCoop};
pub use tokens::{TokenAnswer, Tokens, claims};
