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
