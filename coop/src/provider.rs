//! COOP on a socket: [`start`] binds its address and serves the provider and the egg API in the
//! background until [`RunningCoop::stop`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::clock::{Clock, TooFarAhead};
pub use crate::config::{
    COUNTING_CLIENT_ID, Client, ClientPolicy, Config, GrantModel, ParMode, RefreshTokenMode, TokenScope, User,
};
use crate::connection::{CutSwitch, CuttableListener};
use crate::endpoints::{authorize, discovery, end_session, introspect, par, revoke, token, userinfo};
use crate::state::{Coop, SharedCoop};
use crate::{api, dev, error, html_headers};

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
        .nest("/api", api::router(&coop));
    if coop.config.introspection {
        router = router.route("/introspect", post(introspect::introspect));
    }
    if coop.config.par.offered() {
        router = router.route("/par", post(par::push));
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
        .layer(axum::middleware::from_fn(error::log_failures))
        .with_state(coop)
}
