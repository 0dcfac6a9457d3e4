//! The OpenID provider as the BFF sees it: discovery, keys and ID tokens (the `openidconnect`
//! crate), the token endpoint as a confidential client (the `oauth2` crate over `reqwest`), and
//! pushed authorization requests (RFC 9126, `reqwest`).

mod client;
mod http;
pub mod id_token;
pub mod logout_token;
mod metadata;
mod par;

pub use client::{Provider, ProviderError, REFRESH_TIMEOUT, RETRY_AFTER_SECONDS, Tokens};
pub use metadata::Metadata;
pub use par::Pushed;
