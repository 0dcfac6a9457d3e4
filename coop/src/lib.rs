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
//! - no introspection endpoint ([`Config::introspection`] off).
//!
//! [`start`] runs it on a socket; TopCluck's server calls it when no issuer is configured.
#![forbid(unsafe_code)]

mod api;
mod authorization;
mod client_auth;
mod clock;
pub mod config;
mod connection;
mod dev;
mod endpoints;
mod error;
mod html_headers;
mod issue;
mod keys;
mod params;
mod pkce;
mod random;
mod scope;
pub mod secret_file;
mod state;
mod store;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use clock::{Clock, TooFarAhead};
pub use config::{
    COUNTING_CLIENT_ID, Client, ClientPolicy, Config, ConfigError, GrantModel, RefreshTokenMode, TokenScope,
    User,
};
use connection::{CutSwitch, CuttableListener};
use endpoints::{authorize, discovery, end_session, introspect, revoke, token, userinfo};
use state::{Coop, SharedCoop};

/// Why COOP could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the store in {dir}: {source}")]
    Store { dir: String, source: rusqlite::Error },
}

/// A COOP serving on a socket.
pub struct RunningCoop {
    /// The issuer URL (no trailing slash); endpoints are found by discovery under it.
    pub issuer: String,
    /// The address it listens on.
    pub addr: SocketAddr,
    clock: Clock,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningCoop {
    /// This COOP's clock: `running.clock().advance(d)` makes codes, tokens, sessions and
    /// outages `d` older at once (what `POST /dev/clock` does over HTTP).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Stops serving and closes the store.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }

    /// Waits until the server ends (it does not, unless it fails).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Binds `config.addr` and serves COOP on it in the background, on a clock of its own.
pub async fn start(config: Config) -> Result<RunningCoop, StartError> {
    start_with_clock(config, Clock::new()).await
}

/// [`start`] on a given clock: pass the clock of a stopped COOP to restart it without its
/// time going back.
pub async fn start_with_clock(config: Config, clock: Clock) -> Result<RunningCoop, StartError> {
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.addr,
        source,
    })?;
    let issuer = config.issuer.clone().unwrap_or_else(|| format!("http://{addr}"));
    let dir = config.data_dir.display().to_string();
    let coop = Coop::new(config, issuer.clone(), clock.clone())
        .map_err(|source| StartError::Store { dir, source })?;
    let app = router(Arc::new(coop)).into_make_service_with_connect_info::<CutSwitch>();
    let listener = CuttableListener(listener);
    let (shutdown, on_shutdown) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = on_shutdown.await;
        });
        if let Err(error) = serve.await {
            tracing::error!(%error, "COOP stopped");
        }
    });
    tracing::info!(%issuer, "COOP (development OAuth provider) listening");
    Ok(RunningCoop {
        issuer,
        addr,
        clock,
        shutdown,
        task,
    })
}

fn router(coop: SharedCoop) -> Router {
    let mut router = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/jwks.json", get(discovery::jwks))
        .route("/authorize", get(authorize::authorize))
        .route("/authorize/login", post(authorize::login))
        .route("/authorize/consent", post(authorize::consent))
        .route("/token", post(token::token))
        .route("/revoke", post(revoke::revoke))
        .route("/userinfo", get(userinfo::userinfo).post(userinfo::userinfo))
        .route(
            "/end-session",
            get(end_session::end_session).post(end_session::confirm),
        )
        .nest("/api", api::router());
    if coop.config.introspection {
        router = router.route("/introspect", post(introspect::introspect));
    }
    if coop.config.dev_endpoints {
        router = router.nest("/dev", dev::router());
    }
    let policy = html_headers::content_security_policy(&coop.config);
    router
        .layer(axum::middleware::map_response_with_state(
            policy,
            html_headers::add,
        ))
        .with_state(coop)
}
