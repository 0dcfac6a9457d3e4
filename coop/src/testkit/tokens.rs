//! What a token endpoint answers, and the claims of a JWT.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::Value;

/// A token endpoint's answer.
pub struct TokenAnswer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl TokenAnswer {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Self {
            status,
            body,
            headers,
        }
    }

    pub fn expect_ok(self) -> Tokens {
        assert_eq!(self.status, StatusCode::OK, "token request failed: {}", self.body);
        serde_json::from_value(self.body).unwrap()
    }

    /// `"<status> <error>"` (`-` for no error): how a bad-input row writes it.
    pub fn seen(&self) -> String {
        super::bad_inputs::status_and_error(self.status, &self.body)
    }

    /// Asserts `400 invalid_grant`: the code or refresh token is no longer any good.
    pub fn expect_invalid_grant(&self) {
        self.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }

    /// Asserts an RFC 6749 error with this status and code.
    pub fn expect_error(&self, status: StatusCode, code: &str) {
        assert_eq!(
            (self.status, self.body["error"].as_str()),
            (status, Some(code)),
            "{}",
            self.body
        );
        assert_eq!(self.headers.get("cache-control").unwrap(), "no-store");
    }
}

/// A successful token answer.
#[derive(Debug, serde::Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub scope: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
}

/// The claims of a JWT, without checking it (tests check signatures separately).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}
