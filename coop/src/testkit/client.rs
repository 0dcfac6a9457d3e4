//! COOP's endpoints called as a client backend does: the token endpoint (codes, refreshes, any
//! form, any `Authorization`), revocation, introspection and the egg API.

use reqwest::StatusCode;
use serde_json::Value;

use super::http::backend;
use super::test_coop::{REDIRECT_URI, SECRET, TestCoop};
use super::tokens::{TokenAnswer, Tokens};

/// `Basic base64(id:secret)` with this scheme name (any case).
pub fn basic(scheme: &str, id: &str, secret: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    format!("{scheme} {}", STANDARD.encode(format!("{id}:{secret}")))
}

impl TestCoop {
    /// The secret registered for `client_id`; [`SECRET`] for a client COOP does not know.
    pub fn secret_of(&self, client_id: &str) -> &str {
        self.config
            .client(client_id)
            .map_or(SECRET, |client| client.secret.as_str())
    }

    /// `client_id` redeems `code` (sent to [`REDIRECT_URI`]) with its PKCE `verifier`.
    pub async fn redeem(&self, client_id: &str, code: &str, verifier: &str) -> TokenAnswer {
        self.token(
            client_id,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    pub async fn refresh(&self, client_id: &str, refresh_token: &str, scope: Option<&str>) -> TokenAnswer {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token(client_id, &form).await
    }

    /// `client_id` refreshes with `tokens`' refresh token, asking for no particular scope.
    pub async fn refresh_from(&self, client_id: &str, tokens: &Tokens) -> TokenAnswer {
        let refresh_token = tokens.refresh_token.as_deref().expect("a refresh token");
        self.refresh(client_id, refresh_token, None).await
    }

    /// A token request authenticated with `client_secret_basic`.
    pub async fn token(&self, client_id: &str, form: &[(&str, &str)]) -> TokenAnswer {
        let response = backend()
            .post(self.url("/token"))
            .basic_auth(client_id, Some(self.secret_of(client_id)))
            .form(form)
            .send()
            .await
            .unwrap();
        TokenAnswer::read(response).await
    }

    /// A token request with this `Authorization` header, if any, and this form.
    pub async fn token_with_authorization(
        &self,
        authorization: Option<&str>,
        form: &[(&str, &str)],
    ) -> TokenAnswer {
        let mut request = backend().post(self.url("/token")).form(form);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        TokenAnswer::read(request.send().await.unwrap()).await
    }

    /// `POST /par` (RFC 9126) of `form` by `client_id` (`client_secret_basic`): the status and
    /// the body.
    pub async fn push(&self, client_id: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let authorization = basic("Basic", client_id, self.secret_of(client_id));
        self.push_with_authorization(Some(&authorization), form).await
    }

    /// `POST /par` with this `Authorization` header, if any, and this form: the status and the
    /// body.
    pub async fn push_with_authorization(
        &self,
        authorization: Option<&str>,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = backend().post(self.url("/par")).form(form);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    /// `POST /revoke` of `token` by `client_id` (`client_secret_basic`): the status and body.
    pub async fn revoke(&self, client_id: &str, token: &str) -> (StatusCode, Value) {
        self.revoke_with(client_id, &[("token", token)]).await
    }

    /// `POST /revoke` with this form by `client_id` (`client_secret_basic`): the status and body.
    pub async fn revoke_with(&self, client_id: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.client_post("/revoke", client_id, form).await
    }

    /// `POST /introspect` of `token` by `client_id` (`client_secret_basic`): the status and body.
    pub async fn introspect(&self, client_id: &str, token: &str) -> (StatusCode, Value) {
        self.introspect_with(client_id, &[("token", token)]).await
    }

    /// `POST /introspect` with this form by `client_id` (`client_secret_basic`): the status and
    /// body.
    pub async fn introspect_with(&self, client_id: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.client_post("/introspect", client_id, form).await
    }

    /// `POST path` with this form as `client_id` (`client_secret_basic`): the status and body.
    async fn client_post(&self, path: &str, client_id: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = backend()
            .post(self.url(path))
            .basic_auth(client_id, Some(self.secret_of(client_id)))
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    /// Whether `/introspect` says `client_id`'s `token` is active (asserting a 200 answer).
    pub async fn active(&self, client_id: &str, token: &str) -> bool {
        let (status, body) = self.introspect(client_id, token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["active"]
            .as_bool()
            .unwrap_or_else(|| panic!("no active in {body}"))
    }

    /// True when the egg API still accepts `access_token` (its grant was not revoked).
    pub async fn token_alive(&self, access_token: &str) -> bool {
        let (status, _, _) = self
            .api(reqwest::Method::GET, "/api/me", access_token, None)
            .await;
        status == StatusCode::OK
    }

    /// `POST /api/eggs` `{"count": count}` with `access_token`: the status, the body and the
    /// challenge.
    pub async fn lay_eggs(&self, access_token: &str, count: u32) -> (StatusCode, String, Option<String>) {
        let body = format!(r#"{{"count": {count}}}"#);
        self.api(reqwest::Method::POST, "/api/eggs", access_token, Some(&body))
            .await
    }

    /// The egg API called with `access_token`: the status, the body and the `WWW-Authenticate`
    /// challenge, if any.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        access_token: &str,
        body: Option<&str>,
    ) -> (StatusCode, String, Option<String>) {
        let mut request = backend()
            .request(method, self.url(path))
            .bearer_auth(access_token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status(), response.text().await.unwrap(), challenge)
    }
}
