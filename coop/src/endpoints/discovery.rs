//! `/.well-known/openid-configuration` and the JWKS. The revocation endpoint is named unless
//! `Config::advertise_revocation` is off, the introspection endpoint (RFC 7662, with its
//! authentication methods as RFC 8414 names them) unless `Config::introspection` is off, the
//! pushed authorization request endpoint (RFC 9126 §5, with
//! `require_pushed_authorization_requests`) unless `Config::par` is off, and
//! `authorization_response_iss_parameter_supported` (RFC 9207 §3) says whether
//! `Config::iss_parameter` is on.
//! Back-channel logout is advertised with its `sid` (Back-Channel Logout 1.0 §2.1).

use axum::Json;
use axum::extract::State;
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};

use crate::config::ParMode;
use crate::scope::SUPPORTED;
use crate::state::SharedCoop;

pub async fn openid_configuration(State(coop): State<SharedCoop>) -> Json<Value> {
    let mut document = json!({
        "issuer": coop.issuer,
        "authorization_endpoint": coop.endpoint("/authorize"),
        "token_endpoint": coop.endpoint("/token"),
        "jwks_uri": coop.endpoint("/jwks.json"),
        "userinfo_endpoint": coop.endpoint("/userinfo"),
        "revocation_endpoint": coop.endpoint("/revoke"),
        "end_session_endpoint": coop.endpoint("/end-session"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": SUPPORTED,
        "claims_supported": ["sub", "name", "email", "auth_time", "nonce", "sid"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint": coop.endpoint("/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": coop.config.iss_parameter,
        "pushed_authorization_request_endpoint": coop.endpoint("/par"),
        "require_pushed_authorization_requests": coop.config.par == ParMode::Required,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    });
    let fields = document.as_object_mut().expect("an object");
    if !coop.config.advertise_revocation {
        fields.remove("revocation_endpoint");
    }
    if !coop.config.par.offered() {
        fields.remove("pushed_authorization_request_endpoint");
        fields.remove("require_pushed_authorization_requests");
    }
    if !coop.config.introspection {
        fields.remove("introspection_endpoint");
        fields.remove("introspection_endpoint_auth_methods_supported");
    }
    Json(document)
}

pub async fn jwks(State(coop): State<SharedCoop>) -> Json<JwkSet> {
    coop.counters.jwks_fetched();
    Json(coop.keys.jwks().clone())
}
