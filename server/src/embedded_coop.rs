//! With no issuer configured, TopCluck runs COOP, the development provider, in its own
//! process, so the README's run command works with zero setup. COOP reads its `COOP_*`
//! variables (default address 127.0.0.1:3030, data under `data/coop`), with its `/dev/`
//! endpoints on: this path is for development and tests only.

/// Starts the embedded COOP; the returned handle keeps it running.
pub async fn start() -> Result<coop::RunningCoop, String> {
    let mut config = coop::Config::from_env().map_err(|e| format!("embedded COOP configuration: {e}"))?;
    config.dev_endpoints = true;
    let running = coop::start(config).await.map_err(|e| {
        format!(
            "embedded COOP: {e} (set COOP_ADDR to another address, or TOPCLUCK_ISSUER to a running provider)"
        )
    })?;
    tracing::warn!(
        issuer = %running.issuer,
        "TOPCLUCK_ISSUER is not set: using the embedded development provider COOP"
    );
    Ok(running)
}
