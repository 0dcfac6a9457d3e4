//! `/api/*`: the SPA's calls, forwarded to `TOPCLUCK_API_URL` with the session's access token.
//!
//! Before forwarding, a token that expires within the configured skew is renewed (proactive).
//! An upstream `401` with `error="invalid_token"` triggers one renewal and one retry (reactive)
//! when the request body was small enough to keep (`TOPCLUCK_RETRY_BODY_LIMIT`); larger bodies
//! are streamed, not retried, and the response says so in `X-TopCluck-Retry`. Bodies stream in
//! both directions. Outcomes the SPA sees: the upstream's answer, or `ApiError` with
//! `unauthenticated`, `reauthentication_required` (cookie cleared), `temporarily_unavailable`
//! (cookie kept, `Retry-After`), `bad_gateway`, `csrf_rejected`, `bad_request` (a path outside
//! the rules of [`path`]), `not_found`, `method_not_allowed`, `payload_too_large`.
//!
//! Only the methods an API uses pass ([`route`]); the headers that cross are chosen in
//! [`headers`].

mod headers;
pub mod path;
mod response;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::middleware;
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use tower_sessions::Session;

use crate::error::BffError;
use crate::oidc::ProviderError;
use crate::renewal::Renewal;
use crate::session::{self, SessionData};
use crate::state::AppState;
use response::downstream;

/// The upstream's answer and the permit it holds ([`crate::upstream::Limit`]).
type Answer = (reqwest::Response, crate::upstream::Permit);

/// The request body as it will be sent upstream.
enum Outgoing {
    /// Kept in memory: can be sent again after a renewal.
    Buffered(Bytes),
    /// Too large (or of unknown size) to keep: sent once.
    Streaming(Body),
}

/// `/api/{*rest}`: the methods an API uses — GET (and HEAD), POST, PUT, PATCH, DELETE — each
/// behind the CSRF check and the body limit. Any other method (OPTIONS, TRACE, CONNECT,
/// WebDAV's, made-up ones) is a `405 method_not_allowed` with `Allow`, answered before the CSRF
/// check and without contacting the upstream.
pub fn route(state: &AppState) -> MethodRouter<AppState> {
    get(forward)
        .post(forward)
        .put(forward)
        .patch(forward)
        .delete(forward)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::bff::csrf::require_always,
        ))
        .fallback(|| async { BffError::MethodNotAllowed })
        .layer(crate::edges::api_body_limit())
}

/// One `/api` request, timed for the metrics ([`crate::metrics::proxied`]).
pub async fn forward(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Result<Response, BffError> {
    let started = std::time::Instant::now();
    let answer = proxied(state, session, request).await;
    crate::metrics::proxied(started, &answer);
    answer
}

async fn proxied(state: AppState, session: Session, request: Request) -> Result<Response, BffError> {
    let base = state.settings.api_url.as_ref().ok_or(BffError::NotFound)?;
    let url = path::safe_rest(request.uri().path())
        .and_then(|rest| path::upstream_url(base, rest, request.uri().query()))?;
    let now = state.clock.now();
    let mut data = session::load(&session, now, &state.gate)
        .await?
        .ok_or(BffError::Unauthenticated)?;
    let (parts, body) = request.into_parts();
    let outgoing = read_body(&parts, body, state.settings.retry_body_limit).await?;

    if data.needs_renewal(now, state.settings.refresh_skew) {
        crate::admission::step_aside(&parts.extensions).await;
        data = renew(&state, &session, &data, None).await?;
    }
    let (first_body, retry_body) = match outgoing {
        Outgoing::Buffered(bytes) => (reqwest::Body::from(bytes.clone()), Some(bytes)),
        Outgoing::Streaming(body) => (reqwest::Body::wrap_stream(body.into_data_stream()), None),
    };
    let response = send(&state, &parts, &url, &data, first_body, retry_body.clone()).await?;
    match refusal(&response.0) {
        None => return Ok(downstream(response)),
        Some(Refusal::Bare) if !bare_401_may_renew(&data, now) => return Ok(downstream(response)),
        Some(_) => {}
    }
    // The upstream refused a token we thought valid: renew once, retry once — never more, so
    // an API that keeps answering 401 gets its 401 passed through, not a loop.
    let rejected = data.access_token.clone();
    crate::admission::step_aside(&parts.extensions).await;
    data = renew(&state, &session, &data, Some(&rejected)).await?;
    match retry_body {
        Some(bytes) => {
            // The refused answer goes first, and its permit with it.
            drop(response);
            let body = reqwest::Body::from(bytes.clone());
            Ok(downstream(
                send(&state, &parts, &url, &data, body, Some(bytes)).await?,
            ))
        }
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

/// Why the upstream answered 401.
enum Refusal {
    /// `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1): renew and retry.
    InvalidToken,
    /// A 401 that does not say why — many APIs send these, for expired tokens and for
    /// requests the farmer may not make alike.
    Bare,
}

fn refusal(response: &reqwest::Response) -> Option<Refusal> {
    if response.status() != StatusCode::UNAUTHORIZED {
        return None;
    }
    let invalid_token = response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("invalid_token"));
    Some(if invalid_token {
        Refusal::InvalidToken
    } else {
        Refusal::Bare
    })
}

/// A bare 401 (no `invalid_token`) is taken as a refused token only when the token has been in
/// use for [`BARE_401_MIN_TOKEN_AGE`] seconds: an API that answers bare 401s for other reasons
/// costs at most one refresh per that many seconds, and each request is retried at most once.
const BARE_401_MIN_TOKEN_AGE: i64 = 30;

fn bare_401_may_renew(data: &SessionData, now: i64) -> bool {
    data.access_token_issued_at
        .is_none_or(|issued| now - issued >= BARE_401_MIN_TOKEN_AGE)
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
            .map_err(BffError::Body),
        (None, false) => Ok(Outgoing::Buffered(Bytes::new())),
        _ => Ok(Outgoing::Streaming(body)),
    }
}

/// Renews the session's tokens (single flight, on its own task) and writes them into the
/// response's cookie at once — so they reach the browser whatever the response's status — or
/// ends the session when the refresh token is dead.
async fn renew(
    state: &AppState,
    session: &Session,
    data: &SessionData,
    rejected: Option<&str>,
) -> Result<SessionData, BffError> {
    let (renewal, progressed) = state.renewer.renew(&state.provider, data, rejected).await;
    if let Some(progressed) = &progressed
        && !matches!(renewal, Renewal::Renewed(_) | Renewal::Ended | Renewal::StaleCopy)
    {
        // Renewal followed a remembered rotation, then failed: the successor it followed holds
        // the only live refresh token, so the cookie gets it even though the request fails.
        let mut progressed = progressed.clone();
        let stored = session::save_fitting(session, &mut progressed).await;
        crate::bff::revoke_if_unkept(state, &progressed, stored)?;
    }
    match renewal {
        Renewal::Renewed(mut renewed) => {
            let stored = session::save_fitting(session, &mut renewed).await;
            crate::bff::revoke_if_unkept(state, &renewed, stored)?;
            Ok(*renewed)
        }
        Renewal::Ended => {
            session::end(session).await?;
            state.gate.end_for_good(data).await;
            Err(BffError::ReauthenticationRequired)
        }
        Renewal::StaleCopy => {
            tracing::warn!(sub = %data.farmer.sub, "an older copy of a session's cookie was presented: refused, its session lives on");
            session::end(session).await?;
            Err(BffError::ReauthenticationRequired)
        }
        Renewal::Unavailable { retry_after_seconds } => {
            Err(BffError::RenewalUnavailable { retry_after_seconds })
        }
        Renewal::Misconfigured(code) => Err(ProviderError::Misconfigured { code }.into()),
        Renewal::BadAnswer(detail) => Err(ProviderError::BadAnswer(detail).into()),
    }
}

/// Sends the request upstream under the API's limit ([`crate::upstream`]): the answer and
/// the permit its body holds until it has reached the browser. A GET or HEAD whose connection
/// could not be made (not one byte sent) is sent once more, on a new connection, when its body
/// was kept (`resend`); nothing else is ever sent twice here.
async fn send(
    state: &AppState,
    parts: &Parts,
    url: &url::Url,
    data: &SessionData,
    body: reqwest::Body,
    resend: Option<Bytes>,
) -> Result<Answer, BffError> {
    // One queue wait in all: counted from the edge, where the request may have waited already.
    let permit = match parts.extensions.get::<crate::admission::Admitted>() {
        Some(admitted) => state.upstream.limit.admit_after(admitted.queued).await?,
        None => state.upstream.limit.admit().await?,
    };
    let attempt = |body: reqwest::Body| {
        state
            .upstream
            .client
            .request(parts.method.clone(), url.clone())
            .headers(headers::upstream_request(&parts.headers))
            .bearer_auth(&data.access_token)
            .body(body)
            .send()
    };
    let failed = |source: reqwest::Error| BffError::Upstream {
        path: url.path().to_owned(),
        source: source.without_url(),
    };
    match attempt(body).await {
        Ok(response) => Ok((response, permit)),
        Err(error) => match resend {
            Some(bytes) if crate::upstream::may_resend(&parts.method, &error) => {
                tracing::info!(path = url.path(), error = %error.without_url(), "the API could not be reached: sent once more on a new connection");
                crate::metrics::upstream_resent();
                let response = attempt(reqwest::Body::from(bytes)).await.map_err(failed)?;
                Ok((response, permit))
            }
            _ => Err(failed(error)),
        },
    }
}
