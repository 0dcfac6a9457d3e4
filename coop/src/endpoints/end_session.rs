//! `GET /end-session` (OpenID Connect RP-Initiated Logout): ends the farmer's COOP session,
//! which revokes the grants made in it without `offline_access`, then sends the browser to a
//! registered `post_logout_redirect_uri` or shows a logged-out page.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::Cookie;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::authorize::{SESSION_COOKIE, cookie_value, error_page};
use super::login_page::message_page;
use crate::params::Params;
use crate::state::{Coop, SharedCoop};
use crate::store::{StoreError, grants, sessions};

pub async fn end_session(
    State(coop): State<SharedCoop>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
    };
    let client_id = params.get("client_id").map(str::to_owned).or_else(|| {
        params
            .get("id_token_hint")
            .and_then(|hint| id_token_audience(&coop, hint))
    });
    let redirect = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let registered = client_id
                .as_deref()
                .and_then(|id| coop.config.client(id))
                .is_some_and(|client| client.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !registered {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "post_logout_redirect_uri is not registered for this client.",
                );
            }
            Some(uri.to_owned())
        }
    };

    if let Some(id) = cookie_value(&headers, SESSION_COOKIE) {
        let ended = coop.store.transaction(|db| {
            let Some(session) = sessions::find(db, &id)? else {
                return Ok::<_, StoreError>(None);
            };
            sessions::end(db, &session.digest)?;
            let revoked = grants::revoke_online_grants_of_session(db, &session.digest)?;
            Ok(Some((session.username, revoked)))
        });
        match ended {
            Ok(Some((username, revoked))) => {
                coop.counters.grants_revoked(revoked as u64);
                tracing::info!(%username, revoked, "farmer logged out of COOP");
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, "store error");
                return error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "COOP could not log you out. Try again.",
                );
            }
        }
    }

    let clear = Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .build();
    let mut response = match redirect {
        Some(uri) => {
            let mut url = match url::Url::parse(&uri) {
                Ok(url) => url,
                Err(_) => {
                    return error_page(StatusCode::BAD_REQUEST, "post_logout_redirect_uri is not a URL.");
                }
            };
            if let Some(state) = params.get("state") {
                url.query_pairs_mut().append_pair("state", state);
            }
            Redirect::to(url.as_str()).into_response()
        }
        None => message_page("Logged out", "You are logged out of COOP.").into_response(),
    };
    if let Ok(value) = clear.to_string().parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The `aud` of an ID token COOP signed (expired ones too: a hint, not a credential).
fn id_token_audience(coop: &Coop, token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Audience {
        aud: String,
    }
    let jwk = coop.keys.jwks().keys.first()?;
    let key = DecodingKey::from_jwk(jwk).ok()?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_issuer(&[&coop.issuer]);
    validation.set_required_spec_claims(&["iss"]);
    jsonwebtoken::decode::<Audience>(token, &key, &validation)
        .ok()
        .map(|data| data.claims.aud)
}
