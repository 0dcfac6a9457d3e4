//! How COOP's authorization endpoint meets two standards a client may rely on, each with a
//! switch to play a provider without it (kept out of the long `config.rs`):
//!
//! - [`ParMode`] (`COOP_PAR`): pushed authorization requests (RFC 9126) at `POST /par`, named
//!   in discovery as `pushed_authorization_request_endpoint` (§5); `required` also says
//!   `require_pushed_authorization_requests: true` and refuses an authorization request that
//!   does not come through it; `off` plays a provider without PAR (no endpoint, 404).
//! - [`Config::iss_parameter`](crate::Config::iss_parameter) (`COOP_ISS_PARAMETER`): `iss` on
//!   every authorization response, success and error (RFC 9207 §2), and
//!   `authorization_response_iss_parameter_supported: true` in discovery (§3); `0` plays a
//!   provider that sends neither.

use crate::config::Config;
use crate::config_error::{Problem, Problems};

/// Whether COOP offers pushed authorization requests (RFC 9126), and whether it requires them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParMode {
    /// No PAR endpoint: discovery does not name one and `POST /par` is 404.
    Off,
    /// `POST /par` is offered and advertised; a plain authorization request works too.
    #[default]
    On,
    /// Offered, advertised with `require_pushed_authorization_requests: true`, and an
    /// authorization request without `request_uri` is refused (`invalid_request`).
    Required,
}

impl ParMode {
    /// Whether `POST /par` exists.
    pub fn offered(self) -> bool {
        self != Self::Off
    }
}

impl std::str::FromStr for ParMode {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "off" => Ok(Self::Off),
            "on" => Ok(Self::On),
            "required" => Ok(Self::Required),
            other => Err(format!("'{other}' is not one of off, on, required")),
        }
    }
}

/// Reads `COOP_PAR` and `COOP_ISS_PARAMETER` into `config`.
pub(crate) fn read<'a>(config: &mut Config, get: &impl Fn(&str) -> Option<&'a str>, problems: &mut Problems) {
    if let Some(v) = get("COOP_PAR")
        && let Some(mode) = problems.check(v.parse().map_err(|e| Problem::new("COOP_PAR", e)))
    {
        config.par = mode;
    }
    match get("COOP_ISS_PARAMETER") {
        None => {}
        Some("1" | "true" | "on") => config.iss_parameter = true,
        Some("0" | "false" | "off") => config.iss_parameter = false,
        Some(other) => problems.add("COOP_ISS_PARAMETER", format!("{other:?} is not on or off")),
    }
}

#[cfg(test)]
mod tests {
    use super::ParMode;
    use crate::config::test_config as config;

    #[test]
    fn par_and_the_iss_parameter_are_on_by_default_and_each_has_its_switch() {
        let default = config(&[]).unwrap();
        assert_eq!((default.par, default.iss_parameter), (ParMode::On, true));
        for (value, mode) in [
            ("off", ParMode::Off),
            ("on", ParMode::On),
            ("required", ParMode::Required),
        ] {
            assert_eq!(config(&[("COOP_PAR", value)]).unwrap().par, mode);
        }
        assert!(!config(&[("COOP_ISS_PARAMETER", "off")]).unwrap().iss_parameter);
        assert!(!config(&[("COOP_ISS_PARAMETER", "0")]).unwrap().iss_parameter);
        let error = config(&[("COOP_PAR", "sometimes"), ("COOP_ISS_PARAMETER", "maybe")]).unwrap_err();
        assert_eq!(error.names(), ["COOP_PAR", "COOP_ISS_PARAMETER"]);
    }
}
