//! With no issuer configured, TopCluck runs COOP, the development provider, in its own
//! process, so the README's run command works with zero setup. Only in a build with the
//! `embedded-coop` feature (`scripts/run.sh`, `cargo run -p server --features embedded-coop`,
//! `scripts/test.sh`; a production build leaves it out, and COOP's provider is then not
//! linked). COOP reads its `COOP_*` variables (default address 127.0.0.1:3030, data under
//! [`coop::config::DEFAULT_DATA_DIR`]), with its `/dev/` endpoints on: this path is for
//! development and tests only. TopCluck's redirect URIs are registered with both of its clients
//! there, and TopCluck uses their ids and secrets: the login's, and daily counting's own (so the
//! two grants are independent, as at a real provider). Unless `COOP_BACKCHANNEL_LOGOUT_URI`
//! says otherwise, the login's client has TopCluck's `/bff/backchannel-logout` as its
//! back-channel logout URI, so logging out of COOP ends the TopCluck session too.

use crate::settings::{CountingClient, Secret, Settings};

/// The running embedded COOP and TopCluck's clients there.
pub struct EmbeddedCoop {
    pub running: coop::RunningCoop,
    pub client_id: String,
    pub client_secret: Secret,
    /// Daily counting's client (`None` when COOP's configuration registers none).
    pub counting_client: Option<CountingClient>,
}

/// Starts the embedded COOP; keep the returned value alive to keep it running.
pub async fn start(settings: &Settings) -> Result<EmbeddedCoop, String> {
    let mut config = coop::Config::from_env().map_err(|e| format!("embedded COOP: {e}"))?;
    config.dev_endpoints = true;
    for client in &mut config.clients {
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
    }
    let client = &config.clients[0];
    let (client_id, client_secret) = (client.id.clone(), Secret::new(client.secret.clone()));
    config
        .backchannel_logout_uris
        .entry(client_id.clone())
        .or_insert_with(|| format!("{}/bff/backchannel-logout", settings.public_origin));
    let counting_client = config.counting_client().map(|client| CountingClient {
        client_id: client.id.clone(),
        client_secret: Secret::new(client.secret.clone()),
    });
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
        counting_client,
    })
}
