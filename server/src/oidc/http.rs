//! The HTTP client the provider is called with: reqwest (no redirects, timeouts set by
//! [`super::Provider`]), turning 5xx and 429 answers into [`Transport::Status`].

/// A failure below OAuth: the provider could not be reached, or answered 5xx / 429.
#[derive(Debug, thiserror::Error)]
pub(super) enum Transport {
    #[error(transparent)]
    Http(#[from] oauth2::HttpClientError<reqwest::Error>),
    #[error("HTTP {0}")]
    Status(axum::http::StatusCode),
}

impl Transport {
    /// Whether the provider certainly did not act on the request: it could not be reached, or
    /// said so (503, 429). A timeout, a 500/502/504 or a broken answer may come after the work
    /// was done (a refresh token rotated): presenting that token again would be a replay.
    pub(super) fn not_received(&self) -> bool {
        match self {
            Self::Status(status) => matches!(status.as_u16(), 503 | 429),
            Self::Http(oauth2::HttpClientError::Reqwest(error)) => error.is_connect(),
            Self::Http(_) => false,
        }
    }
}

/// reqwest as `oauth2`/`openidconnect` call it. A 5xx or 429 answer becomes an error here:
/// those crates would report an unparseable body instead, losing the status, and an outage
/// would look like a broken provider.
pub(super) struct StatusAware(pub(super) reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for StatusAware {
    type Error = Transport;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, Transport>> + Send + Sync + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.0.call(request).await?;
            let status = response.status();
            if status.is_server_error() || status == axum::http::StatusCode::TOO_MANY_REQUESTS {
                return Err(Transport::Status(status));
            }
            Ok(response)
        })
    }
}
