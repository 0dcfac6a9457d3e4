//! The daily egg count: its own client registration at the provider, when it runs, how many
//! farmers it counts at once, and its waits between attempts.

use std::time::Duration;

use coop::config_error::{Problem, Problems};

use super::Secret;
use super::values::Vars;
use crate::counting::schedule::Schedule;

pub(super) const VARIABLES: &[&str] = &[
    "TOPCLUCK_COUNTING_CLIENT_ID",
    "TOPCLUCK_COUNTING_CLIENT_SECRET",
    "TOPCLUCK_DAILY_COUNT_AT",
    "TOPCLUCK_DAILY_COUNT_TZ",
    "TOPCLUCK_COUNT_CONCURRENCY",
    "TOPCLUCK_COUNT_RETRY_MS",
];

/// The daily job's client registration at the provider: same issuer and redirect URI as the
/// login's, another client id and secret.
#[derive(Clone, Debug)]
pub struct CountingClient {
    pub client_id: String,
    pub client_secret: Secret,
}

/// This section's settings (see [`super::Settings`]).
pub(super) struct Counting {
    pub counting_client: Option<CountingClient>,
    pub daily_count: Option<Schedule>,
    pub count_concurrency: usize,
    pub count_backoff: Vec<Duration>,
}

/// `login_client_id`: the login's client, which daily counting's must differ from.
pub(super) fn read(vars: &Vars<'_>, login_client_id: &str, problems: &mut Problems) -> Counting {
    let counting_client = problems
        .check(counting_client(
            vars.get("TOPCLUCK_COUNTING_CLIENT_ID"),
            vars.get("TOPCLUCK_COUNTING_CLIENT_SECRET"),
            login_client_id,
        ))
        .flatten();
    let daily_count = problems.check(
        Schedule::parse(
            vars.get("TOPCLUCK_DAILY_COUNT_AT").unwrap_or("06:00"),
            vars.get("TOPCLUCK_DAILY_COUNT_TZ").unwrap_or("UTC"),
        )
        .map_err(|e| Problem::new("TOPCLUCK_DAILY_COUNT_AT / TOPCLUCK_DAILY_COUNT_TZ", e)),
    );
    let count_concurrency = problems
        .check(vars.number("TOPCLUCK_COUNT_CONCURRENCY", 4))
        .unwrap_or(4)
        .clamp(1, 256) as usize;
    let count_backoff = problems
        .check(backoff(
            vars.get("TOPCLUCK_COUNT_RETRY_MS").unwrap_or("1000,5000,30000"),
        ))
        .unwrap_or_default();
    Counting {
        counting_client,
        daily_count,
        count_concurrency,
        count_backoff,
    }
}

/// `TOPCLUCK_COUNT_RETRY_MS`: milliseconds, comma separated. A run holds a farmer's grant for
/// [`crate::counting::LEASE_SECONDS`]: its retries must end well within.
fn backoff(value: &str) -> Result<Vec<Duration>, Problem> {
    let waits = value
        .split(',')
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            v.trim().parse::<u64>().map(Duration::from_millis).map_err(|_| {
                Problem::new(
                    "TOPCLUCK_COUNT_RETRY_MS",
                    format!("{v:?} is not a number of milliseconds"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let total: u64 = waits.iter().map(|d| d.as_secs()).sum();
    if total * 2 > crate::counting::LEASE_SECONDS as u64 {
        return Err(Problem::new(
            "TOPCLUCK_COUNT_RETRY_MS",
            format!(
                "the waits add up to {total} s: keep them under {} s",
                crate::counting::LEASE_SECONDS / 2
            ),
        ));
    }
    Ok(waits)
}

/// `TOPCLUCK_COUNTING_CLIENT_ID` and `_SECRET`: both or neither, and a client id other than the
/// login's (one client would mean one grant at many providers, the very thing this avoids).
fn counting_client(
    id: Option<&str>,
    secret: Option<&str>,
    login_client_id: &str,
) -> Result<Option<CountingClient>, Problem> {
    match (id, secret) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(Problem::new(
            "TOPCLUCK_COUNTING_CLIENT_SECRET",
            "required when TOPCLUCK_COUNTING_CLIENT_ID is set",
        )),
        (None, Some(_)) => Err(Problem::new(
            "TOPCLUCK_COUNTING_CLIENT_ID",
            "required when TOPCLUCK_COUNTING_CLIENT_SECRET is set",
        )),
        (Some(id), Some(_)) if id == login_client_id => Err(Problem::new(
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
