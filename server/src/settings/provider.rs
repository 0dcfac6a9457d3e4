//! The OpenID provider and TopCluck's registration there: the issuer, the login's client, the
//! scopes asked for, the redirect URIs, where to revoke, the provider's reuse grace period,
//! whether logins must push their authorization requests (RFC 9126), and how many code
//! redemptions one address may make in a row.
//!
//! Without `TOPCLUCK_ISSUER` the embedded development provider runs — in development only, and
//! only in a build with the `embedded-coop` feature.

use std::time::Duration;

use coop::config_error::{Problem, Problems};
use url::Url;

use super::Secret;
use super::values::{Vars, require_tls, url};

pub(super) const VARIABLES: &[&str] = &[
    "TOPCLUCK_ISSUER",
    "TOPCLUCK_CLIENT_ID",
    "TOPCLUCK_CLIENT_SECRET",
    "TOPCLUCK_SCOPES",
    "TOPCLUCK_REDIRECT_URI",
    "TOPCLUCK_POST_LOGOUT_REDIRECT_URI",
    "TOPCLUCK_REVOCATION_ENDPOINT",
    "TOPCLUCK_PROVIDER_REUSE_GRACE_SECONDS",
    "TOPCLUCK_LOGIN_ATTEMPT_BURST",
    "TOPCLUCK_PAR_REQUIRED",
    "TOPCLUCK_BACKCHANNEL_LOGOUT_BURST",
];

pub const DEFAULT_SCOPES: &str = "openid profile email eggs:read eggs:write";

/// Whether this build can run the embedded development provider (the `embedded-coop` feature).
pub const EMBEDDED_PROVIDER: bool = cfg!(feature = "embedded-coop");

/// This section's settings (see [`super::Settings`] for each); `None` where the value had a
/// problem, so that checks depending on it are skipped.
pub(super) struct Provider {
    pub issuer: Option<String>,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    pub redirect_uri: Option<Url>,
    pub post_logout_redirect_uri: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    pub reuse_grace: Option<Duration>,
    pub login_attempt_burst: u32,
    pub par_required: bool,
    pub backchannel_logout_burst: u32,
}

pub(super) fn read(vars: &Vars<'_>, site: &Url, production: bool, problems: &mut Problems) -> Provider {
    let issuer = vars.get("TOPCLUCK_ISSUER");
    match issuer {
        Some(issuer) => {
            if let Some(parsed) = problems.check(url("TOPCLUCK_ISSUER", issuer)) {
                problems.check(require_tls("TOPCLUCK_ISSUER", &parsed));
            }
        }
        None if production => problems.add(
            "TOPCLUCK_ISSUER",
            "required in production (LEPTOS_ENV=PROD): without it TopCluck would run its \
             embedded development provider, whose login takes no password",
        ),
        None if !EMBEDDED_PROVIDER => problems.add(
            "TOPCLUCK_ISSUER",
            "not set, and this build has no embedded provider (the server's `embedded-coop` \
             feature: scripts/run.sh and `cargo run -p server --features embedded-coop` have it, \
             a production build does not): set it to your OpenID provider's issuer",
        ),
        None => {}
    }
    let client_secret = vars.get("TOPCLUCK_CLIENT_SECRET").map(Secret::new);
    if issuer.is_some() && client_secret.is_none() {
        problems.add("TOPCLUCK_CLIENT_SECRET", "required when TOPCLUCK_ISSUER is set");
    }
    let scopes: Vec<String> = vars
        .get("TOPCLUCK_SCOPES")
        .unwrap_or(DEFAULT_SCOPES)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        problems.add("TOPCLUCK_SCOPES", "must include openid");
    }
    let redirect_uri = vars
        .url("TOPCLUCK_REDIRECT_URI")
        .unwrap_or_else(|| Ok(site.join("/callback").expect("a path joins any http URL")))
        .and_then(|uri| {
            if !matches!(uri.scheme(), "http" | "https") || uri.host().is_none() {
                return Err(Problem::new(
                    "TOPCLUCK_REDIRECT_URI",
                    "must be an http(s) URL of this site",
                ));
            }
            Ok(uri)
        });
    let redirect_uri = problems.check(redirect_uri);
    let post_logout_redirect_uri = problems.check(
        vars.url("TOPCLUCK_POST_LOGOUT_REDIRECT_URI")
            .unwrap_or_else(|| Ok(site.join("/").expect("a path joins any http URL"))),
    );
    if production {
        for (name, uri) in [
            ("TOPCLUCK_REDIRECT_URI", &redirect_uri),
            ("TOPCLUCK_POST_LOGOUT_REDIRECT_URI", &post_logout_redirect_uri),
        ] {
            if let Some(uri) = uri {
                problems.check(require_tls(name, uri));
            }
        }
    }
    let revocation_endpoint = vars
        .url("TOPCLUCK_REVOCATION_ENDPOINT")
        .and_then(|endpoint| problems.check(endpoint));
    if let Some(endpoint) = &revocation_endpoint {
        problems.check(require_tls("TOPCLUCK_REVOCATION_ENDPOINT", endpoint));
    }
    let login_attempt_burst = problems
        .check(vars.number("TOPCLUCK_LOGIN_ATTEMPT_BURST", 20))
        .unwrap_or(20)
        .clamp(1, u64::from(u32::MAX)) as u32;
    let backchannel_logout_burst = problems
        .check(vars.number("TOPCLUCK_BACKCHANNEL_LOGOUT_BURST", 20))
        .unwrap_or(20)
        .clamp(1, u64::from(u32::MAX)) as u32;
    let reuse_grace = match problems.check(vars.number("TOPCLUCK_PROVIDER_REUSE_GRACE_SECONDS", 0)) {
        None | Some(0) => None,
        Some(seconds) => Some(Duration::from_secs(seconds)),
    };
    let par_required = problems
        .check(vars.flag("TOPCLUCK_PAR_REQUIRED", false))
        .unwrap_or(false);
    Provider {
        par_required,
        issuer: issuer.map(str::to_owned),
        client_id: vars.get("TOPCLUCK_CLIENT_ID").unwrap_or("topcluck").to_owned(),
        client_secret,
        scopes,
        redirect_uri,
        post_logout_redirect_uri,
        revocation_endpoint,
        reuse_grace,
        login_attempt_burst,
        backchannel_logout_burst,
    }
}
