//! `GET /dev/grants?username=`, `POST /dev/grants/revoke` and `POST /dev/access-tokens/revoke`
//! `{"username"}`: a farmer's grants, and revoking them (or only their access tokens) as an
//! administrator would.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::error::OAuthError;
use crate::state::SharedCoop;
use crate::store::{StoreError, access_tokens, grants};

#[derive(Deserialize)]
pub struct ForUser {
    username: String,
}

pub async fn list(State(coop): State<SharedCoop>, Query(user): Query<ForUser>) -> Response {
    match coop.store.transaction(|db| grants::of_user(db, &user.username)) {
        Ok(list) => Json(json!({ "grants": list })).into_response(),
        Err(error) => OAuthError::Server(error).into_response(),
    }
}

/// Revokes every live grant of a farmer, as an administrator would.
pub async fn revoke(State(coop): State<SharedCoop>, Json(user): Json<ForUser>) -> Response {
    let revoked = coop.store.transaction(|db| {
        let mut revoked = 0u64;
        for grant in grants::of_user(db, &user.username)? {
            if grants::revoke(db, grant.id, "revoked by an administrator")? {
                revoked += 1;
            }
        }
        Ok::<_, StoreError>(revoked)
    });
    match revoked {
        Ok(n) => {
            coop.counters.grants_revoked(n);
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
