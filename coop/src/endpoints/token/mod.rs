//! `POST /token`: the `authorization_code` and `refresh_token` grants.
//!
//! The fault switch (`/dev/faults`) acts twice: before the work (an outage, latency, a proxy's
//! page, a gateway's HTML 5xx for refreshes) and after it, once the grant is committed and
//! counted (the answer delay, a gateway's bare 5xx, and for a successful refresh a connection
//! cut mid-answer or a proxy's HTML error page in place of the answer).

mod authorization_code;
mod refresh_token;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::client_auth;
use crate::connection::CutSwitch;
use crate::error::OAuthError;
use crate::issue::TokenResponse;
use crate::params::Params;
use crate::state::SharedCoop;

pub async fn token(
    State(coop): State<SharedCoop>,
    ConnectInfo(connection): ConnectInfo<CutSwitch>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if coop.faults.unreadable_answer() {
        // What a misconfigured proxy in front of a provider answers: no work done.
        coop.counters.token_request("unknown", "unreadable_answer");
        let page = "<html><body>Please sign in to the proxy</body></html>";
        return ([(header::CONTENT_TYPE, "text/html")], page).into_response();
    }
    if let Some(status) = coop.faults.gateway_5xx_html()
        && is_refresh(&body)
    {
        // A gateway in front of a provider that is down: the refresh never reaches COOP.
        coop.counters.token_request("refresh_token", "gateway_5xx_html");
        return html_page(status, "Bad gateway", "The upstream server is not answering.");
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
    let refreshed = grant_type == "refresh_token" && result.is_ok();
    if refreshed && coop.faults.reset_after_rotate() {
        // The answer goes out as usual, but the connection breaks after its first bytes.
        tracing::warn!("refresh done; its answer is cut off (reset_after_rotate fault)");
        connection.cut_next_answer();
    } else if refreshed && coop.faults.html_after_rotate() {
        tracing::warn!("refresh done; a proxy's error page answers instead (html_after_rotate fault)");
        return html_page(
            StatusCode::OK,
            "Something went wrong",
            "The proxy could not deliver the answer. Please try again later.",
        );
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
    let (params, grant_type) = match read(body) {
        Ok(read) => read,
        Err((grant_type, error)) => return (grant_type.into(), Err(error)),
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

/// The form body's parameters and its grant type (one this endpoint knows); else the grant type
/// as counted (`unknown`, `unsupported`) and the error.
pub fn read(body: &[u8]) -> Result<(Params, String), (&'static str, OAuthError)> {
    let params = Params::parse(body).map_err(|problem| ("unknown", OAuthError::InvalidRequest(problem)))?;
    let grant_type = match params.get("grant_type") {
        Some(g @ ("authorization_code" | "refresh_token")) => g.to_owned(),
        Some(_) => return Err(("unsupported", OAuthError::UnsupportedGrantType)),
        None => {
            return Err((
                "unknown",
                OAuthError::InvalidRequest("grant_type is required".into()),
            ));
        }
    };
    Ok((params, grant_type))
}

/// Whether the form body asks for the `refresh_token` grant.
fn is_refresh(body: &[u8]) -> bool {
    Params::parse(body).is_ok_and(|params| params.get("grant_type") == Some("refresh_token"))
}

/// An HTML page with this status: what a proxy or gateway answers, not OAuth.
fn html_page(status: StatusCode, title: &str, message: &str) -> Response {
    let page = format!(
        "<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{message}</p></body></html>"
    );
    (status, [(header::CONTENT_TYPE, "text/html")], page).into_response()
}

/// A required parameter.
fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, OAuthError> {
    params
        .get(name)
        .ok_or_else(|| OAuthError::InvalidRequest(format!("{name} is required")))
}
