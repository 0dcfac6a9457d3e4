//! The browser's session: the keys that seal its cookies, how long it lasts, how early its
//! access token is renewed, and the origin its requests must come from (the CSRF check).

use std::path::Path;
use std::time::Duration;

use coop::config_error::{Problem, Problems};
use url::Url;

use super::Secret;
use super::values::{Vars, origin_of};
use crate::cookies::KeyRing;

pub(super) const VARIABLES: &[&str] = &[
    "TOPCLUCK_COOKIE_KEYS",
    "TOPCLUCK_SESSION_MAX_AGE",
    "TOPCLUCK_REFRESH_SKEW",
    "TOPCLUCK_PUBLIC_ORIGIN",
];

/// This section's settings (see [`super::Settings`]). `cookie_keys` are checked by the cookie
/// key ring itself, with the other problems. `cookie_keys` is `None` in development
/// without the variable: one key is generated into the data directory ([`development_key`]),
/// once the rest of the configuration is known to be right.
pub(super) struct Session {
    pub cookie_keys: Option<Vec<Secret>>,
    pub session_max_age: Duration,
    pub refresh_skew: Duration,
    /// `None`: the redirect URI's origin.
    pub public_origin: Option<String>,
}

pub(super) fn read(vars: &Vars<'_>, production: bool, problems: &mut Problems) -> Session {
    let cookie_keys = match vars.get("TOPCLUCK_COOKIE_KEYS") {
        Some(v) => {
            let keys: Vec<Secret> = v
                .split([',', ' '])
                .filter(|k| !k.is_empty())
                .map(Secret::new)
                .collect();
            problems.check(check_cookie_keys(&keys));
            Some(keys)
        }
        None if production => {
            problems.add(
                "TOPCLUCK_COOKIE_KEYS",
                "required in production (one or more base64 keys of 32+ bytes)",
            );
            Some(Vec::new())
        }
        None => None,
    };
    let session_max_age = match vars.get("TOPCLUCK_SESSION_MAX_AGE") {
        None => Some(Duration::from_secs(7 * 24 * 3600)),
        Some(v) => problems.check(
            v.parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    Problem::new(
                        "TOPCLUCK_SESSION_MAX_AGE",
                        format!("{v:?} is not a positive number of seconds"),
                    )
                }),
        ),
    };
    let refresh_skew = problems.check(vars.number("TOPCLUCK_REFRESH_SKEW", 30));
    let public_origin = vars
        .get("TOPCLUCK_PUBLIC_ORIGIN")
        .and_then(|v| problems.check(origin_of("TOPCLUCK_PUBLIC_ORIGIN", v)));
    Session {
        cookie_keys,
        session_max_age: session_max_age.unwrap_or_default(),
        refresh_skew: Duration::from_secs(refresh_skew.unwrap_or_default()),
        public_origin,
    }
}

/// The keys as the cookie key ring ([`KeyRing::new`], the one parser) takes them; a problem
/// names the entry by its position, never by its text.
fn check_cookie_keys(keys: &[Secret]) -> Result<(), Problem> {
    if keys.is_empty() {
        return Err(Problem::new(
            "TOPCLUCK_COOKIE_KEYS",
            "no key: one or more base64 keys of 32+ bytes, the first seals",
        ));
    }
    KeyRing::new(keys).map(drop).map_err(|e| {
        Problem::new(
            "TOPCLUCK_COOKIE_KEYS",
            format!(
                "entry {} of the list is not base64 of at least 32 bytes",
                e.position
            ),
        )
    })
}

/// The origin browsers show: the configured one, or the redirect URI's.
pub(super) fn public_origin(configured: Option<String>, redirect_uri: &Url) -> String {
    configured.unwrap_or_else(|| redirect_uri.origin().ascii_serialization())
}

/// Development without `TOPCLUCK_COOKIE_KEYS`: one key, generated once into `data_dir`.
pub(super) fn development_key(data_dir: &Path) -> Result<Vec<Secret>, Problem> {
    let path = data_dir.join("cookie_key");
    let key = coop::secret_file::load_or_create(&path).map_err(|e| {
        Problem::new(
            "TOPCLUCK_COOKIE_KEYS",
            format!("cannot keep a development key in {}: {e}", path.display()),
        )
    })?;
    Ok(vec![Secret::new(key)])
}
