//! Where an operator scrapes the BFF's metrics (`crate::metrics`): a listener of its own, never
//! the public site's, so `/metrics` is not on the internet because the site is.

use std::net::SocketAddr;

use coop::config_error::{Problem, Problems};
use url::Url;

use super::values::Vars;

pub(super) const VARIABLES: &[&str] = &["TOPCLUCK_METRICS_ADDR"];

/// `TOPCLUCK_METRICS_ADDR` (`ip:port`): `None` when unset, and then there is no metrics
/// listener and no recorder. Refused: what is not an `ip:port` (no host names: the address is
/// bound as written), and the site's own address (`site`), which would put `/metrics` on the
/// public listener — or fail to bind.
pub(super) fn read(vars: &Vars<'_>, site: &Url, problems: &mut Problems) -> Option<SocketAddr> {
    const NAME: &str = "TOPCLUCK_METRICS_ADDR";
    let value = vars.get(NAME)?;
    let addr = problems.check(value.parse::<SocketAddr>().map_err(|_| {
        Problem::new(
            NAME,
            format!("{value:?} is not an ip:port address (e.g. 127.0.0.1:9464)"),
        )
    }))?;
    if shares_the_sites_socket(addr, site) {
        problems.add(
            NAME,
            format!("{addr} is the site's own address ({site}): metrics need a listener of their own"),
        );
        return None;
    }
    Some(addr)
}

/// `addr` and the site's address would be the same socket: the same port (not 0, which the
/// system chooses), on the same IP or on an unspecified one (`0.0.0.0`, `::`) that covers it.
fn shares_the_sites_socket(addr: SocketAddr, site: &Url) -> bool {
    let site_ip = match site.host() {
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
        _ => return false,
    };
    addr.port() != 0
        && site.port_or_known_default() == Some(addr.port())
        && (addr.ip() == site_ip || addr.ip().is_unspecified() || site_ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::super::Settings;
    use super::super::tests::{site, vars};

    fn read(value: &str) -> Result<Option<std::net::SocketAddr>, Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let pairs = [
            ("TOPCLUCK_ISSUER", "https://id.example"),
            ("TOPCLUCK_CLIENT_SECRET", "s"),
            ("TOPCLUCK_METRICS_ADDR", value),
        ];
        Settings::from_vars(&vars(&pairs), &site(), false, dir.path())
            .map(|settings| settings.metrics_addr)
            .map_err(|error| {
                error
                    .problems
                    .iter()
                    .map(|p| format!("{}: {}", p.name, p.problem))
                    .collect()
            })
    }

    #[test]
    fn unset_is_no_listener_and_an_address_is_taken_as_written() {
        assert_eq!(read("").unwrap(), None);
        assert_eq!(
            read("127.0.0.1:9464").unwrap(),
            Some("127.0.0.1:9464".parse().unwrap())
        );
        assert_eq!(read("[::1]:9464").unwrap(), Some("[::1]:9464".parse().unwrap()));
        // Port 0: the system chooses (tests), never the site's.
        assert_eq!(read("127.0.0.1:0").unwrap(), Some("127.0.0.1:0".parse().unwrap()));
    }

    #[test]
    fn what_is_not_an_address_of_its_own_is_refused_and_named() {
        // The site is 127.0.0.1:3000 (`tests::site`).
        for (value, says) in [
            ("localhost:9464", "is not an ip:port address"),
            ("9464", "is not an ip:port address"),
            ("127.0.0.1", "is not an ip:port address"),
            ("http://127.0.0.1:9464", "is not an ip:port address"),
            ("127.0.0.1:3000", "is the site's own address"),
            ("0.0.0.0:3000", "is the site's own address"),
        ] {
            let problems = read(value).unwrap_err();
            assert_eq!(problems.len(), 1, "{value}: {problems:?}");
            assert!(
                problems[0].starts_with("TOPCLUCK_METRICS_ADDR: ") && problems[0].contains(says),
                "{value}: {problems:?}"
            );
        }
        // Another port, or another IP on the same port: a socket of its own.
        assert!(read("127.0.0.1:3001").is_ok());
        assert!(read("127.0.0.2:3000").is_ok());
    }
}
