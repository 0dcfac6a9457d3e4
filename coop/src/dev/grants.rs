//! `GET /dev/grants?username=`, `POST /dev/grants/revoke` and `POST /dev/access-tokens/revoke`
//! `{"username"}`: a farmer's grants, and revoking them (or only their access tokens) as an
//! administrator would.
//!
//! Each listed grant has its stored fields (`id`, `client_id`, `username`, `scope`, `offline`,
//! `created_ms`, `last_used_ms`, `expires_ms`, `revoked_reason`), `revoked` (whether
//! `revoked_reason` is set) and the same times in RFC 3339: `created_at`, `last_used_at` (null
//! before its first refresh), `expires_at`. `offline` is true for a grant made with
//! `offline_access`: it survives the farmer's COOP logout. With per-client grants
//! (`COOP_GRANT_MODEL=per_client`) every login of a client shares one grant: its `id` stays,
//! its `scope` is the union of what each login asked for.
//!
//! `POST /dev/grants/revoke` takes `{"username": "ada"}` (every live grant of ada), or with
//! `"offline": true` only her offline grants, `"offline": false` only the others, and with
//! `"client_id": "topcluck"` only that client's. Unknown fields are refused (400), so a misspelt
//! filter cannot revoke more than meant. Answers `{"revoked": n}`, once every client whose
//! grant was revoked and that registered a back-channel logout URI was sent a logout token with
//! the farmer's `sub` alone ([`crate::backchannel`]).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::backchannel;
use crate::error::OAuthError;
use crate::state::SharedCoop;
use crate::store::{access_tokens, grants};

#[derive(Deserialize)]
pub struct ForUser {
    username: String,
}

/// The body of `POST /dev/grants/revoke`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeGrants {
    username: String,
    #[serde(default)]
    offline: Option<bool>,
    #[serde(default)]
    client_id: Option<String>,
}

/// A grant as listed: its fields and its times in RFC 3339.
#[derive(Serialize)]
struct Listed {
    #[serde(flatten)]
    grant: grants::Grant,
    revoked: bool,
    created_at: Option<String>,
    last_used_at: Option<String>,
    expires_at: Option<String>,
}

fn rfc3339(ms: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

pub async fn list(State(coop): State<SharedCoop>, Query(user): Query<ForUser>) -> Response {
    match coop.store.transaction(|db| grants::of_user(db, &user.username)) {
        Ok(list) => {
            let listed: Vec<Listed> = list
                .into_iter()
                .map(|grant| Listed {
                    revoked: grant.is_revoked(),
                    created_at: rfc3339(grant.created_ms),
                    last_used_at: grant.last_used_ms.and_then(rfc3339),
                    expires_at: rfc3339(grant.expires_ms),
                    grant,
                })
                .collect();
            Json(json!({ "grants": listed })).into_response()
        }
        Err(error) => OAuthError::Server(error).into_response(),
    }
}

/// Revokes a farmer's live grants (all, or only the offline or online ones), as an
/// administrator would.
pub async fn revoke(State(coop): State<SharedCoop>, body: Bytes) -> Response {
    let request: RevokeGrants = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return OAuthError::InvalidRequest(format!(
                "expected {{\"username\": \"…\", \"offline\": true|false (optional), \"client_id\": \"…\" (optional)}}: {error}"
            ))
            .into_response();
        }
    };
    let which = grants::Revocation {
        username: &request.username,
        offline: request.offline,
        client_id: request.client_id.as_deref(),
    };
    match coop.store.transaction(|db| grants::revoke_of_user(db, &which)) {
        Ok((n, clients)) => {
            coop.counters.grants_revoked(n as u64);
            tracing::info!(username = %request.username, offline = ?request.offline, client_id = ?request.client_id, revoked = n, "grants revoked by an administrator");
            let notices = backchannel::notices(&coop, &clients, &request.username, None);
            backchannel::deliver(&coop, notices).await;
            Json(json!({ "revoked": n })).into_response()
        }
        Err(error) => OAuthError::Server(error).into_response(),
    }
}

/// Revokes every access token of a farmer but not their grants, so the egg API answers
/// `401 invalid_token` while the refresh token still works (to exercise reactive renewal).
pub async fn revoke_access_tokens(State(coop): State<SharedCoop>, Json(user): Json<ForUser>) -> Response {
    match coop
        .store
        .transaction(|db| access_tokens::revoke_of_user(db, &user.username))
    {
        Ok(n) => Json(json!({ "revoked": n })).into_response(),
        Err(error) => OAuthError::Server(error).into_response(),
    }
}
