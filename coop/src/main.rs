//! `cargo run -p coop`: COOP on its own (default http://127.0.0.1:3030). Configuration:
//! `COOP_*` environment variables, see `coop::Config`.

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let config = match coop::Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("COOP cannot start: {error}");
            std::process::exit(2);
        }
    };
    let running = match coop::start(config).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("COOP could not start: {error}");
            std::process::exit(1);
        }
    };
    let _ = tokio::signal::ctrl_c().await;
    running.stop().await;
}
