//! Every timeout on a request's path, in one place, because they must nest: a request's own
//! limit holds a renewal and an upstream call, a refresh outlives any request waiting for it,
//! and the browser gives up only after the server's whole budget. Each is a setting in
//! milliseconds with today's default, never 0; [`Timeouts::nesting_problems`] refuses a
//! configuration in which one does not fit inside the other.
//!
//! | setting | default | what it bounds | must fit inside |
//! | --- | --- | --- | --- |
//! | `TOPCLUCK_HEADER_READ_TIMEOUT_MS` | 10 s | a request's headers; an idle kept-alive connection ([`crate::edges::serve`]) | with the request timeout, the browser's deadline |
//! | `TOPCLUCK_BODY_TIMEOUT_MS` | 15 s | a pause between two chunks of a request body | the request timeout |
//! | `TOPCLUCK_REQUEST_TIMEOUT_MS` | 30 s | a request until its response starts (504) | the refresh timeout; with the header read, the browser's deadline (`app::api::CLIENT_TIMEOUT_SECONDS`, 60 s) |
//! | `TOPCLUCK_UPSTREAM_CONNECT_TIMEOUT_MS` | 3 s | connecting to the upstream API | the upstream timeout |
//! | `TOPCLUCK_UPSTREAM_READ_TIMEOUT_MS` | 10 s | a pause between two reads of its answer | the upstream timeout |
//! | `TOPCLUCK_UPSTREAM_TIMEOUT_MS` | 15 s | a whole upstream call (502 `bad_gateway`) | with the refresh wait, the request timeout |
//! | `TOPCLUCK_PROVIDER_CONNECT_TIMEOUT_MS` | 3 s | connecting to the provider | the provider timeout |
//! | `TOPCLUCK_PROVIDER_TIMEOUT_MS` | 10 s | a provider call other than a refresh (discovery, code exchange, revocation) | the request timeout |
//! | `TOPCLUCK_REFRESH_WAIT_MS` | 10 s | how long a request waits for a refresh (503 "retry"; the refresh goes on) | with the upstream timeout, the request timeout |
//! | `TOPCLUCK_REFRESH_TIMEOUT_MS` | 60 s | a refresh at the provider, on its own task | at most [`crate::oidc::REFRESH_TIMEOUT`] (the store's in-flight bound is built on it) |

use std::time::Duration;

use coop::config_error::{Problem, Problems};

use super::values::Vars;

pub(super) const VARIABLES: &[&str] = &[
    "TOPCLUCK_HEADER_READ_TIMEOUT_MS",
    "TOPCLUCK_BODY_TIMEOUT_MS",
    "TOPCLUCK_REQUEST_TIMEOUT_MS",
    "TOPCLUCK_UPSTREAM_CONNECT_TIMEOUT_MS",
    "TOPCLUCK_UPSTREAM_READ_TIMEOUT_MS",
    "TOPCLUCK_UPSTREAM_TIMEOUT_MS",
    "TOPCLUCK_PROVIDER_CONNECT_TIMEOUT_MS",
    "TOPCLUCK_PROVIDER_TIMEOUT_MS",
    "TOPCLUCK_REFRESH_WAIT_MS",
    "TOPCLUCK_REFRESH_TIMEOUT_MS",
];

/// How long the browser waits for any answer ([`app::api::CLIENT_TIMEOUT_SECONDS`]).
pub const BROWSER_DEADLINE: Duration = Duration::from_secs(app::api::CLIENT_TIMEOUT_SECONDS as u64);

/// The timeouts on a request's path (see the module's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub header_read: Duration,
    pub body: Duration,
    pub request: Duration,
    pub upstream_connect: Duration,
    pub upstream_read: Duration,
    pub upstream: Duration,
    pub provider_connect: Duration,
    pub provider: Duration,
    pub refresh_wait: Duration,
    pub refresh: Duration,
}

impl Timeouts {
    /// Today's values: what a start without the variables gets.
    pub const DEFAULT: Self = Self {
        header_read: Duration::from_secs(10),
        body: Duration::from_secs(15),
        request: Duration::from_secs(30),
        upstream_connect: Duration::from_secs(3),
        upstream_read: Duration::from_secs(10),
        upstream: Duration::from_secs(15),
        provider_connect: Duration::from_secs(3),
        provider: Duration::from_secs(10),
        refresh_wait: Duration::from_secs(10),
        refresh: crate::oidc::REFRESH_TIMEOUT,
    };

    /// The longest the server takes to start answering a request, from its first byte.
    pub fn server_budget(&self) -> Duration {
        self.header_read + self.request
    }

    /// Each timeout that does not fit inside the one it must, named by its variable.
    pub fn nesting_problems(&self) -> Vec<Problem> {
        let ms = |d: Duration| d.as_millis();
        let mut problems = Vec::new();
        let mut must = |fits: bool, name: &'static str, text: String| {
            if !fits {
                problems.push(Problem::new(name, text));
            }
        };
        must(
            self.body <= self.request,
            "TOPCLUCK_BODY_TIMEOUT_MS",
            format!(
                "{} ms is longer than the request timeout ({} ms)",
                ms(self.body),
                ms(self.request)
            ),
        );
        must(
            self.upstream_connect <= self.upstream,
            "TOPCLUCK_UPSTREAM_CONNECT_TIMEOUT_MS",
            format!(
                "{} ms is longer than the whole upstream call's timeout (TOPCLUCK_UPSTREAM_TIMEOUT_MS, {} ms)",
                ms(self.upstream_connect),
                ms(self.upstream)
            ),
        );
        must(
            self.upstream_read <= self.upstream,
            "TOPCLUCK_UPSTREAM_READ_TIMEOUT_MS",
            format!(
                "{} ms is longer than the whole upstream call's timeout (TOPCLUCK_UPSTREAM_TIMEOUT_MS, {} ms)",
                ms(self.upstream_read),
                ms(self.upstream)
            ),
        );
        must(
            self.refresh_wait + self.upstream <= self.request,
            "TOPCLUCK_REQUEST_TIMEOUT_MS",
            format!(
                "{} ms does not hold a refresh wait ({} ms) and an upstream call ({} ms)",
                ms(self.request),
                ms(self.refresh_wait),
                ms(self.upstream)
            ),
        );
        must(
            self.provider_connect <= self.provider,
            "TOPCLUCK_PROVIDER_CONNECT_TIMEOUT_MS",
            format!(
                "{} ms is longer than a provider call's timeout (TOPCLUCK_PROVIDER_TIMEOUT_MS, {} ms)",
                ms(self.provider_connect),
                ms(self.provider)
            ),
        );
        must(
            self.provider <= self.request,
            "TOPCLUCK_PROVIDER_TIMEOUT_MS",
            format!(
                "{} ms is longer than the request timeout ({} ms) that a login's code exchange runs in",
                ms(self.provider),
                ms(self.request)
            ),
        );
        must(
            self.request < self.refresh,
            "TOPCLUCK_REFRESH_TIMEOUT_MS",
            format!(
                "{} ms must be longer than the request timeout ({} ms): a refresh outlives the requests \
                 waiting for it, so its answer is kept even when they gave up",
                ms(self.refresh),
                ms(self.request)
            ),
        );
        must(
            self.refresh <= crate::oidc::REFRESH_TIMEOUT,
            "TOPCLUCK_REFRESH_TIMEOUT_MS",
            format!(
                "{} ms is longer than {} ms, on which the store's in-flight bound and a graceful stop's \
                 wait for refreshes are built",
                ms(self.refresh),
                ms(crate::oidc::REFRESH_TIMEOUT)
            ),
        );
        must(
            self.server_budget() < BROWSER_DEADLINE,
            "TOPCLUCK_REQUEST_TIMEOUT_MS",
            format!(
                "with the header read timeout, {} ms: the browser gives up after {} ms, before the server answers",
                ms(self.server_budget()),
                ms(BROWSER_DEADLINE)
            ),
        );
        problems
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The timeouts, each checked (a whole number of milliseconds, not 0), then checked against
/// each other.
pub(super) fn read(vars: &Vars<'_>, problems: &mut Problems) -> Timeouts {
    let d = Timeouts::DEFAULT;
    let mut timeouts = d;
    let mut problem_found = false;
    for (name, field, default) in [
        (
            "TOPCLUCK_HEADER_READ_TIMEOUT_MS",
            &mut timeouts.header_read,
            d.header_read,
        ),
        ("TOPCLUCK_BODY_TIMEOUT_MS", &mut timeouts.body, d.body),
        ("TOPCLUCK_REQUEST_TIMEOUT_MS", &mut timeouts.request, d.request),
        (
            "TOPCLUCK_UPSTREAM_CONNECT_TIMEOUT_MS",
            &mut timeouts.upstream_connect,
            d.upstream_connect,
        ),
        (
            "TOPCLUCK_UPSTREAM_READ_TIMEOUT_MS",
            &mut timeouts.upstream_read,
            d.upstream_read,
        ),
        ("TOPCLUCK_UPSTREAM_TIMEOUT_MS", &mut timeouts.upstream, d.upstream),
        (
            "TOPCLUCK_PROVIDER_CONNECT_TIMEOUT_MS",
            &mut timeouts.provider_connect,
            d.provider_connect,
        ),
        ("TOPCLUCK_PROVIDER_TIMEOUT_MS", &mut timeouts.provider, d.provider),
        (
            "TOPCLUCK_REFRESH_WAIT_MS",
            &mut timeouts.refresh_wait,
            d.refresh_wait,
        ),
        ("TOPCLUCK_REFRESH_TIMEOUT_MS", &mut timeouts.refresh, d.refresh),
    ] {
        let value = vars.millis(name, default).and_then(|value| {
            if value.is_zero() {
                Err(Problem::new(name, "0 ms: a timeout must be at least 1 ms"))
            } else {
                Ok(value)
            }
        });
        match problems.check(value) {
            Some(value) => *field = value,
            None => problem_found = true,
        }
    }
    // Compared only when each was read: a malformed one is its own problem.
    if !problem_found {
        for problem in timeouts.nesting_problems() {
            problems.add(problem.name, problem.problem);
        }
    }
    timeouts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_nest_and_the_browser_waits_longer_than_the_server() {
        let d = Timeouts::DEFAULT;
        assert_eq!(d.nesting_problems(), []);
        assert!(d.upstream_connect < d.upstream && d.upstream_read < d.upstream);
        assert!(d.refresh_wait + d.upstream <= d.request);
        assert!(d.provider < d.request && d.request < d.refresh);
        assert!(d.body <= d.request);
        // The browser's deadline exceeds the server's whole budget: the server answers first.
        assert!(d.server_budget() < BROWSER_DEADLINE, "{:?}", d.server_budget());
        assert_eq!(BROWSER_DEADLINE, Duration::from_secs(60));
    }

    #[test]
    fn a_timeout_that_does_not_fit_is_named() {
        let cases: [(Timeouts, &str); 4] = [
            (
                Timeouts {
                    upstream: Duration::from_secs(25),
                    ..Timeouts::DEFAULT
                },
                "TOPCLUCK_REQUEST_TIMEOUT_MS",
            ),
            (
                Timeouts {
                    refresh: Duration::from_secs(20),
                    ..Timeouts::DEFAULT
                },
                "TOPCLUCK_REFRESH_TIMEOUT_MS",
            ),
            (
                Timeouts {
                    request: Duration::from_secs(55),
                    refresh: Duration::from_secs(60),
                    ..Timeouts::DEFAULT
                },
                "TOPCLUCK_REQUEST_TIMEOUT_MS",
            ),
            (
                Timeouts {
                    provider_connect: Duration::from_secs(11),
                    ..Timeouts::DEFAULT
                },
                "TOPCLUCK_PROVIDER_CONNECT_TIMEOUT_MS",
            ),
        ];
        for (timeouts, name) in cases {
            let names: Vec<_> = timeouts.nesting_problems().iter().map(|p| p.name).collect();
            assert_eq!(names, [name], "{timeouts:?}");
        }
    }
}
