//! With no issuer configured, TopCluck runs COOP, the development provider, in its own
//! process, so the README's run command works with zero setup. COOP reads its `COOP_*`
//! variables (default address 127.0.0.1:3030, data under `data/coop`), with its `/dev/`
//! endpoints on: this path is for development and tests only. TopCluck's redirect URIs are
//! registered with it, and TopCluck uses its client id and secret.

use crate::settings::{Secret, Settings};

/// The running embedded COOP and the client TopCluck is there.
pub struct EmbeddedCoop {
    pub running: coop::RunningCoop,
    pub client_id: String,
    pub client_secret: Secret,
}

/// Starts the embedded COOP; keep the returned value alive to keep it running.
pub async fn start(settings: &Settings) -> Result<EmbeddedCoop, String> {
    let mut config = coop::Config::from_env().map_err(|e| format!("embedded COOP configuration: {e}"))?;
    config.dev_endpoints = true;
    let client = &mut config.clients[0];
    for (list, uri) in [
        (&mut client.redirect_uris, settings.redirect_uri.as_str()),
        (
            &mut client.post_logout_redirect_uris,
            settings.post_logout_redirect_uri.as_str(),
        ),
    ] {
        if !list.iter().any(|u| u == uri) {
            list.push(uri.to_owned());
        }
    }
    let (client_id, client_secret) = (client.id.clone(), Secret::new(client.secret.clone()));
    let running = coop::start(config).await.map_err(|e| {
        format!(
            "embedded COOP: {e} (set COOP_ADDR to another address, or TOPCLUCK_ISSUER to a running provider)"
        )
    })?;
    tracing::warn!(issuer = %running.issuer, "TOPCLUCK_ISSUER is not set: using the embedded development provider COOP");
    Ok(EmbeddedCoop {
        running,
        client_id,
        client_secret,
    })
}
