//! `POST /par`: pushed authorization requests (RFC 9126), offered unless
//! [`crate::Config::par`] is off.
//!
//! The client authenticates exactly as at the token endpoint (§2: [`client_auth`]) and sends
//! the authorization request's parameters in the body (§2.1), without `request_uri`; they are
//! checked by the rules `/authorize` applies ([`check`]: client, redirect URI, PKCE, scope,
//! prompt). The answer is 201 `{"request_uri", "expires_in"}` with `Cache-Control: no-store`
//! (§2.2); the request is kept under the digest of its `request_uri`, bound to this client,
//! for [`pushed::PUSHED_TTL_MS`] on COOP's clock, and is used once ([`crate::store::pushed`]).
//! Errors are JSON as at the token endpoint (§2.3): 400 `invalid_request` (or the code
//! `/authorize` would send back: `invalid_scope`, `unsupported_response_type`), 401
//! `invalid_client`. The outage fault (`/dev/faults`) takes it down with the token endpoint.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::authorize::{Refusal, check};
use crate::client_auth;
use crate::error::OAuthError;
use crate::params::Params;
use crate::state::SharedCoop;
use crate::store::pushed;

pub async fn push(State(coop): State<SharedCoop>, headers: HeaderMap, body: Bytes) -> Response {
    let result = match coop.faults.apply(&coop.clock).await {
        Ok(()) => handle(&coop, &headers, &body),
        Err(error) => Err(error),
    };
    coop.counters.pushed_request(match &result {
        Ok(_) => "ok",
        Err(error) => error.code(),
    });
    match result {
        Ok(request_uri) => {
            let body = json!({
                "request_uri": request_uri,
                "expires_in": pushed::PUSHED_TTL_MS / 1000,
            });
            let mut response = (StatusCode::CREATED, Json(body)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

/// The pushed request's `request_uri`, once the client and the request are checked.
fn handle(coop: &SharedCoop, headers: &HeaderMap, body: &[u8]) -> Result<String, OAuthError> {
    let mut params = Params::parse(body).map_err(OAuthError::InvalidRequest)?;
    let client = client_auth::authenticate(&coop.config, headers, &params)?;
    if params.get("request_uri").is_some() {
        return Err(OAuthError::InvalidRequest(
            "request_uri cannot be pushed (RFC 9126 §2.1)".into(),
        ));
    }
    // What is kept is the authorization request: the client it was authenticated as, and no
    // secret (client_secret_post sends it in the same body).
    params.remove("client_secret");
    params.set("client_id", &client.id);
    check(coop, &params).map_err(|refusal| match refusal {
        Refusal::Unverified(message) => OAuthError::InvalidRequest(message.into_owned()),
        Refusal::ToClient(_, code, description) => OAuthError::Authorization { code, description },
    })?;
    let request_uri = coop.store.transaction(|db| {
        coop.purge_expired(db)?;
        pushed::insert(db, &client.id, &params.to_query(), coop.clock.now_ms())
    })?;
    tracing::info!(client_id = %client.id, "authorization request pushed");
    Ok(request_uri)
}
