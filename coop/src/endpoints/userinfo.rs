//! `GET|POST /userinfo` (OpenID Connect Core §5.3): the farmer's claims, per the token's scopes.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use crate::api::bearer::Bearer;
use crate::error::BearerError;
use crate::state::SharedCoop;

pub async fn userinfo(State(coop): State<SharedCoop>, bearer: Bearer) -> Result<Json<Value>, BearerError> {
    let scopes = bearer.require("openid")?;
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(bearer.claims.sub));
    if let Some(user) = coop.config.user(&bearer.claims.sub) {
        if scopes.contains("profile") {
            claims.insert("name".into(), json!(user.name));
            claims.insert("preferred_username".into(), json!(user.username));
        }
        if scopes.contains("email") {
            claims.insert("email".into(), json!(user.email));
        }
    }
    Ok(Json(Value::Object(claims)))
}
