//! TopCluck's configuration: `TOPCLUCK_*` environment variables (a `.env` file is honoured),
//! checked at startup so a missing or malformed value stops the server with a message that
//! names it. Secrets have redacting `Debug`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

/// A value that must never be printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Everything the BFF needs to know.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The OpenID provider's issuer, exactly as `TOPCLUCK_ISSUER` writes it (checked to be a
    /// URL): discovery's `issuer` must equal it byte for byte, and a parsed URL would add a
    /// trailing slash to `https://id.example`. `None`: start the embedded COOP.
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
    /// How long a request waits for a refresh before answering 503 "retry" (the refresh itself
    /// goes on, and its answer reaches the next request).
    pub refresh_wait: std::time::Duration,
    /// The origin browsers show for TopCluck (`scheme://host[:port]`): the CSRF check compares
    /// every request's `Origin` with it. Default: the redirect URI's origin.
    pub public_origin: String,
    /// Where to revoke tokens when the provider's discovery names no `revocation_endpoint`.
    pub revocation_endpoint: Option<Url>,
    /// Code redemptions allowed in a row from one address before it must wait
    /// (`crate::bff::throttle`).
    pub login_attempt_burst: u32,
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
    /// `data/topcluck` under the working directory). The server and `server count-eggs` must
    /// name the same one to share the vault.
    pub data_dir: PathBuf,
    /// The daily job's own client registration (`TOPCLUCK_COUNTING_CLIENT_ID` and
    /// `TOPCLUCK_COUNTING_CLIENT_SECRET`), so its offline grant and the browser session's grant
    /// are two grants at every provider. `None` with a configured issuer: daily counting cannot
    /// be turned on (the farm page says so). The embedded COOP registers one of its own.
    pub counting_client: Option<CountingClient>,
    /// The provider's documented refresh-token reuse grace period
    /// (`TOPCLUCK_PROVIDER_REUSE_GRACE_SECONDS`): within it, a refresh whose answer was lost may
    /// be tried once more. `None` (the default): never present a token that may be used.
    pub reuse_grace: Option<std::time::Duration>,
}

/// The daily job's client registration at the provider: same issuer and redirect URI as the
/// login's, another client id and secret.
#[derive(Clone, Debug)]
pub struct CountingClient {
    pub client_id: String,
    pub client_secret: Secret,
}

/// A configuration value that is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {name}: {problem}")]
pub struct SettingsError {
    pub name: &'static str,
    pub problem: String,
}

pub const DEFAULT_SCOPES: &str = "openid profile email eggs:read eggs:write";

/// Where development keys and the embedded vault live when `TOPCLUCK_DATA_DIR` is unset.
pub const DEFAULT_DATA_DIR: &str = "data/topcluck";

impl Settings {
    /// Reads the process environment (after loading `.env` if there is one). `site` is the
    /// server's own origin, `production` whether a missing cookie key is an error.
    pub fn from_env(site: &Url, production: bool) -> Result<Self, SettingsError> {
        let _ = dotenvy::dotenv();
        let vars: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("TOPCLUCK_"))
            .collect();
        Self::from_vars(&vars, site, production, Path::new(DEFAULT_DATA_DIR))
    }

    /// [`Settings::from_env`] over given variables; `default_data_dir` is the data directory
    /// when `TOPCLUCK_DATA_DIR` is unset.
    pub fn from_vars(
        vars: &BTreeMap<String, String>,
        site: &Url,
        production: bool,
        default_data_dir: &Path,
    ) -> Result<Self, SettingsError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let data_dir = get("TOPCLUCK_DATA_DIR").map_or_else(|| default_data_dir.to_owned(), PathBuf::from);
        let data_dir = data_dir.as_path();
        let url = |name: &'static str, value: &str| {
            Url::parse(value).map_err(|e| problem(name, format!("{value:?} is not a URL: {e}")))
        };

        let issuer = get("TOPCLUCK_ISSUER");
        match issuer {
            Some(issuer) => require_tls("TOPCLUCK_ISSUER", &url("TOPCLUCK_ISSUER", issuer)?)?,
            None if production => {
                return Err(problem(
                    "TOPCLUCK_ISSUER",
                    "required in production (LEPTOS_ENV=PROD): without it TopCluck would run its \
                     embedded development provider, whose login takes no password",
                ));
            }
            None => {}
        }
        let issuer = issuer.map(str::to_owned);
        let client_secret = get("TOPCLUCK_CLIENT_SECRET").map(Secret::new);
        if issuer.is_some() && client_secret.is_none() {
            return Err(problem(
                "TOPCLUCK_CLIENT_SECRET",
                "required when TOPCLUCK_ISSUER is set",
            ));
        }
        let client_id = get("TOPCLUCK_CLIENT_ID").unwrap_or("topcluck").to_owned();
        let counting_client = counting_client(
            get("TOPCLUCK_COUNTING_CLIENT_ID"),
            get("TOPCLUCK_COUNTING_CLIENT_SECRET"),
            &client_id,
        )?;
        let scopes: Vec<String> = get("TOPCLUCK_SCOPES")
            .unwrap_or(DEFAULT_SCOPES)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !scopes.iter().any(|s| s == "openid") {
            return Err(problem("TOPCLUCK_SCOPES", "must include openid"));
        }
        let redirect_uri = match get("TOPCLUCK_REDIRECT_URI") {
            Some(v) => url("TOPCLUCK_REDIRECT_URI", v)?,
            None => site.join("/callback").expect("a path joins any http URL"),
        };
        if !matches!(redirect_uri.scheme(), "http" | "https") || redirect_uri.host().is_none() {
            return Err(problem(
                "TOPCLUCK_REDIRECT_URI",
                "must be an http(s) URL of this site",
            ));
        }
        let post_logout_redirect_uri = match get("TOPCLUCK_POST_LOGOUT_REDIRECT_URI") {
            Some(v) => url("TOPCLUCK_POST_LOGOUT_REDIRECT_URI", v)?,
            None => site.join("/").expect("a path joins any http URL"),
        };
        if production {
            require_tls("TOPCLUCK_REDIRECT_URI", &redirect_uri)?;
            require_tls("TOPCLUCK_POST_LOGOUT_REDIRECT_URI", &post_logout_redirect_uri)?;
        }
        let cookie_keys = match get("TOPCLUCK_COOKIE_KEYS") {
            Some(v) => v
                .split([',', ' '])
                .filter(|k| !k.is_empty())
                .map(Secret::new)
                .collect(),
            None if production => {
                return Err(problem(
                    "TOPCLUCK_COOKIE_KEYS",
                    "required in production (one or more base64 keys of 32+ bytes)",
                ));
            }
            None => {
                let path = data_dir.join("cookie_key");
                let key = coop::secret_file::load_or_create(&path).map_err(|e| {
                    problem(
                        "TOPCLUCK_COOKIE_KEYS",
                        format!("cannot keep a development key in {}: {e}", path.display()),
                    )
                })?;
                vec![Secret::new(key)]
            }
        };
        let api_url = get("TOPCLUCK_API_URL")
            .map(|v| url("TOPCLUCK_API_URL", v))
            .transpose()?;
        let session_max_age = match get("TOPCLUCK_SESSION_MAX_AGE") {
            None => std::time::Duration::from_secs(7 * 24 * 3600),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .map(std::time::Duration::from_secs)
                .ok_or_else(|| {
                    problem(
                        "TOPCLUCK_SESSION_MAX_AGE",
                        format!("{v:?} is not a positive number of seconds"),
                    )
                })?,
        };
        let refresh_skew = std::time::Duration::from_secs(number(
            get("TOPCLUCK_REFRESH_SKEW"),
            "TOPCLUCK_REFRESH_SKEW",
            30,
        )?);
        let retry_body_limit = number(
            get("TOPCLUCK_RETRY_BODY_LIMIT"),
            "TOPCLUCK_RETRY_BODY_LIMIT",
            64 * 1024,
        )? as usize;
        let refresh_wait = std::time::Duration::from_millis(number(
            get("TOPCLUCK_REFRESH_WAIT_MS"),
            "TOPCLUCK_REFRESH_WAIT_MS",
            10_000,
        )?);
        let public_origin = match get("TOPCLUCK_PUBLIC_ORIGIN") {
            Some(v) => origin_of("TOPCLUCK_PUBLIC_ORIGIN", v)?,
            None => redirect_uri.origin().ascii_serialization(),
        };
        let revocation_endpoint = get("TOPCLUCK_REVOCATION_ENDPOINT")
            .map(|v| url("TOPCLUCK_REVOCATION_ENDPOINT", v))
            .transpose()?;
        if let Some(endpoint) = &revocation_endpoint {
            require_tls("TOPCLUCK_REVOCATION_ENDPOINT", endpoint)?;
        }
        let login_attempt_burst = number(
            get("TOPCLUCK_LOGIN_ATTEMPT_BURST"),
            "TOPCLUCK_LOGIN_ATTEMPT_BURST",
            20,
        )?
        .clamp(1, u64::from(u32::MAX)) as u32;
        let daily_count = crate::counting::schedule::Schedule::parse(
            get("TOPCLUCK_DAILY_COUNT_AT").unwrap_or("06:00"),
            get("TOPCLUCK_DAILY_COUNT_TZ").unwrap_or("UTC"),
        )
        .map_err(|e| problem("TOPCLUCK_DAILY_COUNT_AT / TOPCLUCK_DAILY_COUNT_TZ", e))?;
        let count_concurrency = number(get("TOPCLUCK_COUNT_CONCURRENCY"), "TOPCLUCK_COUNT_CONCURRENCY", 4)?
            .clamp(1, 256) as usize;
        let count_backoff = get("TOPCLUCK_COUNT_RETRY_MS")
            .unwrap_or("1000,5000,30000")
            .split(',')
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map(std::time::Duration::from_millis)
                    .map_err(|_| {
                        problem(
                            "TOPCLUCK_COUNT_RETRY_MS",
                            format!("{v:?} is not a number of milliseconds"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // A run holds a farmer's grant for `LEASE_SECONDS`: its retries must end well within.
        let waits: u64 = count_backoff.iter().map(|d| d.as_secs()).sum();
        if waits * 2 > crate::counting::LEASE_SECONDS as u64 {
            return Err(problem(
                "TOPCLUCK_COUNT_RETRY_MS",
                format!(
                    "the waits add up to {waits} s: keep them under {} s",
                    crate::counting::LEASE_SECONDS / 2
                ),
            ));
        }
        let vault_keys = match get("TOPCLUCK_VAULT_KEYS") {
            Some(v) => Some(
                crate::vault::KeyRing::parse(v).map_err(|e| problem("TOPCLUCK_VAULT_KEYS", e.to_string()))?,
            ),
            None if production => None,
            None => {
                let path = data_dir.join("vault_keys");
                let key = coop::secret_file::load_or_create(&path).map_err(|e| {
                    problem(
                        "TOPCLUCK_VAULT_KEYS",
                        format!("cannot keep a development key in {}: {e}", path.display()),
                    )
                })?;
                Some(
                    crate::vault::KeyRing::parse(&format!("dev:{key}"))
                        .map_err(|e| problem("TOPCLUCK_VAULT_KEYS", format!("{}: {e}", path.display())))?,
                )
            }
        };
        let reuse_grace = match number(
            get("TOPCLUCK_PROVIDER_REUSE_GRACE_SECONDS"),
            "TOPCLUCK_PROVIDER_REUSE_GRACE_SECONDS",
            0,
        )? {
            0 => None,
            seconds => Some(std::time::Duration::from_secs(seconds)),
        };
        let database_url = get("TOPCLUCK_DATABASE_URL").map(Secret::new);
        if let Some(url) = &database_url {
            let known = ["postgres://", "postgresql://", "sqlite:"];
            if !known.iter().any(|scheme| url.expose().starts_with(scheme)) {
                // The value is not repeated: it may hold a password.
                return Err(problem(
                    "TOPCLUCK_DATABASE_URL",
                    "must start with postgres://, postgresql:// or sqlite:",
                ));
            }
        }
        Ok(Self {
            issuer,
            client_id,
            client_secret,
            scopes,
            redirect_uri,
            post_logout_redirect_uri,
            cookie_keys,
            api_url,
            session_max_age,
            refresh_skew,
            retry_body_limit,
            refresh_wait,
            public_origin,
            revocation_endpoint,
            login_attempt_burst,
            daily_count,
            count_concurrency,
            count_backoff,
            vault_keys,
            database_url,
            data_dir: data_dir.to_owned(),
            counting_client,
            reuse_grace,
        })
    }
}

/// `TOPCLUCK_COUNTING_CLIENT_ID` and `_SECRET`: both or neither, and a client id other than the
/// login's (one client would mean one grant at many providers, the very thing this avoids).
fn counting_client(
    id: Option<&str>,
    secret: Option<&str>,
    login_client_id: &str,
) -> Result<Option<CountingClient>, SettingsError> {
    match (id, secret) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(problem(
            "TOPCLUCK_COUNTING_CLIENT_SECRET",
            "required when TOPCLUCK_COUNTING_CLIENT_ID is set",
        )),
        (None, Some(_)) => Err(problem(
            "TOPCLUCK_COUNTING_CLIENT_ID",
            "required when TOPCLUCK_COUNTING_CLIENT_SECRET is set",
        )),
        (Some(id), Some(_)) if id == login_client_id => Err(problem(
            "TOPCLUCK_COUNTING_CLIENT_ID",
            format!(
                "{id:?} is the login's client (TOPCLUCK_CLIENT_ID): daily counting needs a client \
                 registration of its own, so that its grant and the browser session's never end each other"
            ),
        )),
        (Some(id), Some(secret)) => Ok(Some(CountingClient {
            client_id: id.to_owned(),
            client_secret: Secret::new(secret),
        })),
    }
}

/// `https`, or `http` to this machine only (loopback: `127.0.0.0/8`, `::1`, `localhost`), where
/// no network carries what is sent.
fn require_tls(name: &'static str, url: &Url) -> Result<(), SettingsError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(problem(
            name,
            format!(
                "{url} is plain http to another machine: use https (http only to 127.0.0.1, ::1 or localhost)"
            ),
        )),
        other => Err(problem(
            name,
            format!("{url}: the scheme must be https, not {other}"),
        )),
    }
}

/// `value` as an origin (`scheme://host[:port]`, nothing else), serialized as browsers send
/// it in `Origin`.
fn origin_of(name: &'static str, value: &str) -> Result<String, SettingsError> {
    let url = Url::parse(value).map_err(|e| problem(name, format!("{value:?} is not a URL: {e}")))?;
    let bare = matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
        return Err(problem(
            name,
            format!("{value:?} is not an origin (scheme://host[:port], no path)"),
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// Whether `url`'s host is this machine (127.0.0.0/8, ::1, localhost).
/// `https`, or `http` to this machine only (see [`is_loopback`]).
pub fn is_tls_or_loopback(url: &Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && is_loopback(url))
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A whole number (zero allowed), or `default` when unset.
fn number(value: Option<&str>, name: &'static str, default: u64) -> Result<u64, SettingsError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| problem(name, format!("{v:?} is not a whole number"))),
    }
}

fn problem(name: &'static str, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        name,
        problem: problem.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn site() -> Url {
        Url::parse("http://127.0.0.1:3000").unwrap()
    }

    #[test]
    fn defaults_development_and_names_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::from_vars(&vars(&[]), &site(), false, dir.path()).unwrap();
        assert!(settings.issuer.is_none());
        assert_eq!(settings.redirect_uri.as_str(), "http://127.0.0.1:3000/callback");
        assert_eq!(settings.scopes.join(" "), DEFAULT_SCOPES);
        // The generated development key persists: the same one next start.
        let again = Settings::from_vars(&vars(&[]), &site(), false, dir.path()).unwrap();
        assert_eq!(settings.cookie_keys[0].expose(), again.cookie_keys[0].expose());

        // (variables, the one named in the error, production?)
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, bool);
        let cases: [Case<'_>; 9] = [
            (
                &[("TOPCLUCK_PUBLIC_ORIGIN", "https://farm.example/app")],
                "TOPCLUCK_PUBLIC_ORIGIN",
                false,
            ),
            (
                &[("TOPCLUCK_PUBLIC_ORIGIN", "https://user@farm.example")],
                "TOPCLUCK_PUBLIC_ORIGIN",
                false,
            ),
            (
                &[("TOPCLUCK_PUBLIC_ORIGIN", "ftp://farm.example")],
                "TOPCLUCK_PUBLIC_ORIGIN",
                false,
            ),
            (
                &[("TOPCLUCK_REVOCATION_ENDPOINT", "http://id.example/revoke")],
                "TOPCLUCK_REVOCATION_ENDPOINT",
                false,
            ),
            (
                &[
                    ("TOPCLUCK_ISSUER", "https://id.example"),
                    ("TOPCLUCK_CLIENT_SECRET", "s"),
                ],
                "TOPCLUCK_COOKIE_KEYS",
                true,
            ),
            (&[("TOPCLUCK_ISSUER", "not a url")], "TOPCLUCK_ISSUER", false),
            (
                &[("TOPCLUCK_ISSUER", "https://id.example")],
                "TOPCLUCK_CLIENT_SECRET",
                false,
            ),
            (&[("TOPCLUCK_SCOPES", "profile")], "TOPCLUCK_SCOPES", false),
            (
                &[("TOPCLUCK_SESSION_MAX_AGE", "forever")],
                "TOPCLUCK_SESSION_MAX_AGE",
                false,
            ),
        ];
        for (pairs, name, production) in cases {
            let error = Settings::from_vars(&vars(pairs), &site(), production, dir.path()).unwrap_err();
            assert_eq!(error.name, name);
        }
    }

    #[test]
    fn the_public_origin_defaults_to_the_redirect_uris_and_is_written_as_browsers_do() {
        let dir = tempfile::tempdir().unwrap();
        let default = Settings::from_vars(&vars(&[]), &site(), false, dir.path()).unwrap();
        assert_eq!(default.public_origin, "http://127.0.0.1:3000");
        let configured = Settings::from_vars(
            &vars(&[
                ("TOPCLUCK_PUBLIC_ORIGIN", "HTTPS://Farm.Example:443/"),
                ("TOPCLUCK_REVOCATION_ENDPOINT", "http://127.0.0.1:9000/revoke"),
            ]),
            &site(),
            false,
            dir.path(),
        )
        .unwrap();
        assert_eq!(configured.public_origin, "https://farm.example");
        assert_eq!(
            configured.revocation_endpoint.unwrap().as_str(),
            "http://127.0.0.1:9000/revoke"
        );
    }

    #[test]
    fn the_issuer_is_kept_as_written_for_the_exact_comparison_with_discovery() {
        let dir = tempfile::tempdir().unwrap();
        for issuer in [
            "https://id.example",
            "https://id.example/",
            "https://id.example/realms/farm",
        ] {
            let settings = Settings::from_vars(
                &vars(&[("TOPCLUCK_ISSUER", issuer), ("TOPCLUCK_CLIENT_SECRET", "s")]),
                &site(),
                false,
                dir.path(),
            )
            .unwrap();
            assert_eq!(settings.issuer.as_deref(), Some(issuer));
        }
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::from_vars(
            &vars(&[
                ("TOPCLUCK_ISSUER", "https://id.example"),
                ("TOPCLUCK_CLIENT_SECRET", "very-secret-value"),
                ("TOPCLUCK_COOKIE_KEYS", "very-secret-key"),
            ]),
            &site(),
            true,
            dir.path(),
        )
        .unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
    }

    const KEY: (&str, &str) = (
        "TOPCLUCK_COOKIE_KEYS",
        "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0",
    );
    const SECRET: (&str, &str) = ("TOPCLUCK_CLIENT_SECRET", "s");

    fn refused(pairs: &[(&str, &str)], production: bool) -> SettingsError {
        let dir = tempfile::tempdir().unwrap();
        Settings::from_vars(&vars(pairs), &site(), production, dir.path()).unwrap_err()
    }

    fn accepted(pairs: &[(&str, &str)], production: bool) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        Settings::from_vars(&vars(pairs), &site(), production, dir.path()).unwrap()
    }

    #[test]
    fn daily_counting_needs_a_client_of_its_own_given_whole() {
        let issuer = ("TOPCLUCK_ISSUER", "https://id.example");
        assert!(accepted(&[KEY, SECRET, issuer], true).counting_client.is_none());
        let both = accepted(
            &[
                KEY,
                SECRET,
                issuer,
                ("TOPCLUCK_COUNTING_CLIENT_ID", "topcluck-counting"),
                ("TOPCLUCK_COUNTING_CLIENT_SECRET", "very-secret-counting"),
            ],
            true,
        );
        let counting = both.counting_client.as_ref().unwrap();
        assert_eq!(counting.client_id, "topcluck-counting");
        assert!(!format!("{both:?}").contains("very-secret-counting"));
        for (pairs, name) in [
            (
                &[("TOPCLUCK_COUNTING_CLIENT_ID", "topcluck-counting")][..],
                "TOPCLUCK_COUNTING_CLIENT_SECRET",
            ),
            (
                &[("TOPCLUCK_COUNTING_CLIENT_SECRET", "s2")][..],
                "TOPCLUCK_COUNTING_CLIENT_ID",
            ),
            (
                &[
                    ("TOPCLUCK_COUNTING_CLIENT_ID", "topcluck"),
                    ("TOPCLUCK_COUNTING_CLIENT_SECRET", "s2"),
                ][..],
                "TOPCLUCK_COUNTING_CLIENT_ID",
            ),
        ] {
            let mut all = vec![KEY, SECRET, issuer];
            all.extend_from_slice(pairs);
            assert_eq!(refused(&all, true).name, name);
        }
    }

    #[test]
    fn the_data_directory_is_one_setting() {
        let default = tempfile::tempdir().unwrap();
        let configured = tempfile::tempdir().unwrap();
        let path = configured.path().join("farm");
        let settings = Settings::from_vars(
            &vars(&[("TOPCLUCK_DATA_DIR", path.to_str().unwrap())]),
            &site(),
            false,
            default.path(),
        )
        .unwrap();
        assert_eq!(settings.data_dir, path);
        // The development keys are kept there, not in the default directory.
        assert!(path.join("cookie_key").exists());
        assert!(!default.path().join("cookie_key").exists());
        let unset = Settings::from_vars(&vars(&[]), &site(), false, default.path()).unwrap();
        assert_eq!(unset.data_dir, default.path());
    }

    #[test]
    fn production_without_an_issuer_is_refused() {
        let error = refused(&[KEY], true);
        assert_eq!(error.name, "TOPCLUCK_ISSUER");
        assert!(error.to_string().contains("required in production"), "{error}");
        // Development still runs the embedded provider.
        assert!(accepted(&[KEY], false).issuer.is_none());
    }

    #[test]
    fn a_plain_http_issuer_is_refused_outside_loopback_in_any_environment() {
        for production in [false, true] {
            for issuer in [
                "http://id.example",
                "http://10.0.0.7:8080",
                "http://[2001:db8::1]",
                "http://localhost.example",
                "http://127.0.0.1.nip.io",
                "ftp://id.example",
            ] {
                let error = refused(&[KEY, SECRET, ("TOPCLUCK_ISSUER", issuer)], production);
                assert_eq!(error.name, "TOPCLUCK_ISSUER", "{issuer}");
                assert!(error.to_string().contains(issuer), "{error}");
            }
            for issuer in [
                "https://id.example",
                "http://127.0.0.1:3030",
                "http://127.8.9.10",
                "http://[::1]:3030",
                "http://localhost:3030",
                "http://LOCALHOST",
            ] {
                let settings = accepted(&[KEY, SECRET, ("TOPCLUCK_ISSUER", issuer)], production);
                assert!(settings.issuer.is_some(), "{issuer}");
            }
        }
    }

    #[test]
    fn a_plain_http_redirect_uri_is_refused_outside_loopback_in_production() {
        let issuer = ("TOPCLUCK_ISSUER", "https://id.example");
        for name in ["TOPCLUCK_REDIRECT_URI", "TOPCLUCK_POST_LOGOUT_REDIRECT_URI"] {
            let error = refused(
                &[KEY, SECRET, issuer, (name, "http://topcluck.example/callback")],
                true,
            );
            assert_eq!(error.name, name);
            assert!(error.to_string().contains("use https"), "{error}");
            // Development on another machine of the network stays possible.
            accepted(
                &[KEY, SECRET, issuer, (name, "http://topcluck.example/callback")],
                false,
            );
            accepted(
                &[KEY, SECRET, issuer, (name, "https://topcluck.example/callback")],
                true,
            );
            accepted(
                &[KEY, SECRET, issuer, (name, "http://localhost:3000/callback")],
                true,
            );
        }
        // The default, derived from a server listening on every interface, is not loopback.
        let dir = tempfile::tempdir().unwrap();
        let everywhere = Url::parse("http://0.0.0.0:3000").unwrap();
        let error =
            Settings::from_vars(&vars(&[KEY, SECRET, issuer]), &everywhere, true, dir.path()).unwrap_err();
        assert_eq!(error.name, "TOPCLUCK_REDIRECT_URI");
    }
}
