//! COOP's configuration: read from `COOP_*` environment variables, with defaults that make
//! `cargo run -p coop` (and TopCluck's embedded COOP) work with no setup.
//!
//! Two clients are registered: TopCluck (`topcluck`, [`DEFAULT_CLIENT_ID`]) and its daily
//! counting job (`topcluck-counting`, [`COUNTING_CLIENT_ID`]), with the same redirect URIs.
//! Three switches make COOP play the providers farmers really use:
//!
//! - [`GrantModel`] (`COOP_GRANT_MODEL`): a grant per authorization (COOP's own behaviour), or
//!   one per client and farmer (node-oidc-provider, Google), shared by every login.
//! - [`TokenScope`] (`COOP_TOKEN_SCOPE`): the token answer's `scope` lists everything granted,
//!   or only the access token's API scopes (RFC 8707 resource indicators, node-oidc-provider).
//! - [`Config::revokes_access_tokens`] (`COOP_REVOKE_ACCESS_TOKENS`): `/revoke` revokes access
//!   tokens, or refuses them with `unsupported_token_type` (node-oidc-provider's JWT tokens).
//!
//! And three more for what a client must do when a refresh's outcome is uncertain:
//!
//! - [`Config::introspection`] (`COOP_INTROSPECTION`): token introspection (RFC 7662) at
//!   `/introspect`, advertised in discovery; off plays a provider without it (404).
//! - [`Config::reuse_grace`] (`COOP_REUSE_GRACE_SECONDS`): for this long after a refresh token
//!   was rotated, presenting it again refreshes as normal instead of counting as reuse (Okta's
//!   and Auth0's leeway). Zero, the default: no grace at all.
//! - [`Config::revocation_cascades`] (`COOP_REVOCATION_CASCADE`): revoking a token at `/revoke`
//!   revokes its whole grant (the default), or only that token.
//!
//! And two for the authorization endpoint ([`crate::config_authorization`]): pushed
//! authorization requests (`COOP_PAR`: off, on, required) and `iss` on authorization responses
//! (`COOP_ISS_PARAMETER`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How a client's refresh tokens behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshTokenMode {
    /// One-time use: each refresh returns a new refresh token; presenting a used one revokes
    /// the whole grant (reuse detection; no grace period unless [`Config::reuse_grace`] gives
    /// one). The default.
    Rotate,
    /// The same refresh token is returned on every refresh.
    Reuse,
    /// No refresh tokens are issued to this client.
    None,
}

impl std::str::FromStr for RefreshTokenMode {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "rotate" => Ok(Self::Rotate),
            "reuse" => Ok(Self::Reuse),
            "none" => Ok(Self::None),
            other => Err(format!("'{other}' is not one of rotate, reuse, none")),
        }
    }
}

/// How grants are made when codes are redeemed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GrantModel {
    /// Every redeemed code makes a grant of its own. The default.
    #[default]
    PerAuthorization,
    /// One grant per client and farmer, as node-oidc-provider and Google keep them: a code
    /// redeemed while a live grant of that client and farmer exists adds its scope to that grant
    /// (and mints another refresh token of it), and revoking any token of the grant at
    /// `/revoke` revokes the whole grant.
    PerClient,
}

impl std::str::FromStr for GrantModel {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "per_authorization" => Ok(Self::PerAuthorization),
            "per_client" => Ok(Self::PerClient),
            other => Err(format!("'{other}' is not one of per_authorization, per_client")),
        }
    }
}

/// What the `scope` of a token answer (and of its access token) lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenScope {
    /// Every scope the access token was issued for, `openid` and `offline_access` included.
    /// The default.
    #[default]
    Grant,
    /// Only the API scopes (`eggs:*`), as a provider with RFC 8707 resource indicators
    /// (node-oidc-provider) answers: the grant still holds `openid`, `profile`, `email` and
    /// `offline_access` (an ID token is still issued, refreshes still work), but the access
    /// token is for the egg API alone, so `/userinfo` refuses it.
    Resource,
}

impl std::str::FromStr for TokenScope {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "grant" => Ok(Self::Grant),
            "resource" => Ok(Self::Resource),
            other => Err(format!("'{other}' is not one of grant, resource")),
        }
    }
}

/// A registered OAuth client (confidential: it has a secret).
#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub refresh_token_mode: RefreshTokenMode,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field("refresh_token_mode", &self.refresh_token_mode)
            .finish()
    }
}

/// What a client may do beyond the code flow, and how COOP names it to farmers. Kept in
/// [`Config::client_policies`] by client id, beside [`Client`], so code that builds a `Client`
/// needs no change; a client without an entry is named by its id and gets no offline access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientPolicy {
    /// The name the consent page shows ("TopCluck wants to count your eggs while you are away").
    pub display_name: String,
    /// May ask for `offline_access` (OpenID Connect Core §11): refresh tokens that outlive the
    /// farmer's COOP session, granted only on the consent page (`prompt=consent`).
    pub offline_access: bool,
}

/// A farmer who can log in to COOP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The login name, also the `sub` of every token.
    pub username: String,
    pub name: String,
    pub email: String,
}

/// Everything COOP needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    /// The issuer URL; `None` means `http://<bound address>`.
    pub issuer: Option<String>,
    pub access_token_ttl: Duration,
    /// Sliding lifetime of a refresh token: each use extends it by this much…
    pub refresh_token_ttl: Duration,
    /// …up to this long after the grant was made.
    pub refresh_token_max_lifetime: Duration,
    /// Sliding lifetime of an offline grant's refresh token (`offline_access`): each use
    /// extends it by this much…
    pub offline_token_ttl: Duration,
    /// …up to this long after the grant was made.
    pub offline_token_max_lifetime: Duration,
    /// How long a COOP login (the `coop_session` cookie) lasts; after it, `prompt=none`
    /// answers `login_required` and the session is purged.
    pub session_lifetime: Duration,
    pub clients: Vec<Client>,
    /// Per-client policy by client id (see [`ClientPolicy`]).
    pub client_policies: BTreeMap<String, ClientPolicy>,
    pub users: Vec<User>,
    /// Log this user in without showing the form (for headless scripts).
    pub auto_login: Option<String>,
    /// Where the SQLite database lives.
    pub data_dir: PathBuf,
    /// Enables `/dev/*`: counters, the fault switch, grant inspection. Off unless enabled.
    pub dev_endpoints: bool,
    /// Whether discovery names the revocation endpoint. Off plays a provider whose discovery
    /// lacks it (django-oauth-toolkit's), while `/revoke` itself still works.
    pub advertise_revocation: bool,
    /// The id of the daily counting client ([`Config::counting_client`]).
    pub counting_client_id: String,
    /// One grant per authorization, or per client and farmer ([`GrantModel`]).
    pub grant_model: GrantModel,
    /// What token answers' `scope` lists ([`TokenScope`]).
    pub token_scope: TokenScope,
    /// Whether `/revoke` revokes access tokens. Off plays node-oidc-provider with JWT access
    /// tokens: an access token presented there is refused with 400 `unsupported_token_type`
    /// (RFC 7009 §2.2.1) and stays valid; refresh tokens are still revoked.
    pub revokes_access_tokens: bool,
    /// Whether COOP offers token introspection (RFC 7662) at `/introspect`, named in discovery
    /// as `introspection_endpoint`. Off plays a provider without it: discovery omits it and
    /// `/introspect` answers 404. On by default.
    pub introspection: bool,
    /// How long (on COOP's clock) after a refresh token was rotated it may still be presented
    /// without counting as reuse: such a refresh is answered as normal from the same grant,
    /// rotating again, and the successor issued before stays valid too (Okta's and Auth0's
    /// leeway). After it, reuse detection as ever. Zero (the default): no grace period.
    pub reuse_grace: Duration,
    /// Whether revoking a token at `/revoke` revokes its grant: a refresh token's always, an
    /// access token's with [`GrantModel::PerClient`]. On by default. Off: only the token
    /// presented becomes unusable; its grant and the grant's other refresh and access tokens
    /// live on (in either grant model). Reuse detection still revokes the whole grant.
    pub revocation_cascades: bool,
    /// Each client's back-channel logout URI by client id (OpenID Connect Back-Channel Logout
    /// 1.0 §2.2; `COOP_BACKCHANNEL_LOGOUT_URI` for the default client, read by
    /// [`crate::backchannel::settings`]). A client without one is sent no logout token.
    pub backchannel_logout_uris: BTreeMap<String, String>,
    /// Pushed authorization requests (RFC 9126): offered (the default), required, or not at all
    /// ([`ParMode`], `COOP_PAR`).
    pub par: ParMode,
    /// Whether authorization responses carry `iss` and discovery says so (RFC 9207; on by
    /// default, `COOP_ISS_PARAMETER`).
    pub iss_parameter: bool,
}

pub use crate::config_authorization::ParMode;
pub use crate::config_error::ConfigError;
use crate::config_error::{Problem, Problems};

/// Where COOP keeps its SQLite database and generated secrets when `COOP_DATA_DIR` is unset
/// (under the working directory).
pub const DEFAULT_DATA_DIR: &str = "data/coop";

/// The client id of the default client, TopCluck.
pub const DEFAULT_CLIENT_ID: &str = "topcluck";

/// The client id of TopCluck's daily counting job (offline_access refresh tokens).
pub const COUNTING_CLIENT_ID: &str = "topcluck-counting";

impl Config {
    /// Defaults for a COOP whose data lives in `data_dir`, whose default client (TopCluck) has
    /// `client_secret` and whose counting client has `"{client_secret}.counting"`.
    pub fn new(data_dir: PathBuf, client_secret: String) -> Self {
        let topcluck = Client {
            id: DEFAULT_CLIENT_ID.into(),
            secret: client_secret,
            redirect_uris: vec![
                "http://127.0.0.1:3000/callback".into(),
                "http://localhost:3000/callback".into(),
            ],
            post_logout_redirect_uris: vec!["http://127.0.0.1:3000/".into(), "http://localhost:3000/".into()],
            refresh_token_mode: RefreshTokenMode::Rotate,
        };
        let counting = Client {
            id: COUNTING_CLIENT_ID.into(),
            secret: format!("{}.counting", topcluck.secret),
            ..topcluck.clone()
        };
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3030)),
            issuer: None,
            access_token_ttl: Duration::from_secs(60),
            refresh_token_ttl: Duration::from_secs(8 * 3600),
            refresh_token_max_lifetime: Duration::from_secs(30 * 24 * 3600),
            offline_token_ttl: Duration::from_secs(90 * 24 * 3600),
            offline_token_max_lifetime: Duration::from_secs(365 * 24 * 3600),
            session_lifetime: Duration::from_secs(12 * 3600),
            // TopCluck first: code that knows one client takes `clients[0]`.
            clients: vec![topcluck, counting],
            client_policies: BTreeMap::from([
                (
                    DEFAULT_CLIENT_ID.to_owned(),
                    ClientPolicy {
                        display_name: "TopCluck".into(),
                        offline_access: true,
                    },
                ),
                (
                    COUNTING_CLIENT_ID.to_owned(),
                    ClientPolicy {
                        display_name: "TopCluck".into(),
                        offline_access: true,
                    },
                ),
            ]),
            users: default_users(),
            auto_login: None,
            data_dir,
            dev_endpoints: false,
            advertise_revocation: true,
            counting_client_id: COUNTING_CLIENT_ID.into(),
            grant_model: GrantModel::default(),
            token_scope: TokenScope::default(),
            revokes_access_tokens: true,
            introspection: true,
            reuse_grace: Duration::ZERO,
            revocation_cascades: true,
            backchannel_logout_uris: BTreeMap::new(),
            par: ParMode::default(),
            iss_parameter: true,
        }
    }

    /// Reads `COOP_*` variables over the defaults. Without `COOP_CLIENT_SECRET` (or
    /// `COOP_COUNTING_CLIENT_SECRET`), the default (or counting) client's secret is generated once
    /// and kept in the data directory (never in the repository).
    pub fn from_env() -> Result<Self, ConfigError> {
        let vars: BTreeMap<String, String> =
            std::env::vars().filter(|(k, _)| k.starts_with("COOP_")).collect();
        Self::from_vars(&vars)
    }

    /// [`Config::from_env`] over a given set of variables. Every malformed variable is
    /// reported, not only the first ([`ConfigError`]).
    pub fn from_vars(vars: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let mut problems = Problems::default();
        let data_dir = PathBuf::from(get("COOP_DATA_DIR").unwrap_or(DEFAULT_DATA_DIR));
        let secret = match get("COOP_CLIENT_SECRET") {
            Some(secret) => secret.to_owned(),
            None => crate::secret_file::load_or_create(&data_dir.join("client_secret")).unwrap_or_else(|e| {
                problems.add("COOP_CLIENT_SECRET", e.to_string());
                String::new()
            }),
        };
        let mut config = Self::new(data_dir, secret);

        if let Some(v) = get("COOP_ADDR") {
            match v.parse() {
                Ok(addr) => config.addr = addr,
                Err(e) => problems.add("COOP_ADDR", format!("{v:?}: {e}")),
            }
        }
        config.issuer = get("COOP_ISSUER").map(|v| v.trim_end_matches('/').to_owned());
        for (name, lifetime) in [
            ("COOP_ACCESS_TOKEN_TTL", &mut config.access_token_ttl),
            ("COOP_REFRESH_TOKEN_TTL", &mut config.refresh_token_ttl),
            (
                "COOP_REFRESH_TOKEN_MAX_LIFETIME",
                &mut config.refresh_token_max_lifetime,
            ),
            ("COOP_OFFLINE_TOKEN_TTL", &mut config.offline_token_ttl),
            (
                "COOP_OFFLINE_TOKEN_MAX_LIFETIME",
                &mut config.offline_token_max_lifetime,
            ),
            ("COOP_SESSION_LIFETIME", &mut config.session_lifetime),
        ] {
            if let Some(seconds) = get(name).and_then(|v| problems.check(seconds(name, v))) {
                *lifetime = seconds;
            }
        }
        read_clients(&mut config, &get, &mut problems);
        read_provider_behaviour(&mut config, &get, &mut problems);
        crate::backchannel::settings::read(&mut config, &get, &mut problems);
        crate::config_authorization::read(&mut config, &get, &mut problems);
        if let Some(users) = get("COOP_USERS").and_then(|v| problems.check(parse_users(v))) {
            config.users = users;
        }
        config.auto_login = get("COOP_AUTO_LOGIN").map(str::to_owned);
        if let Some(name) = &config.auto_login
            && config.user(name).is_none()
            && get("COOP_USERS").is_none_or(|v| parse_users(v).is_ok())
        {
            problems.add("COOP_AUTO_LOGIN", format!("no user named {name:?}"));
        }
        config.dev_endpoints = matches!(get("COOP_DEV_ENDPOINTS"), Some("1" | "true"));
        problems.finish(|| config)
    }

    pub fn client(&self, id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.id == id)
    }

    /// The daily counting client ([`COUNTING_CLIENT_ID`] unless renamed), if registered.
    pub fn counting_client(&self) -> Option<&Client> {
        self.client(&self.counting_client_id)
    }

    /// Gives the default client the id `default_id` and the counting client `counting_id`,
    /// their policies with them (both taken out before either is renamed, so the two ids may be
    /// swapped).
    fn rename_clients(&mut self, default_id: &str, counting_id: &str) {
        let renames = [(DEFAULT_CLIENT_ID, default_id), (COUNTING_CLIENT_ID, counting_id)];
        let moved: Vec<(Option<usize>, Option<ClientPolicy>, &str)> = renames
            .iter()
            .map(|&(old, new)| {
                let at = self.clients.iter().position(|c| c.id == old);
                (at, self.client_policies.remove(old), new)
            })
            .collect();
        for (at, policy, new) in moved {
            if let Some(at) = at {
                self.clients[at].id = new.to_owned();
            }
            if let Some(policy) = policy {
                self.client_policies.insert(new.to_owned(), policy);
            }
        }
        self.counting_client_id = counting_id.to_owned();
    }

    /// The name farmers know a client by: its policy's display name, or its id.
    pub fn client_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.client_policies
            .get(id)
            .map_or(id, |policy| policy.display_name.as_str())
    }

    /// Whether the client may be granted `offline_access`.
    pub fn allows_offline_access(&self, client_id: &str) -> bool {
        self.client_policies
            .get(client_id)
            .is_some_and(|policy| policy.offline_access)
    }

    /// The sliding lifetime of a grant's refresh tokens and the grant's maximum lifetime:
    /// `offline_token_*` for an offline grant, `refresh_token_*` for any other.
    pub fn refresh_lifetimes(&self, offline: bool) -> (Duration, Duration) {
        if offline {
            (self.offline_token_ttl, self.offline_token_max_lifetime)
        } else {
            (self.refresh_token_ttl, self.refresh_token_max_lifetime)
        }
    }

    pub fn user(&self, username: &str) -> Option<&User> {
        self.users.iter().find(|u| u.username == username)
    }
}

/// The clients' variables: ids, secrets, the default client's name and `offline_access`, and
/// the redirect URIs and refresh-token mode, which apply to both clients.
fn read_clients<'a>(config: &mut Config, get: &impl Fn(&str) -> Option<&'a str>, problems: &mut Problems) {
    let default_id = get("COOP_CLIENT_ID").unwrap_or(DEFAULT_CLIENT_ID);
    let counting_id = get("COOP_COUNTING_CLIENT_ID").unwrap_or(COUNTING_CLIENT_ID);
    if counting_id == default_id {
        problems.add(
            "COOP_COUNTING_CLIENT_ID",
            format!("{counting_id:?} is already the id of the default client (COOP_CLIENT_ID)"),
        );
    } else {
        config.rename_clients(default_id, counting_id);
    }
    let counting_secret = match get("COOP_COUNTING_CLIENT_SECRET") {
        Some(secret) => Some(secret.to_owned()),
        None => problems.check(
            crate::secret_file::load_or_create(&config.data_dir.join("counting_client_secret"))
                .map_err(|e| Problem::new("COOP_COUNTING_CLIENT_SECRET", e.to_string())),
        ),
    };
    if let Some(secret) = counting_secret
        && let Some(counting) = config
            .clients
            .iter_mut()
            .find(|c| c.id == config.counting_client_id)
    {
        counting.secret = secret;
    }
    let default_id = config.clients[0].id.clone();
    let policy = config
        .client_policies
        .get_mut(&default_id)
        .expect("the default client's policy");
    if let Some(v) = get("COOP_CLIENT_NAME") {
        policy.display_name = v.to_owned();
    }
    if let Some(offline) = problems.check(flag("COOP_OFFLINE_ACCESS", get("COOP_OFFLINE_ACCESS"), true)) {
        policy.offline_access = offline;
    }
    let refresh_token_mode = get("COOP_REFRESH_TOKEN_MODE")
        .and_then(|v| problems.check(v.parse().map_err(|e| Problem::new("COOP_REFRESH_TOKEN_MODE", e))));
    for client in &mut config.clients {
        if let Some(v) = get("COOP_REDIRECT_URIS") {
            client.redirect_uris = v.split_whitespace().map(str::to_owned).collect();
        }
        if let Some(v) = get("COOP_POST_LOGOUT_REDIRECT_URIS") {
            client.post_logout_redirect_uris = v.split_whitespace().map(str::to_owned).collect();
        }
        if let Some(mode) = refresh_token_mode {
            client.refresh_token_mode = mode;
        }
    }
}

/// The variables that make COOP play another provider: `COOP_GRANT_MODEL`, `COOP_TOKEN_SCOPE`,
/// `COOP_REVOKE_ACCESS_TOKENS`, `COOP_INTROSPECTION`, `COOP_REUSE_GRACE_SECONDS`,
/// `COOP_REVOCATION_CASCADE`.
fn read_provider_behaviour<'a>(
    config: &mut Config,
    get: &impl Fn(&str) -> Option<&'a str>,
    problems: &mut Problems,
) {
    if let Some(v) = get("COOP_GRANT_MODEL")
        && let Some(model) = problems.check(v.parse().map_err(|e| Problem::new("COOP_GRANT_MODEL", e)))
    {
        config.grant_model = model;
    }
    if let Some(v) = get("COOP_TOKEN_SCOPE")
        && let Some(scope) = problems.check(v.parse().map_err(|e| Problem::new("COOP_TOKEN_SCOPE", e)))
    {
        config.token_scope = scope;
    }
    for (name, switch) in [
        ("COOP_REVOKE_ACCESS_TOKENS", &mut config.revokes_access_tokens),
        ("COOP_INTROSPECTION", &mut config.introspection),
        ("COOP_REVOCATION_CASCADE", &mut config.revocation_cascades),
    ] {
        if let Some(on) = problems.check(flag(name, get(name), true)) {
            *switch = on;
        }
    }
    if let Some(v) = get("COOP_REUSE_GRACE_SECONDS")
        && let Some(grace) = problems.check(grace_seconds("COOP_REUSE_GRACE_SECONDS", v))
    {
        config.reuse_grace = grace;
    }
}

/// A `1`/`0` (or `true`/`false`) variable; `default` when unset.
fn flag(name: &'static str, value: Option<&str>, default: bool) -> Result<bool, Problem> {
    match value {
        None => Ok(default),
        Some("1" | "true") => Ok(true),
        Some("0" | "false") => Ok(false),
        Some(other) => Err(Problem::new(name, format!("{other:?} is not 1 or 0"))),
    }
}

fn seconds(name: &'static str, value: &str) -> Result<Duration, Problem> {
    match value.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
        _ => Err(Problem::new(
            name,
            format!("{value:?} is not a positive number of seconds"),
        )),
    }
}

/// The longest reuse grace period: a day.
const MAX_REUSE_GRACE_SECONDS: u64 = 24 * 3600;

/// A grace period in seconds: zero (none) up to a day.
fn grace_seconds(name: &'static str, value: &str) -> Result<Duration, Problem> {
    match value.parse::<u64>() {
        Ok(n) if n <= MAX_REUSE_GRACE_SECONDS => Ok(Duration::from_secs(n)),
        _ => Err(Problem::new(
            name,
            format!("{value:?} is not a number of seconds from 0 to {MAX_REUSE_GRACE_SECONDS}"),
        )),
    }
}

/// `COOP_USERS`: `username:Display Name:email` entries separated by commas.
fn parse_users(value: &str) -> Result<Vec<User>, Problem> {
    let users: Result<Vec<User>, Problem> = value
        .split(',')
        .map(|entry| {
            let mut parts = entry.trim().splitn(3, ':');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(u), Some(n), Some(e)) if !u.is_empty() => Ok(User {
                    username: u.to_owned(),
                    name: n.to_owned(),
                    email: e.to_owned(),
                }),
                _ => Err(Problem::new(
                    "COOP_USERS",
                    format!("{entry:?} is not username:Name:email"),
                )),
            }
        })
        .collect();
    let users = users?;
    if users.is_empty() {
        return Err(Problem::new("COOP_USERS", "no users"));
    }
    Ok(users)
}

fn default_users() -> Vec<User> {
    [
        ("ada", "Ada Henhouse", "ada@coop.example"),
        ("bert", "Bert Barnes", "bert@coop.example"),
        ("clara", "Clara Combs", "clara@coop.example"),
    ]
    .into_iter()
    .map(|(u, n, e)| User {
        username: u.into(),
        name: n.into(),
        email: e.into(),
    })
    .collect()
}

/// The configuration `pairs` make, with both client secrets given (so no secret file is
/// written): for the tests of each module that reads a part of it.
#[cfg(test)]
pub(crate) fn test_config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: BTreeMap<String, String> = [("COOP_CLIENT_SECRET", "s"), ("COOP_COUNTING_CLIENT_SECRET", "c")]
        .iter()
        .chain(pairs)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_vars(&vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pairs` with both client secrets given, so no secret file is written.
    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        [("COOP_COUNTING_CLIENT_SECRET", "c")]
            .iter()
            .chain(pairs)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_overrides_and_rejects_malformed_values() {
        let config = Config::from_vars(&vars(&[
            ("COOP_CLIENT_SECRET", "s"),
            ("COOP_ACCESS_TOKEN_TTL", "5"),
            ("COOP_SESSION_LIFETIME", "60"),
            ("COOP_REFRESH_TOKEN_MODE", "reuse"),
            ("COOP_USERS", "dora:Dora D:dora@x"),
            ("COOP_AUTO_LOGIN", "dora"),
            ("COOP_OFFLINE_TOKEN_TTL", "7"),
            ("COOP_CLIENT_ID", "henhouse"),
            ("COOP_OFFLINE_ACCESS", "0"),
        ]))
        .unwrap();
        assert_eq!(config.access_token_ttl, Duration::from_secs(5));
        assert_eq!(config.session_lifetime, Duration::from_secs(60));
        assert_eq!(config.clients[0].refresh_token_mode, RefreshTokenMode::Reuse);
        assert_eq!(config.auto_login.as_deref(), Some("dora"));
        assert_eq!(config.offline_token_ttl, Duration::from_secs(7));
        assert_eq!(config.client_name("henhouse"), "TopCluck");
        assert_eq!(config.client_name("reuser"), "reuser");
        assert!(!config.allows_offline_access("henhouse"));
        assert!(!config.allows_offline_access("topcluck"));
        let default = Config::from_vars(&vars(&[("COOP_CLIENT_SECRET", "s")])).unwrap();
        assert!(default.allows_offline_access("topcluck"));
        assert_eq!(default.client_name("topcluck"), "TopCluck");

        for (name, value) in [
            ("COOP_ACCESS_TOKEN_TTL", "soon"),
            ("COOP_SESSION_LIFETIME", "0"),
            ("COOP_ADDR", "nowhere"),
            ("COOP_REFRESH_TOKEN_MODE", "sometimes"),
            ("COOP_USERS", "nameonly"),
            ("COOP_AUTO_LOGIN", "nobody"),
            ("COOP_OFFLINE_TOKEN_MAX_LIFETIME", "-1"),
            ("COOP_OFFLINE_ACCESS", "maybe"),
        ] {
            let error = Config::from_vars(&vars(&[("COOP_CLIENT_SECRET", "s"), (name, value)])).unwrap_err();
            assert_eq!(error.problems[0].name, name);
        }
    }

    #[test]
    fn debug_output_redacts_the_client_secret() {
        let config = Config::new("data".into(), "very-secret-value".into());
        assert!(!format!("{config:?}").contains("very-secret-value"));
    }

    /// Every `COOP_*` variable this file (and `config_authorization.rs`, `backchannel/settings.rs`) reads is in the README's
    /// table, and nothing else is.
    #[test]
    fn the_readme_lists_exactly_the_variables_read_here() {
        use std::collections::BTreeSet;
        let names = |text: &str, opening: char| -> BTreeSet<String> {
            text.match_indices(&format!("{opening}COOP_"))
                .map(|(at, _)| {
                    text[at + 1..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect()
                })
                .filter(|name: &String| name.len() > "COOP_".len())
                .collect()
        };
        let read: BTreeSet<String> = [
            include_str!("config.rs"),
            include_str!("config_authorization.rs"),
            include_str!("backchannel/settings.rs"),
        ]
        .iter()
        .flat_map(|source| {
            names(
                &source[..source.find("#[cfg(test)]").unwrap_or(source.len())],
                '"',
            )
        })
        .collect();
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        let table: BTreeSet<String> = readme
            .lines()
            .filter(|line| line.starts_with("| `COOP_"))
            .flat_map(|line| names(line.split(" | ").next().unwrap(), '`'))
            .collect();
        assert_eq!(read, table);
    }
}
