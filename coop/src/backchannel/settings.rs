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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::config::test_config as config;

    #[test]
    fn the_default_client_gets_the_uri_under_its_own_id_and_a_bad_one_is_reported() {
        assert!(config(&[]).unwrap().backchannel_logout_uris.is_empty());
        let uri = "http://127.0.0.1:3000/bff/backchannel-logout";
        let renamed = config(&[(super::VARIABLE, uri), ("COOP_CLIENT_ID", "henhouse")]).unwrap();
        assert_eq!(
            renamed.backchannel_logout_uris,
            BTreeMap::from([("henhouse".to_owned(), uri.to_owned())])
        );
        for bad in ["/bff/backchannel-logout", "ftp://x/", "http://x/#frag"] {
            let error = config(&[(super::VARIABLE, bad)]).unwrap_err();
            assert_eq!(error.names(), vec![super::VARIABLE], "{bad}");
        }
    }
}
