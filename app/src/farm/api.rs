//! Calls to the BFF's `/api` proxy, with the anti-CSRF header, and their failures as [`Failure`].

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;

use super::Failure;
use crate::auth::wire::{ApiError, ErrorCode};

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, Failure> {
    let response = Request::get(path)
        .header("X-CSRF", "1")
        .send()
        .await
        .map_err(|_| offline())?;
    read(response).await
}

pub async fn post<T: DeserializeOwned>(path: &str, body: impl serde::Serialize) -> Result<T, Failure> {
    let request = Request::post(path)
        .header("X-CSRF", "1")
        .json(&body)
        .map_err(|_| Failure::Other("Could not send the request.".into()))?;
    read(request.send().await.map_err(|_| offline())?).await
}

fn offline() -> Failure {
    Failure::Other("TopCluck cannot be reached. Check your connection.".into())
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, Failure> {
    if response.ok() {
        return response
            .json()
            .await
            .map_err(|_| Failure::Other("The farm sent an unreadable answer.".into()));
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let status = response.status();
    match response.json::<ApiError>().await {
        Ok(error) => Err(match error.error {
            ErrorCode::ReauthenticationRequired | ErrorCode::Unauthenticated => Failure::SessionEnded,
            ErrorCode::TemporarilyUnavailable => Failure::Unavailable {
                retry_after_seconds: retry_after,
            },
            _ => Failure::Other(error.message),
        }),
        // An upstream error passed through (the egg API's own JSON).
        Err(_) => Err(Failure::Other(format!("The farm answered with HTTP {status}."))),
    }
}
