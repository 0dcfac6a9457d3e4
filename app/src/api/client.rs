//! The calls themselves (gloo-net): the anti-CSRF header, the deadline (an `AbortSignal` that
//! also stops the reading of the answer), and the answer read as JSON or as a [`CallError`].

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use web_sys::AbortSignal;

use super::{CLIENT_TIMEOUT_SECONDS, CallError};
use crate::wire::ApiError;

/// `GET path`.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, CallError> {
    get_with_query(path, &[]).await
}

/// `GET path?name=value&…`, the query form-encoded by the browser.
pub async fn get_with_query<T: DeserializeOwned>(path: &str, query: &[(&str, &str)]) -> Result<T, CallError> {
    let deadline = deadline();
    let request = to_the_bff(Request::get(path), &deadline)
        .query(query.iter().copied())
        .build();
    exchange(request, &deadline).await
}

/// `POST path` with a JSON body.
pub async fn post<T: DeserializeOwned>(path: &str, body: &impl Serialize) -> Result<T, CallError> {
    let deadline = deadline();
    let request = to_the_bff(Request::post(path), &deadline).json(body);
    exchange(request, &deadline).await
}

/// `POST path` without a body.
pub async fn post_empty<T: DeserializeOwned>(path: &str) -> Result<T, CallError> {
    let deadline = deadline();
    let request = to_the_bff(Request::post(path), &deadline).build();
    exchange(request, &deadline).await
}

/// Aborts the request (and the reading of its answer) after [`CLIENT_TIMEOUT_SECONDS`].
fn deadline() -> AbortSignal {
    AbortSignal::timeout_with_u32(CLIENT_TIMEOUT_SECONDS * 1000)
}

fn to_the_bff(request: RequestBuilder, deadline: &AbortSignal) -> RequestBuilder {
    request.header("X-CSRF", "1").abort_signal(Some(deadline))
}

async fn exchange<T: DeserializeOwned>(
    request: Result<Request, gloo_net::Error>,
    deadline: &AbortSignal,
) -> Result<T, CallError> {
    let no_answer = || CallError::NoAnswer {
        timed_out: deadline.aborted(),
    };
    let request = request.map_err(|_| CallError::NotSent)?;
    let response: Response = request.send().await.map_err(|_| no_answer())?;
    if response.ok() {
        return response.json().await.map_err(|error| match error {
            gloo_net::Error::SerdeError(_) => CallError::Unreadable,
            // The body stopped arriving: the connection dropped or the deadline passed.
            _ => no_answer(),
        });
    }
    let retry_after = response.headers().get("retry-after");
    let status = response.status();
    // Not the BFF's JSON: the upstream API's own answer, passed through.
    let error = response.json::<ApiError>().await.ok();
    Err(CallError::Answered {
        status,
        retry_after,
        error,
    })
}
