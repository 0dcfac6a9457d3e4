//! The API proxy: the upstream `/api/*` forwards to, and how much of a request body is kept so
//! the request can be sent again after a renewal. (Its timeouts are in [`super::timeouts`].)

use coop::config_error::Problems;
use url::Url;

use super::values::Vars;

pub(super) const VARIABLES: &[&str] = &["TOPCLUCK_API_URL", "TOPCLUCK_RETRY_BODY_LIMIT"];

/// This section's settings (see [`super::Settings`]).
pub(super) struct Proxy {
    pub api_url: Option<Url>,
    pub retry_body_limit: usize,
}

pub(super) fn read(vars: &Vars<'_>, problems: &mut Problems) -> Proxy {
    Proxy {
        api_url: vars.url("TOPCLUCK_API_URL").and_then(|url| problems.check(url)),
        retry_body_limit: problems
            .check(vars.number("TOPCLUCK_RETRY_BODY_LIMIT", 64 * 1024))
            .unwrap_or_default() as usize,
    }
}
