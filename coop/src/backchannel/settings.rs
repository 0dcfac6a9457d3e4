//! `COOP_BACKCHANNEL_LOGOUT_URI`: where the default client (TopCluck) takes back-channel logout
//! tokens (its `backchannel_logout_uri`, OpenID Connect Back-Channel Logout 1.0 §2.2, with
//! `backchannel_logout_session_required` true: every logout token for an end-session carries
//! `sid`). Unset: none, and COOP sends the client no logout token. Kept out of `config.rs`,
//! which reads everything else.

use crate::config::Config;
use crate::config_error::Problems;

/// The variable.
pub const VARIABLE: &str = "COOP_BACKCHANNEL_LOGOUT_URI";

/// Reads [`VARIABLE`] into `config` for its default client (`clients[0]`, once renamed): an
/// absolute `http`/`https` URL without a fragment (§2.2).
pub(crate) fn read<'a>(config: &mut Config, get: &impl Fn(&str) -> Option<&'a str>, problems: &mut Problems) {
    let Some(value) = get(VARIABLE) else {
        return;
    };
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.fragment().is_none() => {
            let client = config.clients[0].id.clone();
            config.backchannel_logout_uris.insert(client, value.to_owned());
        }
        _ => problems.add(
            VARIABLE,
            format!("{value:?} is not an absolute http(s) URL without a fragment"),
        ),
    }
}
