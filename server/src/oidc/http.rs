//! The HTTP client the provider is called with: reqwest (no redirects, timeouts set by
//! [`super::Provider`]), turning 5xx and 429 answers without the provider's own OAuth error
//! body into [`Transport::Status`].

/// A failure below OAuth: the provider could not be reached, or answered 5xx / 429.
#[derive(Debug, thiserror::Error)]
pub(super) enum Transport {
    #[error(transparent)]
    Http(#[from] oauth2::HttpClientError<reqwest::Error>),
    #[error("HTTP {0}")]
    Status(axum::http::StatusCode),
    /// Every permit to call the provider stayed taken for the whole queue wait: not sent.
    #[error(transparent)]
    Overloaded(#[from] crate::upstream::Overloaded),
}

impl Transport {
    /// Whether the provider certainly did not act on the request: it could not be reached, or
    /// it limited the rate (429). A timeout, a 5xx without the provider's own OAuth error body
    /// (a gateway's page: the provider behind it may have done the work) or a broken answer may
    /// come after the work was done (a refresh token rotated): presenting that token again
    /// would be a replay. (The provider's own `temporarily_unavailable` is an OAuth error, not
    /// this.)
    pub(super) fn not_received(&self) -> bool {
        match self {
            Self::Status(status) => status.as_u16() == 429,
            Self::Overloaded(_) => true,
            Self::Http(oauth2::HttpClientError::Reqwest(error)) => error.is_connect(),
            Self::Http(_) => false,
        }
    }
}

/// reqwest as `oauth2`/`openidconnect` call it. A 5xx (other than the provider's own
/// `temporarily_unavailable`) or 429 answer becomes an error here:
/// those crates would report an unparseable body instead, losing the status, and an outage
/// would look like a broken provider.
/// Each call holds one of the provider's permits ([`crate::upstream::Limit`]) until its whole
/// answer is read.
pub(super) struct StatusAware {
    pub(super) client: reqwest::Client,
    pub(super) limit: crate::upstream::Limit,
}

impl<'c> oauth2::AsyncHttpClient<'c> for StatusAware {
    type Error = Transport;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, Transport>> + Send + Sync + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let _permit = self.limit.admit().await?;
            let response = self.client.call(request).await?;
            let status = response.status();
            // A 5xx is the provider's own "not done" only with `temporarily_unavailable`: any
            // other (a gateway's page, a gateway's JSON, `server_error`) may come after the work.
            let failed = status.is_server_error() || status == axum::http::StatusCode::TOO_MANY_REQUESTS;
            if failed && oauth_error(response.body()).as_deref() != Some("temporarily_unavailable") {
                return Err(Transport::Status(status));
            }
            Ok(response)
        })
    }
}

/// The `error` of an OAuth error response (RFC 6749 §5.2: a JSON object with a string
/// `error`), if `body` is one.
fn oauth_error(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: String,
    }
    serde_json::from_slice::<OAuthError>(body).ok().map(|e| e.error)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_json_error_object_is_the_providers_own_error() {
        assert_eq!(
            super::oauth_error(br#"{"error":"temporarily_unavailable"}"#).as_deref(),
            Some("temporarily_unavailable")
        );
        for body in [
            &b"<html>502 Bad Gateway</html>"[..],
            b"",
            b"{}",
            br#"{"error":5}"#,
        ] {
            assert_eq!(super::oauth_error(body), None, "{body:?}");
        }
    }
}
