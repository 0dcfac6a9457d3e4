//! Starts TopCluck on the address from the Leptos configuration (`LEPTOS_SITE_ADDR`,
//! default 127.0.0.1:3000).

use leptos::prelude::get_configuration;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();

    // The provider: TOPCLUCK_ISSUER, or COOP in this process. The login issue wires it in.
    let _embedded_coop = match std::env::var("TOPCLUCK_ISSUER") {
        Ok(issuer) if !issuer.is_empty() => {
            tracing::info!(%issuer, "using the configured OpenID provider");
            None
        }
        _ => Some(server::embedded_coop::start().await?),
    };

    let configuration = get_configuration(None)?;
    let options = configuration.leptos_options;
    let address = options.site_addr;
    let app = server::app(options);

    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| format!("cannot listen on {address}: {error}"))?;
    tracing::info!("TopCluck listening on http://{address}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM so in-flight requests finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
