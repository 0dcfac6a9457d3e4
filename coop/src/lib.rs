//! COOP: the development OAuth 2.0 / OpenID Connect provider TopCluck logs in against, and the
//! egg API it calls. Small, but it follows the standards and reproduces the refresh-token
//! behaviours a client must survive: rotation with reuse detection (no grace period unless
//! [`Config::reuse_grace`] gives one), a reuse mode, no refresh tokens at all, sliding and
//! absolute expiry, down-scoping, grant revocation, logout that kills non-offline tokens,
//! `offline_access` granted on a consent page of its own (`prompt=consent`) with longer
//! lifetimes, token introspection (RFC 7662, `/introspect`: a client may ask whether a refresh
//! token whose answer it lost was rotated), and (for tests) an outage switch, a clock that can
//! be moved forward, and answers lost after the work is done: delayed, replaced by a gateway's
//! 5xx or a proxy's HTML page, or cut off mid-answer.
//!
//! Two clients are registered by default: TopCluck (`topcluck`) and its daily counting job
//! ([`COUNTING_CLIENT_ID`], `topcluck-counting`, allowed `offline_access`, a secret of its own).
//! To test against what real providers do, COOP can also play them ([`config`]):
//!
//! - one grant per client and farmer ([`GrantModel::PerClient`], node-oidc-provider and Google):
//!   each new login of the client adds its scope to that grant and mints another refresh token
//!   of it; revoking any of its refresh or access tokens, or reusing a rotated refresh token,
//!   ends the whole grant and every token of it; an offline one survives COOP logout;
//! - token answers whose `scope` lists only the API scopes ([`TokenScope::Resource`], RFC 8707
//!   resource indicators);
//! - a revocation endpoint that refuses access tokens with `unsupported_token_type`
//!   ([`Config::revokes_access_tokens`] off, node-oidc-provider's JWT access tokens);
//! - revocation that does not cascade ([`Config::revocation_cascades`] off): revoking a token
//!   makes that token alone unusable, its grant and the grant's other tokens live on;
//! - a reuse grace period ([`Config::reuse_grace`], Okta's and Auth0's leeway): a rotated
//!   refresh token presented again soon after refreshes as normal instead of revoking the grant;
//! - no introspection endpoint ([`Config::introspection`] off);
//! - no pushed authorization requests, or only those ([`Config::par`], RFC 9126), and no `iss`
//!   on authorization responses ([`Config::iss_parameter`] off, RFC 9207).
//!
//! A client may register a back-channel logout URI (`COOP_BACKCHANNEL_LOGOUT_URI` for TopCluck):
//! COOP then posts it a signed logout token (OpenID Connect Back-Channel Logout 1.0) when the
//! farmer's COOP session ends or the farmer's grants are revoked, and its ID tokens carry `sid`.
//!
//! [`start`] runs it on a socket; TopCluck's server calls it when no issuer is configured.
//!
//! Without the default `provider` feature, only what TopCluck's production build needs is
//! compiled: [`config_error`] (the configuration error both report through) and
//! [`secret_file`] (development secrets kept in a data directory).
#![forbid(unsafe_code)]

pub mod config_error;
mod random;
pub mod secret_file;

#[cfg(feature = "provider")]
mod api;
#[cfg(feature = "provider")]
mod authorization;
#[cfg(feature = "provider")]
mod backchannel;
#[cfg(feature = "provider")]
mod client_auth;
#[cfg(feature = "provider")]
mod clock;
#[cfg(feature = "provider")]
pub mod config;
#[cfg(feature = "provider")]
pub mod config_authorization;
#[cfg(feature = "provider")]
mod connection;
#[cfg(feature = "provider")]
mod dev;
#[cfg(feature = "provider")]
mod endpoints;
#[cfg(feature = "provider")]
mod error;
#[cfg(feature = "provider")]
mod html_headers;
#[cfg(feature = "provider")]
mod issue;
#[cfg(feature = "provider")]
mod keys;
#[cfg(feature = "provider")]
mod params;
#[cfg(feature = "provider")]
mod pkce;
#[cfg(feature = "provider")]
mod provider;
#[cfg(feature = "provider")]
mod scope;
#[cfg(feature = "provider")]
mod state;
#[cfg(feature = "provider")]
mod store;
#[cfg(feature = "testkit")]
pub mod testkit;

/// What the fuzz targets (server/fuzz, `coop_token_params`) call: the token endpoint's reading
/// of its form body and client authentication, and the parameter parsers behind them. Not an API.
#[cfg(feature = "provider")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::client_auth::authenticate;
    pub use crate::endpoints::token::read as read_token_request;
    pub use crate::error::OAuthError;
    pub use crate::params::Params;
    pub use crate::pkce::verify_s256;
    pub use crate::scope::Scopes;
}

pub use config_error::{ConfigError, Problem};
#[cfg(feature = "provider")]
pub use provider::*;
