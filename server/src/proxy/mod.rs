//! `/api/*`: the SPA's calls, forwarded to `TOPCLUCK_API_URL` with the session's access token.
//!
//! Before forwarding, a token that expires within the configured skew is renewed (proactive).
//! An upstream `401` with `error="invalid_token"` triggers one renewal and one retry (reactive)
//! when the request body was small enough to keep (`TOPCLUCK_RETRY_BODY_LIMIT`); larger bodies
//! are streamed, not retried, and the response says so in `X-TopCluck-Retry`. Bodies stream in
//! both directions. Outcomes the SPA sees: the upstream's answer, or `ApiError` with
//! `unauthenticated`, `reauthentication_required` (cookie cleared), `temporarily_unavailable`
//! (cookie kept, `Retry-After`), `bad_gateway`, `csrf_rejected`, `bad_request`, `not_found`.

mod headers;
pub mod path;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::Response;
use tower_sessions::Session;

use crate::error::BffError;
use crate::renewal::Renewal;
use crate::session::{self, SessionData};
use crate::state::AppState;

/// The request body as it will be sent upstream.
enum Outgoing {
    /// Kept in memory: can be sent again after a renewal.
    Buffered(Bytes),
    /// Too large (or of unknown size) to keep: sent once.
    Streaming(Body),
}

pub async fn forward(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Result<Response, BffError> {
    let base = state.settings.api_url.clone().ok_or(BffError::NotFound)?;
    let rest = path::safe_rest(request.uri().path())
        .ok_or_else(|| BffError::BadRequest("the path leaves the API".into()))?
        .to_owned();
    let mut data = session::load(&session).await?.ok_or(BffError::Unauthenticated)?;
    let (parts, body) = request.into_parts();
    let outgoing = read_body(&parts, body, state.settings.retry_body_limit).await?;
    let url = format!(
        "{}/{rest}{}",
        base.as_str().trim_end_matches('/'),
        parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default()
    );

    if data.access_token_expires_at - session::now() <= state.settings.refresh_skew.as_secs() as i64 {
        data = renew(&state, &session, &data).await?;
    }
    let (first_body, retry_body) = match outgoing {
        Outgoing::Buffered(bytes) => (reqwest::Body::from(bytes.clone()), Some(bytes)),
        Outgoing::Streaming(body) => (reqwest::Body::wrap_stream(body.into_data_stream()), None),
    };
    let response = send(&state, &parts, &url, &data, first_body).await?;
    if !is_invalid_token(&response) {
        return Ok(downstream(response));
    }
    // The upstream refused a token we thought valid: renew once, retry once.
    data = renew(&state, &session, &data).await?;
    match retry_body {
        Some(bytes) => Ok(downstream(
            send(&state, &parts, &url, &data, reqwest::Body::from(bytes)).await?,
        )),
        None => {
            let mut response = downstream(response);
            response.headers_mut().insert(
                "x-topcluck-retry",
                HeaderValue::from_static("not retried: the request body was too large to keep; the token is renewed, send it again"),
            );
            Ok(response)
        }
    }
}

async fn read_body(parts: &Parts, body: Body, limit: usize) -> Result<Outgoing, BffError> {
    let length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let chunked = parts.headers.contains_key(header::TRANSFER_ENCODING);
    match (length, chunked) {
        (Some(n), _) if n <= limit => axum::body::to_bytes(body, limit)
            .await
            .map(Outgoing::Buffered)
            .map_err(|e| BffError::BadRequest(format!("request body: {e}"))),
        (None, false) => Ok(Outgoing::Buffered(Bytes::new())),
        _ => Ok(Outgoing::Streaming(body)),
    }
}

/// Renews the session's tokens (single-flight) and stores them in the cookie, or ends the
/// session when the refresh token is dead.
async fn renew(state: &AppState, session: &Session, data: &SessionData) -> Result<SessionData, BffError> {
    match state.renewer.renew(&state.provider, data).await {
        Renewal::Renewed(renewed) => {
            session::save(session, &renewed).await?;
            Ok(*renewed)
        }
        Renewal::Ended => {
            session::end(session).await?;
            Err(BffError::ReauthenticationRequired)
        }
        Renewal::Unavailable { retry_after_seconds } => Err(BffError::ProviderUnavailable {
            detail: "token refresh".into(),
            retry_after_seconds,
        }),
    }
}

async fn send(
    state: &AppState,
    parts: &Parts,
    url: &str,
    data: &SessionData,
    body: reqwest::Body,
) -> Result<reqwest::Response, BffError> {
    state
        .upstream
        .request(parts.method.clone(), url)
        .headers(headers::upstream_request(&parts.headers))
        .bearer_auth(&data.access_token)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            BffError::BadGateway(format!(
                "{}: {e}",
                e.url().map(|u| u.path().to_owned()).unwrap_or_default()
            ))
        })
}

fn is_invalid_token(response: &reqwest::Response) -> bool {
    response.status() == StatusCode::UNAUTHORIZED
        && response
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("invalid_token"))
}

/// The upstream's answer, streamed back.
fn downstream(response: reqwest::Response) -> Response {
    let status = response.status();
    let headers = headers::downstream_response(response.headers());
    let mut out = Response::new(Body::from_stream(response.bytes_stream()));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}
