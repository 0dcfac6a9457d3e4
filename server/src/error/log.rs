//! The one log line of an error answer: [`BffError::into_response`](super::BffError) puts the
//! error into the response's extensions ([`Failure`]); [`log_failures`], a middleware in
//! [`crate::edges::outside_session`] (inside the request's span), logs it with its source chain
//! ([`Report`]) at a level chosen by the status. Nothing else logs a request's error.

use std::fmt;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::BffError;

/// The error a response was made from, in its extensions, for [`log_failures`].
#[derive(Clone, Debug)]
pub struct Failure(pub Arc<BffError>);

/// Logs the error a response was made from ([`Failure`]) with its source chain: 5xx as errors,
/// 400 and 403 as warnings, the rest (no session, 404, 405…) at debug level.
pub async fn log_failures(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(Failure(error)) = response.extensions().get::<Failure>() {
        // Refused back-channel logouts need no credential to provoke: one line per junk
        // request at WARN would let anyone flood the logs (a failed one is still a warning).
        let quiet = matches!(
            error.as_ref(),
            BffError::LogoutRequest(_) | BffError::LogoutToken(_) | BffError::LogoutThrottled(_)
        );
        let error = Report(error.as_ref());
        match response.status() {
            _ if quiet => tracing::debug!(%error, "back-channel logout refused"),
            status if status.is_server_error() => tracing::error!(%error, "request failed"),
            StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN => tracing::warn!(%error, "request refused"),
            _ => tracing::debug!(%error, "request refused"),
        }
    }
    response
}

/// An error and its sources, `outer: inner: innermost`; a source whose text its parent already
/// ends with (errors that repeat their source) is said once. Control characters are escaped
/// and the whole is cut at [`REPORT_LIMIT`] bytes: a cause that quotes what a peer sent (a
/// parser's "invalid type: string …") cannot forge log lines or flood them.
pub struct Report<'a>(pub &'a (dyn std::error::Error + 'static));

/// The longest [`Report`], in bytes.
pub const REPORT_LIMIT: usize = 1024;

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut said = self.0.to_string();
        let mut source = self.0.source();
        while let Some(error) = source {
            let text = error.to_string();
            if !said.ends_with(&text) {
                said.push_str(": ");
                said.push_str(&text);
            }
            source = error.source();
        }
        let mut written = 0;
        for c in said.chars() {
            if written >= REPORT_LIMIT {
                return f.write_str("…");
            }
            if c.is_control() {
                let escaped = c.escape_default().to_string();
                written += escaped.len();
                f.write_str(&escaped)?;
            } else {
                written += c.len_utf8();
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bff::LoginRefusal;
    use crate::oidc::ProviderError;
    use crate::vault::VaultError;

    #[test]
    fn a_report_says_every_cause_once() {
        let error = BffError::from(VaultError::Missing {
            location: "here".into(),
        });
        assert_eq!(Report(&error).to_string(), "the database: no vault at here");
        let error = BffError::from(LoginRefusal::NoIdToken);
        assert_eq!(
            Report(&error).to_string(),
            "login failed: no ID token in the token response"
        );
    }

    #[test]
    fn a_report_cannot_forge_or_flood_log_lines() {
        let error = BffError::from(ProviderError::BadAnswer(format!(
            "a\nforged line{}",
            "x".repeat(5000)
        )));
        let report = Report(&error).to_string();
        assert!(report.starts_with("the provider: unreadable token endpoint answer: a\\nforged line"));
        assert!(!report.contains('\n'));
        assert!(report.len() <= REPORT_LIMIT + 8, "{}", report.len());
    }
}
