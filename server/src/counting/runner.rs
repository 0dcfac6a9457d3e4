//! The daily job in the server: sleeps until the schedule says a run is due (checking at
//! least every minute, so a moved clock is noticed), runs, and records the day. A run missed
//! while the server was down is due at once when it starts again ([`Schedule::next`]).

use std::time::Duration;

use super::Job;
use super::schedule::Schedule;

/// How long the runner sleeps at most before looking again.
const LOOK_EVERY: Duration = Duration::from_secs(60);
/// A day's run that left farmers to retry (provider or API unavailable, or counted by another
/// run) goes again after this long, up to [`PASSES_PER_DAY`] passes; then the day is done.
const NEXT_PASS: Duration = Duration::from_secs(15 * 60);
const PASSES_PER_DAY: u32 = 4;

pub fn spawn(job: Job, schedule: Schedule) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut passes: (Option<time::Date>, u32) = (None, 0);
        loop {
            let now = job.clock.now();
            let last = match job.vault.last_run().await {
                Ok(last) => last,
                Err(error) => {
                    tracing::error!(%error, "daily count: the vault cannot say when it last ran");
                    tokio::time::sleep(LOOK_EVERY).await;
                    continue;
                }
            };
            let next = schedule.next(now, last);
            if next > now {
                tokio::time::sleep(Duration::from_secs((next - now) as u64).min(LOOK_EVERY)).await;
                continue;
            }
            let day = schedule.day(now);
            // On its own task: nothing that stops waiting for it can cut a refresh short.
            match tokio::spawn({
                let job = job.clone();
                async move { job.run(day).await }
            })
            .await
            .map_err(RunFailed::from)
            .and_then(|run| run.map_err(RunFailed::from))
            {
                Ok(summary) => {
                    for line in summary.lines() {
                        tracing::info!("daily count: {line}");
                    }
                    passes = match passes {
                        (Some(done), n) if done == day => (Some(day), n + 1),
                        _ => (Some(day), 1),
                    };
                    let unfinished = summary.farmers.iter().any(|(_, r)| {
                        matches!(
                            r,
                            super::FarmerResult::RetryLater { .. } | super::FarmerResult::Busy
                        )
                    });
                    if unfinished && passes.1 < PASSES_PER_DAY {
                        tracing::info!("daily count: farmers left to retry; another pass in {NEXT_PASS:?}");
                        tokio::time::sleep(NEXT_PASS).await;
                        continue;
                    }
                    if let Err(error) = job.vault.set_last_run(day).await {
                        tracing::error!(%error, "daily count: the run is not recorded; it will run again");
                    }
                }
                Err(error) => {
                    tracing::error!(error = %crate::error::Report(&error), "daily count: the run failed; trying again in a minute");
                    tokio::time::sleep(LOOK_EVERY).await;
                }
            }
        }
    })
}

/// Why a run of the job did not finish.
#[derive(Debug, thiserror::Error)]
enum RunFailed {
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error("the run died")]
    Died(#[from] tokio::task::JoinError),
}
