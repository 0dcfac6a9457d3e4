//! Calls to the BFF (`/api` proxy, `/bff/session`), with the anti-CSRF header and a deadline,
//! and their failures as [`Failure`]. Every call ends: with the answer, or, when none comes
//! within [`CLIENT_TIMEOUT_SECONDS`], aborted.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use web_sys::AbortSignal;

use super::{CLIENT_TIMEOUT_SECONDS, Failure};
use crate::auth::wire::ApiError;

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, Failure> {
    let deadline = deadline();
    let sent = Request::get(path)
        .header("X-CSRF", "1")
        .abort_signal(Some(&deadline))
        .send()
        .await;
    read(sent, &deadline).await
}

pub async fn post<T: DeserializeOwned>(path: &str, body: impl serde::Serialize) -> Result<T, Failure> {
    let deadline = deadline();
    let request = Request::post(path)
        .header("X-CSRF", "1")
        .abort_signal(Some(&deadline))
        .json(&body)
        .map_err(|_| Failure::Refused("this browser could not send the request.".into()))?;
    read(request.send().await, &deadline).await
}

/// Aborts the request (and the reading of its answer) after [`CLIENT_TIMEOUT_SECONDS`].
fn deadline() -> AbortSignal {
    AbortSignal::timeout_with_u32(CLIENT_TIMEOUT_SECONDS * 1000)
}

async fn read<T: DeserializeOwned>(
    sent: Result<Response, gloo_net::Error>,
    deadline: &AbortSignal,
) -> Result<T, Failure> {
    let response = sent.map_err(|_| Failure::no_answer(deadline.aborted()))?;
    if response.ok() {
        return response.json().await.map_err(|error| match error {
            gloo_net::Error::SerdeError(_) => Failure::unreadable(),
            // The body stopped arriving: the connection dropped or the deadline passed.
            _ => Failure::no_answer(deadline.aborted()),
        });
    }
    let retry_after = response.headers().get("retry-after");
    let status = response.status();
    // Not the BFF's JSON: the upstream API's own answer, passed through.
    let error = response.json::<ApiError>().await.ok();
    Err(Failure::from_answer(status, retry_after.as_deref(), error))
}
