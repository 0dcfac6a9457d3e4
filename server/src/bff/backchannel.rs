//! `POST /bff/backchannel-logout`: OpenID Connect Back-Channel Logout 1.0 — the provider, server
//! to server, tells TopCluck that a farmer's login session there ended (the farmer logged out of
//! the provider, an administrator revoked the farmer's grants…), and TopCluck ends the browser
//! sessions of that login session, or of that farmer, on every instance.
//!
//! **No cookie, no CSRF header.** The caller is the provider's server, not a browser: the request
//! carries neither the session cookie nor `X-CSRF`, and its only authority is the logout token it
//! brings, signed by the provider. So this route is outside the browser CSRF middleware
//! ([`super::csrf`]) — it is mounted on a router of its own, [`router`] — and outside `/bff`'s
//! body limit (it reads at most [`BODY_LIMIT`] bytes itself, so an oversized body is a 400 like
//! every other malformed request, §2.8).
//!
//! The request (§2.5): `Content-Type: application/x-www-form-urlencoded`, one `logout_token`.
//! The token is validated as §2.6 says ([`crate::oidc::logout_token`], with the provider's keys
//! and the login client's id; the daily counting client's id is not accepted), then its `jti`
//! is recorded in the store until the token would be too old anyway on any instance's clock: a
//! replay to any instance is refused (§2.6 step 8).
//!
//! The action (§2.7): every session of the session registry ([`crate::store::registry`]) with
//! the token's `sid` (and `sub`, when it has both), or every session of the `sub` when it has no
//! `sid`, is ended for good through the [`crate::session::Gate`]: refused at once here and
//! within a second on every other instance. The token also leaves a watermark (`iss`, `sub`,
//! `sid`, now), followed by every instance: a session of that farmer (and `sid`) that logged in
//! at or before it is refused even without a registry row — a cookie from before the
//! registry, one started by an older instance during a rolling deploy, a login that was
//! completing while the logout arrived (its registration is refused too). Recording the `jti`,
//! ending the sessions and the watermark are one transaction. The daily job's offline grant (the vault) is never
//! touched: §2.7 says offline refresh tokens normally should not be revoked, and daily counting
//! has a client registration of its own. Nor are the ended sessions' refresh tokens revoked at
//! the provider here: they travel in the sessions' cookies, which this request cannot reach, and
//! the provider has just ended the login session they belong to (§2.7: the OP revokes what was
//! issued to it).
//!
//! Left out on purpose (review findings 8 and 9): the ended sessions' refresh tokens are not
//! revoked at the provider — they are in cookies the BFF cannot reach until the browser comes
//! back (and it is refused then), and COOP revokes the online grant itself at end-session; and
//! `typ` is not required — it is optional for the provider to send (§4.1 explicit typing is a
//! SHOULD), so a token without it is accepted, one with any other `typ` refused.
//!
//! The answer (§2.8): 200 with `Cache-Control: no-store` when the token was accepted, also when
//! it matched no session (the farmer may have logged out of TopCluck already); 400 with an OAuth
//! error body and `Cache-Control: no-store` for anything wrong with the request or the token
//! (`invalid_request`, a short reason, never the token), and for a logout that could not be
//! carried out (`temporarily_unavailable`: §2.8 has no 5xx; the token is then not kept as used,
//! so the provider may send it again).
//!
//! **Junk is cheap to refuse.** The route needs no credential but the token, so each address
//! may send [`Settings::backchannel_logout_burst`](crate::settings::Settings) requests in a row
//! (`TOPCLUCK_BACKCHANNEL_LOGOUT_BURST`, 20) and then [`REFILL_PER_SECOND`] a second: a
//! provider sends one request per logout and per client, so only a flood meets the limit. Over
//! it the answer is 400 `temporarily_unavailable` with `Retry-After`: §2.8 gives a failed
//! logout 400 and no other status (not 429), and `temporarily_unavailable` tells an honest
//! provider to send the token again. The token's shape, `alg`, `typ` and `crit` are checked
//! before its `kid` may make the provider's JWKS be fetched again, and that refetch is bounded
//! ([`crate::oidc::client::JWKS_REFETCH_EVERY`]). Refused requests are logged at DEBUG, never a
//! WARN line per junk request ([`crate::error::log_failures`]).

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};

use super::throttle::Throttle;
use crate::edges::Connection;
use crate::error::BffError;
use crate::oidc::ProviderError;
use crate::oidc::logout_token::{LogoutClaims, LogoutTokenError};
use crate::state::AppState;
use crate::store::registry::Logout;

/// The largest request body read: a logout token is a few hundred bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Requests allowed per address and second once its burst is spent.
pub const REFILL_PER_SECOND: u32 = 10;

/// The route, on a router of its own: no CSRF middleware, no `/bff` body limit (see above);
/// its own [`Throttle`].
pub fn router(state: &AppState) -> Router<AppState> {
    let throttle = Throttle::with_refill(
        state.settings.backchannel_logout_burst,
        Duration::from_secs(1) / REFILL_PER_SECOND,
        state.clock.clone(),
    );
    Router::new()
        .route("/backchannel-logout", post(backchannel_logout))
        .layer(Extension(BackchannelThrottle(throttle)))
}

/// The back-channel route's own throttle (not the code redemptions').
#[derive(Clone)]
struct BackchannelThrottle(Throttle);

async fn backchannel_logout(
    State(state): State<AppState>,
    Extension(BackchannelThrottle(throttle)): Extension<BackchannelThrottle>,
    connection: Option<Extension<Connection>>,
    request: Request,
) -> Response {
    let address = connection.map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.peer.ip());
    let result = match throttle.admit(address) {
        Ok(()) => log_out(&state, request).await,
        Err(wait) => Err(BffError::LogoutThrottled(wait.as_secs().max(1))),
    };
    match &result {
        Ok(ended) => crate::metrics::backchannel_logout("accepted", *ended),
        Err(BffError::LogoutFailed(_)) => crate::metrics::backchannel_logout("failed", 0),
        Err(_) => crate::metrics::backchannel_logout("refused", 0),
    }
    match result {
        Ok(_) => {
            let mut response = StatusCode::OK.into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

/// The request's `logout_token`, validated, recorded, acted on: the sessions it ended.
async fn log_out(state: &AppState, request: Request) -> Result<u64, BffError> {
    let token = logout_token(request).await?;
    let now = state.clock.now();
    let claims = match state.provider.validate_logout_token(&token, now).await {
        Ok(claims) => claims,
        Err(ProviderError::LogoutToken(refusal)) => return Err(BffError::LogoutToken(refusal)),
        // Discovery or the JWKS could not be had: the logout could not be done.
        Err(other) => return Err(failed(other.into())),
    };
    end_sessions(state, &claims, now).await
}

/// §2.7: the sessions of the token's `sid` (and `sub`), or of its `sub`, ended for good, its
/// `jti` recorded and its watermark left, in one transaction ([`crate::store::registry`]). A
/// failure leaves nothing done: the provider may send the token again.
async fn end_sessions(state: &AppState, claims: &LogoutClaims, now: i64) -> Result<u64, BffError> {
    let (watermark, watermark_expires_at) = state.gate.watermark(
        state.provider.issuer(),
        claims.sub.as_deref(),
        claims.sid.as_deref(),
        now,
    );
    let logout = Logout {
        digest: &claims.replay_key,
        digest_expires_at: claims.replay_key_expires_at,
        watermark: &watermark,
        watermark_expires_at,
    };
    let ended = match state.gate.end_by_logout(&logout, now).await {
        Ok(Some(ended)) => ended.len(),
        Ok(None) => return Err(BffError::LogoutToken(LogoutTokenError::Replayed)),
        Err(error) => return Err(failed(error.into())),
    };
    tracing::info!(
        sub = claims.sub.as_deref().unwrap_or("-"),
        by_sid = claims.sid.is_some(),
        ended,
        "back-channel logout: the provider ended a login session; its TopCluck sessions are ended"
    );
    Ok(ended as u64)
}

fn failed(error: BffError) -> BffError {
    BffError::LogoutFailed(Box::new(error))
}

/// The one `logout_token` of a form body (§2.5).
async fn logout_token(request: Request) -> Result<String, BffError> {
    let form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(BffError::LogoutRequest(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = axum::body::to_bytes(Body::new(request.into_body()), BODY_LIMIT)
        .await
        .map_err(|_| BffError::LogoutRequest("the body is too large or could not be read"))?;
    let mut tokens = url::form_urlencoded::parse(&body)
        .filter(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned());
    match (tokens.next(), tokens.next()) {
        (Some(token), None) if !token.is_empty() => Ok(token),
        _ => Err(BffError::LogoutRequest("one non-empty logout_token is required")),
    }
}
