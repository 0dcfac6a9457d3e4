//! Reading one variable: its value trimmed (empty is unset), and the checks every section
//! shares — a URL, an origin, TLS, a number — each failing with a [`Problem`] that names the
//! variable. A URL in a problem is shown without its user and password ([`shown`],
//! [`shown_text`]).

use std::collections::BTreeMap;
use std::time::Duration;

use coop::config_error::Problem;
use url::Url;

/// The `TOPCLUCK_*` variables of one start.
pub(super) struct Vars<'a>(pub &'a BTreeMap<String, String>);

impl Vars<'_> {
    /// The value of `name`, trimmed; `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// A whole number (zero allowed), or `default` when unset.
    pub fn number(&self, name: &'static str, default: u64) -> Result<u64, Problem> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| Problem::new(name, format!("{v:?} is not a whole number"))),
        }
    }

    /// `true` or `false` (`1` or `0`), or `default` when unset.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, Problem> {
        match self.get(name) {
            None => Ok(default),
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(v) => Err(Problem::new(name, format!("{v:?} is not true or false"))),
        }
    }

    /// A number of milliseconds, or `default` when unset.
    pub fn millis(&self, name: &'static str, default: Duration) -> Result<Duration, Problem> {
        self.number(name, default.as_millis() as u64)
            .map(Duration::from_millis)
    }

    /// A URL, if set.
    pub fn url(&self, name: &'static str) -> Option<Result<Url, Problem>> {
        self.get(name).map(|value| url(name, value))
    }
}

pub(super) fn url(name: &'static str, value: &str) -> Result<Url, Problem> {
    Url::parse(value).map_err(|e| Problem::new(name, format!("{:?} is not a URL: {e}", shown_text(value))))
}

/// `url` as a problem shows it: a user and password (`https://user:password@host`) become
/// `***`.
pub(super) fn shown(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut redacted = url.clone();
    // Both fail only for URLs that cannot have a user (no host), which have none.
    let _ = redacted.set_password(None);
    let _ = redacted.set_username("***");
    redacted.to_string()
}

/// A configured value that may be a URL, as a problem shows it — also when it does not parse:
/// what stands before an `@` in its authority (`scheme://…@`) becomes `***`.
pub(super) fn shown_text(value: &str) -> String {
    let Some(scheme_end) = value.find("://").map(|at| at + 3) else {
        return value.to_owned();
    };
    let rest = &value[scheme_end..];
    let authority = rest.find(['/', '?', '#']).map_or(rest, |end| &rest[..end]);
    match authority.rfind('@') {
        Some(at) => format!("{}***{}", &value[..scheme_end], &rest[at..]),
        None => value.to_owned(),
    }
}

/// `https`, or `http` to this machine only (loopback: `127.0.0.0/8`, `::1`, `localhost`), where
/// no network carries what is sent.
pub(super) fn require_tls(name: &'static str, url: &Url) -> Result<(), Problem> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Problem::new(
            name,
            format!(
                "{} is plain http to another machine: use https (http only to 127.0.0.1, ::1 or localhost)",
                shown(url)
            ),
        )),
        other => Err(Problem::new(
            name,
            format!("{}: the scheme must be https, not {other}", shown(url)),
        )),
    }
}

/// `value` as an origin (`scheme://host[:port]`, nothing else), serialized as browsers send
/// it in `Origin`.
pub(super) fn origin_of(name: &'static str, value: &str) -> Result<String, Problem> {
    let url = url(name, value)?;
    let bare = matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
        return Err(Problem::new(
            name,
            format!(
                "{:?} is not an origin (scheme://host[:port], no path)",
                shown_text(value)
            ),
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// `https`, or `http` to this machine only (see [`is_loopback`]).
pub fn is_tls_or_loopback(url: &Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && is_loopback(url))
}

/// Whether `url`'s host is this machine (127.0.0.0/8, ::1, localhost).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}
