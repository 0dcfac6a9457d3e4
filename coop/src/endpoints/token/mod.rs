//! `POST /token`: the `authorization_code` and `refresh_token` grants.
//!
//! The fault switch (`/dev/faults`) acts twice: before the work (an outage, latency) and after
//! it, once the grant is committed and counted (the answer delay).

mod authorization_code;
mod refresh_token;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::client_auth;
use crate::error::OAuthError;
use crate::issue::TokenResponse;
use crate::params::Params;
use crate::state::SharedCoop;

pub async fn token(State(coop): State<SharedCoop>, headers: HeaderMap, body: Bytes) -> Response {
    if coop.faults.unreadable_answer() {
        // What a misconfigured proxy in front of a provider answers: no work done.
        coop.counters.token_request("unknown", "unreadable_answer");
        let page = "<html><body>Please sign in to the proxy</body></html>";
        return ([(header::CONTENT_TYPE, "text/html")], page).into_response();
    }
    let (grant_type, result) = handle(&coop, &headers, &body).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(error) => error.code(),
    };
    coop.counters.token_request(&grant_type, outcome);
    coop.faults.delay_answer().await;
    if let Some(status) = coop.faults.lost_answer_status() {
        return status.into_response();
    }
    match result {
        Ok(tokens) => {
            let mut response = Json(tokens).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn handle(
    coop: &SharedCoop,
    headers: &HeaderMap,
    body: &[u8],
) -> (String, Result<TokenResponse, OAuthError>) {
    let params = match Params::parse(body) {
        Ok(params) => params,
        Err(problem) => return ("unknown".into(), Err(OAuthError::InvalidRequest(problem))),
    };
    let grant_type = match params.get("grant_type") {
        Some(g @ ("authorization_code" | "refresh_token")) => g.to_owned(),
        Some(_) => return ("unsupported".into(), Err(OAuthError::UnsupportedGrantType)),
        None => {
            return (
                "unknown".into(),
                Err(OAuthError::InvalidRequest("grant_type is required".into())),
            );
        }
    };
    if let Err(error) = coop.faults.apply(&coop.clock).await {
        return (grant_type, Err(error));
    }
    let result = client_auth::authenticate(&coop.config, headers, &params).and_then(|client| {
        if grant_type == "authorization_code" {
            authorization_code::redeem(coop, client, &params)
        } else {
            refresh_token::refresh(coop, client, &params)
        }
    });
    (grant_type, result)
}

/// A required parameter.
fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, OAuthError> {
    params
        .get(name)
        .ok_or_else(|| OAuthError::InvalidRequest(format!("{name} is required")))
}
