//! TopCluck's configuration: `TOPCLUCK_*` environment variables (a `.env` file is honoured),
//! read at startup in sections, one file each, every value checked — and **every** problem
//! reported at once, each naming its variable ([`ConfigError`], shared with COOP):
//!
//! | section | variables |
//! | --- | --- |
//! | `provider.rs` | the OpenID provider and TopCluck's registration there; the login throttle |
//! | `session.rs` | the session cookie's keys, its lifetime, the renewal skew, the public origin |
//! | `proxy.rs` | the upstream API and the retry body limit |
//! | `limits.rs` | requests in flight to the API and the provider, their queue, HTTP/2 |
//! | [`timeouts`] (`timeouts.rs`) | every timeout on a request's path, checked to nest |
//! | `counting.rs` | the daily job's own client, schedule, concurrency and waits |
//! | `store.rs` | the data directory, the store's database, the vault's keys |
//! | `metrics.rs` | the metrics listener's address (`crate::metrics`) |
//!
//! Each section lists its variables (`VARIABLES`); `.env.example` and the README's table are
//! tested against them. What needs files — development keys generated into the data
//! directory — is done only once everything else is right. Secrets have redacting `Debug`.

mod counting;
pub mod limits;
mod metrics;
mod provider;
mod proxy;
mod secret;
mod session;
mod store;
pub mod timeouts;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use coop::config_error::Problems;
pub use coop::config_error::{ConfigError, Problem};
use url::Url;

pub use counting::CountingClient;
pub use limits::Limits;
pub use provider::{DEFAULT_SCOPES, EMBEDDED_PROVIDER};
pub use secret::Secret;
pub use store::DEFAULT_DATA_DIR;
pub use timeouts::Timeouts;
use values::Vars;
pub use values::{is_loopback, is_tls_or_loopback};

/// Every `TOPCLUCK_*` variable, section by section.
pub const VARIABLES: [&[&str]; 8] = [
    provider::VARIABLES,
    session::VARIABLES,
    proxy::VARIABLES,
    limits::VARIABLES,
    timeouts::VARIABLES,
    counting::VARIABLES,
    store::VARIABLES,
    metrics::VARIABLES,
];

/// Everything the BFF needs to know.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The OpenID provider's issuer, exactly as `TOPCLUCK_ISSUER` writes it (checked to be a
    /// URL): discovery's `issuer` must equal it byte for byte, and a parsed URL would add a
    /// trailing slash to `https://id.example`. `None`: start the embedded COOP (development,
    /// in a build with the `embedded-coop` feature).
    pub issuer: Option<String>,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    pub redirect_uri: Url,
    pub post_logout_redirect_uri: Url,
    /// The first seals cookies; all of them open cookies (key rotation).
    pub cookie_keys: Vec<Secret>,
    /// The upstream API that `/api/*` forwards to.
    pub api_url: Option<Url>,
    /// How long a session lasts after login, at most.
    pub session_max_age: std::time::Duration,
    /// Renew an access token that expires within this long before using it.
    pub refresh_skew: std::time::Duration,
    /// Request bodies up to this size are kept so a request can be retried after a renewal.
    pub retry_body_limit: usize,
    /// Requests in flight to the API and the provider, their queue, HTTP/2 ([`limits`]).
    pub limits: Limits,
    /// Every timeout on a request's path, nested ([`timeouts`]); among them how long a request
    /// waits for a refresh before answering 503 "retry" (`refresh_wait`: the refresh itself
    /// goes on, and its answer reaches the next request).
    pub timeouts: Timeouts,
    /// The origin browsers show for TopCluck (`scheme://host[:port]`): the CSRF check compares
    /// every request's `Origin` with it. Default: the redirect URI's origin.
    pub public_origin: String,
    /// Where to revoke tokens when the provider's discovery names no `revocation_endpoint`.
    pub revocation_endpoint: Option<Url>,
    /// Code redemptions allowed in a row from one address before it must wait
    /// (`crate::bff::throttle`).
    pub login_attempt_burst: u32,
    /// Back-channel logout requests allowed in a row from one address, then ten a second
    /// (`crate::bff::backchannel`).
    pub backchannel_logout_burst: u32,
    /// When the daily job runs (`TOPCLUCK_DAILY_COUNT_AT`, `TOPCLUCK_DAILY_COUNT_TZ`).
    pub daily_count: crate::counting::schedule::Schedule,
    /// Farmers the job counts at once.
    pub count_concurrency: usize,
    /// The job's waits between attempts while the provider or the API is unavailable.
    pub count_backoff: Vec<std::time::Duration>,
    /// The vault's keys (`TOPCLUCK_VAULT_KEYS`, `id:base64key,…`): the first seals, all open.
    /// In development without the variable, one key generated once into `data_dir/vault_keys`
    /// (id `dev`). `None` in production without the variable: [`crate::vault::Vault::open`]
    /// refuses to start (a server that opens no vault does not need it).
    pub vault_keys: Option<crate::vault::KeyRing>,
    /// The vault's store (`TOPCLUCK_DATABASE_URL`): `postgres://…` (several instances share
    /// it) or `sqlite:…`; `None`: SQLite in the data directory. A secret: it may hold a password.
    pub database_url: Option<Secret>,
    /// Where development keys and the embedded vault live (`TOPCLUCK_DATA_DIR`, default
    /// [`DEFAULT_DATA_DIR`] under the working directory). The server and `server count-eggs`
    /// must name the same one to share the vault.
    pub data_dir: PathBuf,
    /// The daily job's own client registration (`TOPCLUCK_COUNTING_CLIENT_ID` and
    /// `TOPCLUCK_COUNTING_CLIENT_SECRET`), so its offline grant and the browser session's grant
    /// are two grants at every provider. `None` with a configured issuer: daily counting cannot
    /// be turned on (the farm page says so). The embedded COOP registers one of its own.
    pub counting_client: Option<CountingClient>,
    /// Every login pushes its authorization request (RFC 9126, `TOPCLUCK_PAR_REQUIRED`): a
    /// provider whose discovery names no `pushed_authorization_request_endpoint` is refused at
    /// `GET /bff/login`, never sent a plain authorization request. Without it, requests are
    /// pushed whenever discovery names the endpoint.
    pub par_required: bool,
    /// The provider's documented refresh-token reuse grace period
    /// (`TOPCLUCK_PROVIDER_REUSE_GRACE_SECONDS`): within it, a refresh whose answer was lost may
    /// be tried once more. `None` (the default): never present a token that may be used.
    pub reuse_grace: Option<std::time::Duration>,
    /// Where `/metrics` is served (`TOPCLUCK_METRICS_ADDR`, `ip:port`), on a listener of its own
    /// ([`crate::metrics`]). `None` (the default): no metrics listener and no recorder.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl Settings {
    /// Reads the process environment (after loading `.env` if there is one). `site` is the
    /// server's own origin, `production` whether a missing cookie key is an error.
    pub fn from_env(site: &Url, production: bool) -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        let vars: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("TOPCLUCK_"))
            .collect();
        Self::from_vars(&vars, site, production, Path::new(DEFAULT_DATA_DIR))
    }

    /// [`Settings::from_env`] over given variables; `default_data_dir` is the data directory
    /// when `TOPCLUCK_DATA_DIR` is unset. Every problem is reported, section by section.
    pub fn from_vars(
        vars: &BTreeMap<String, String>,
        site: &Url,
        production: bool,
        default_data_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let vars = Vars(vars);
        let mut problems = Problems::default();
        let provider = provider::read(&vars, site, production, &mut problems);
        let session = session::read(&vars, production, &mut problems);
        let proxy = proxy::read(&vars, &mut problems);
        let limits = limits::read(&vars, &mut problems);
        let timeouts = timeouts::read(&vars, &mut problems);
        let counting = counting::read(&vars, &provider.client_id, &mut problems);
        let mut store = store::read(&vars, default_data_dir, &mut problems);
        let metrics_addr = metrics::read(&vars, site, &mut problems);

        // Files are written only for a configuration that is otherwise right.
        let mut cookie_keys = session.cookie_keys;
        if problems.is_empty() {
            if cookie_keys.is_none() {
                cookie_keys = problems.check(session::development_key(&store.data_dir));
            }
            if store.vault_keys.is_none() && !production {
                store.vault_keys = problems.check(store::development_vault_keys(&store.data_dir));
            }
        }
        problems.finish(|| {
            let checked = "a value without a problem";
            let redirect_uri = provider.redirect_uri.expect(checked);
            Self {
                issuer: provider.issuer,
                client_id: provider.client_id,
                client_secret: provider.client_secret,
                scopes: provider.scopes,
                public_origin: session::public_origin(session.public_origin, &redirect_uri),
                redirect_uri,
                post_logout_redirect_uri: provider.post_logout_redirect_uri.expect(checked),
                cookie_keys: cookie_keys.expect(checked),
                api_url: proxy.api_url,
                session_max_age: session.session_max_age,
                refresh_skew: session.refresh_skew,
                retry_body_limit: proxy.retry_body_limit,
                limits,
                timeouts,
                revocation_endpoint: provider.revocation_endpoint,
                login_attempt_burst: provider.login_attempt_burst,
                backchannel_logout_burst: provider.backchannel_logout_burst,
                daily_count: counting.daily_count.expect(checked),
                count_concurrency: counting.count_concurrency,
                count_backoff: counting.count_backoff,
                vault_keys: store.vault_keys,
                database_url: store.database_url,
                data_dir: store.data_dir,
                counting_client: counting.counting_client,
                reuse_grace: provider.reuse_grace,
                metrics_addr,
                par_required: provider.par_required,
            }
        })
    }
}

#[cfg(test)]
mod listed;
#[cfg(test)]
mod shown;
#[cfg(test)]
mod tests;
