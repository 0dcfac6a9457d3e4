//! [`Provider`]: discovery and JWKS (cached; an unknown `kid` refetches the JWKS, at most once
//! per [`JWKS_REFETCH_EVERY`]), the code exchange, and revocation, as a confidential client
//! (`client_secret_basic`).
//!
//! **Why the refetch is bounded.** A `kid` is read before any signature is checked, so anyone
//! can send tokens naming random ones (the back-channel logout endpoint needs no cookie). If
//! each unknown `kid` fetched the JWKS, a flood of junk tokens would hold the provider's
//! connections ([`Limit`]) and farmers' logins would get 503. So an unknown `kid` refetches at
//! most once per [`JWKS_REFETCH_EVERY`] on this instance, concurrent refetches share one fetch
//! (the others wait for it, then look again), and within the window the token is refused
//! without a fetch — ID tokens too. The trade-off: when the provider rotates its keys, tokens
//! signed with the new key may be refused for up to [`JWKS_REFETCH_EVERY`] (a login then fails
//! and is tried again); a provider is expected to publish a new key before signing with it,
//! and the first unknown `kid` after a quiet window is followed at once.

use std::fmt;
use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, OnceCell, RwLock};
use tokio::time::Instant;

use openidconnect::core::CoreJsonWebKeySet;

use super::http::{StatusAware, Transport};
use super::id_token::{self, Expected, IdClaims};
use super::logout_token::{self, LogoutClaims};
use super::metadata::{self, Metadata};
use crate::settings::Secret;
use crate::upstream::Limit;

/// The OpenID fields of a token response that `oauth2` does not know.
#[derive(Clone, Deserialize, Serialize)]
pub struct OidcFields {
    id_token: Option<String>,
    /// Not standard, but sent by some providers (Keycloak): the refresh token's lifetime.
    refresh_expires_in: Option<u64>,
}

impl fmt::Debug for OidcFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcFields")
            .field("refresh_expires_in", &self.refresh_expires_in)
            .finish_non_exhaustive()
    }
}

impl ExtraTokenFields for OidcFields {}

type OidcTokenResponse = StandardTokenResponse<OidcFields, BasicTokenType>;
type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    OidcTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// What the token endpoint gave. `Debug` shows no token.
pub struct Tokens {
    pub access_token: String,
    pub expires_in: Option<Duration>,
    pub refresh_token: Option<String>,
    pub refresh_expires_in: Option<Duration>,
    pub id_token: Option<String>,
    pub scopes: Option<Vec<String>>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// When the provider is unavailable, how long to tell the browser to wait. Fixed: `oauth2`
/// does not expose the provider's own `Retry-After`.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// An unknown `kid` refetches the JWKS at most once per this long on one instance (see the
/// module's documentation for why, and the trade-off).
pub const JWKS_REFETCH_EVERY: Duration = Duration::from_secs(30);

/// An access token's lifetime when the provider does not say (`expires_in` is optional).
const DEFAULT_ACCESS_TOKEN_LIFETIME: i64 = 300;

impl Tokens {
    /// When the access token expires, counted from `now` (Unix seconds).
    pub fn access_token_expires_at(&self, now: i64) -> i64 {
        now + self
            .expires_in
            .map_or(DEFAULT_ACCESS_TOKEN_LIFETIME, |d| d.as_secs() as i64)
    }

    /// When the refresh token expires, if the provider said.
    pub fn refresh_token_expires_at(&self, now: i64) -> Option<i64> {
        self.refresh_expires_in.map(|d| now + d.as_secs() as i64)
    }
}

/// Why a call to the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Unreachable, timing out, 5xx, `temporarily_unavailable`: try again later.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The provider answered with an OAuth error (`invalid_grant`…).
    #[error("provider refused: {code}")]
    Refused { code: String },
    /// The provider's answers do not fit the configuration (wrong issuer, bad discovery…).
    #[error("provider answer rejected: {0}")]
    Rejected(String),
    /// The ID token does not validate (signature, issuer, audience, nonce, expiry…).
    #[error("provider answer rejected: ID token: {0}")]
    IdToken(#[source] id_token::IdTokenError),
    /// A back-channel logout token does not validate ([`logout_token`]).
    #[error("logout token refused")]
    LogoutToken(#[source] logout_token::LogoutTokenError),
    /// The provider refused this client, not the grant (`invalid_client`,
    /// `unauthorized_client`, `invalid_scope`, `invalid_request`, unknown codes): TopCluck's
    /// configuration is at fault, so no farmer's session should end over it.
    #[error("provider refused this client: {code}")]
    Misconfigured { code: String },
    /// The token endpoint's answer is not a token response nor an OAuth error.
    #[error("unreadable token endpoint answer: {0}")]
    BadAnswer(String),
    /// The request may have reached the provider and been acted on, but its answer did not
    /// arrive (a timeout, a 500/502/504): for a refresh, the token may have been rotated.
    #[error("the provider's answer was lost: {0}")]
    AnswerLost(String),
    /// Neither discovery nor `TOPCLUCK_REVOCATION_ENDPOINT` names a revocation endpoint.
    #[error("the provider has no revocation endpoint")]
    NoRevocationEndpoint,
    /// The revocation endpoint does not revoke tokens of this kind (RFC 7009 §2.2.1
    /// `unsupported_token_type`; e.g. JWT access tokens at node-oidc-provider): the token lives
    /// until it expires. Not a failure to revoke anything else.
    #[error("the provider does not revoke this kind of token")]
    UnsupportedTokenType,
}

/// The longest a refresh may wait for the provider's answer (the default of
/// `TOPCLUCK_REFRESH_TIMEOUT_MS`, which may only shorten it: the store's in-flight bound is built
/// on it). Longer than any request waits for it: a refresh runs on its own task, and an answer
/// that arrives after the requests gave up still reaches the successor cache (the provider may
/// already have rotated the token).
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(60);

/// A client for the provider: no redirects, the given timeouts, idle connections kept up to
/// `limit`'s number.
fn http_client(connect: Duration, timeout: Duration, limit: &Limit) -> reqwest::Client {
    // The token endpoint must not redirect (RFC 6749 §3.2 leaves it undefined; following one
    // could leak the client secret): `client_builder` follows none.
    crate::upstream::client_builder(limit)
        .connect_timeout(connect)
        .timeout(timeout)
        .build()
        .expect("a reqwest client with rustls")
}

/// The configured OpenID provider.
pub struct Provider {
    /// Exactly as configured: discovery must name this very string as its `issuer`.
    issuer: String,
    client_id: String,
    client_secret: Secret,
    redirect_uri: String,
    http: reqwest::Client,
    /// For refreshes: the same, with [`REFRESH_TIMEOUT`].
    refresh_http: reqwest::Client,
    metadata: OnceCell<Metadata>,
    jwks: RwLock<Option<CoreJsonWebKeySet>>,
    /// When an unknown `kid` last refetched the JWKS; held during a refetch (single flight).
    jwks_refetched: Mutex<Option<Instant>>,
    /// Where to revoke when discovery names no revocation endpoint.
    fallback_revocation_endpoint: Option<String>,
    /// The calls in flight to the provider, at most so many (shared by its clients).
    limit: Limit,
}

impl Provider {
    /// `issuer` is compared exactly with the discovered one: write it as the provider's
    /// discovery document does, trailing slash included or not.
    pub fn new(issuer: &str, client_id: &str, client_secret: Secret, redirect_uri: &str) -> Self {
        let timeouts = crate::settings::Timeouts::DEFAULT;
        let limit = Limit::new(
            crate::upstream::Upstream::Provider,
            crate::settings::limits::PROVIDER_MAX_CONNECTIONS as usize,
            crate::settings::limits::QUEUE,
        );
        Self {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            redirect_uri: redirect_uri.to_owned(),
            http: http_client(timeouts.provider_connect, timeouts.provider, &limit),
            refresh_http: http_client(timeouts.provider_connect, timeouts.refresh, &limit),
            metadata: OnceCell::new(),
            jwks: RwLock::new(None),
            jwks_refetched: Mutex::new(None),
            fallback_revocation_endpoint: None,
            limit,
        }
    }

    /// With the provider timeouts of `timeouts` (a provider call, a refresh, connecting) and
    /// at most `limit`'s calls in flight (shared with every provider given the same limit).
    pub fn with_limits(mut self, timeouts: &crate::settings::Timeouts, limit: Limit) -> Self {
        self.http = http_client(timeouts.provider_connect, timeouts.provider, &limit);
        self.refresh_http = http_client(timeouts.provider_connect, timeouts.refresh, &limit);
        self.limit = limit;
        self
    }

    /// The HTTP client `oauth2` calls the provider with, under this provider's limit.
    fn calls(&self, client: &reqwest::Client) -> StatusAware {
        StatusAware {
            client: client.clone(),
            limit: self.limit.clone(),
        }
    }

    /// Revokes at `endpoint` when discovery names no revocation endpoint
    /// (`TOPCLUCK_REVOCATION_ENDPOINT`).
    pub fn with_revocation_endpoint(mut self, endpoint: Option<&url::Url>) -> Self {
        self.fallback_revocation_endpoint = endpoint.map(url::Url::to_string);
        self
    }

    /// The issuer, exactly as configured.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The discovery document, fetched on first use (with the JWKS); a failed fetch is
    /// retried next time.
    pub async fn metadata(&self) -> Result<&Metadata, ProviderError> {
        self.metadata
            .get_or_try_init(|| async {
                let (metadata, keys) = metadata::discover(&self.calls(&self.http), &self.issuer).await?;
                *self.jwks.write().await = Some(keys);
                Ok(metadata)
            })
            .await
    }

    /// The provider's keys, with one for `kid` if the provider has it: a `kid` the cached
    /// JWKS lacks refetches it, at most once per [`JWKS_REFETCH_EVERY`], one fetch at a time
    /// (waiters look at the cache again when it is done). Within the window the cached keys
    /// are returned as they are, and the token is refused for want of its key.
    async fn keys(&self, metadata: &Metadata, kid: Option<&str>) -> Result<CoreJsonWebKeySet, ProviderError> {
        if let Some(keys) = self.cached_keys(kid).await {
            return Ok(keys);
        }
        let mut refetched = self.jwks_refetched.lock().await;
        // Another request may have refetched while this one waited.
        if let Some(keys) = self.cached_keys(kid).await {
            return Ok(keys);
        }
        if let Some(at) = *refetched
            && at.elapsed() < JWKS_REFETCH_EVERY
        {
            tracing::debug!("unknown kid: the JWKS was refetched less than 30 s ago, not again");
            return Ok(self
                .jwks
                .read()
                .await
                .clone()
                .unwrap_or_else(|| CoreJsonWebKeySet::new(Vec::new())));
        }
        *refetched = Some(Instant::now());
        let fresh = metadata::fetch_jwks(&self.calls(&self.http), &metadata.jwks_uri).await?;
        *self.jwks.write().await = Some(fresh.clone());
        Ok(fresh)
    }

    /// The cached keys, if they have one for `kid`.
    async fn cached_keys(&self, kid: Option<&str>) -> Option<CoreJsonWebKeySet> {
        self.jwks
            .read()
            .await
            .as_ref()
            .filter(|keys| id_token::has_key(keys, kid))
            .cloned()
    }

    /// Validates an ID token of this provider for this client and `nonce`, at `now` (the
    /// BFF's clock, Unix seconds).
    pub async fn validate_id_token(
        &self,
        token: &str,
        nonce: &str,
        now: i64,
    ) -> Result<IdClaims, ProviderError> {
        let rejected = ProviderError::IdToken;
        let metadata = self.metadata().await?;
        let kid = id_token::key_id(token).map_err(rejected)?;
        let keys = self.keys(metadata, kid.as_deref()).await?;
        let expected = Expected {
            issuer: &metadata.issuer,
            client_id: &self.client_id,
            nonce,
            algorithms: &metadata.id_token_algorithms,
            now,
        };
        id_token::validate(token, &keys, &expected).map_err(rejected)
    }

    /// Validates a back-channel logout token of this provider for this client, at `now` (the
    /// BFF's clock), with the keys and algorithms ID tokens are checked with. All but the
    /// replay check ([`LogoutClaims::replay_key`] is the store's to record).
    pub async fn validate_logout_token(&self, token: &str, now: i64) -> Result<LogoutClaims, ProviderError> {
        let refused = ProviderError::LogoutToken;
        let metadata = self.metadata().await?;
        // Shape, `alg`, `typ`, `crit` first: a token refused for them costs no JWKS fetch.
        let kid = logout_token::precheck(token, &metadata.id_token_algorithms).map_err(refused)?;
        let keys = self.keys(metadata, kid.as_deref()).await?;
        let expected = logout_token::Expected {
            issuer: &metadata.issuer,
            client_id: &self.client_id,
            algorithms: &metadata.id_token_algorithms,
            now,
        };
        logout_token::validate(token, &keys, &expected).map_err(refused)
    }

    async fn client(&self) -> Result<OAuthClient, ProviderError> {
        let metadata = self.metadata().await?;
        let bad = |what: &str| ProviderError::Rejected(format!("discovery: bad {what}"));
        Ok(oauth2::Client::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.expose().to_owned()))
            .set_auth_uri(
                AuthUrl::new(metadata.authorization_endpoint.clone())
                    .map_err(|_| bad("authorization_endpoint"))?,
            )
            .set_token_uri(TokenUrl::new(metadata.token_endpoint.clone()).map_err(|_| bad("token_endpoint"))?)
            .set_redirect_uri(RedirectUrl::new(self.redirect_uri.clone()).map_err(|_| bad("redirect_uri"))?))
    }

    /// Redeems an authorization code with the PKCE verifier.
    pub async fn exchange_code(&self, code: &str, verifier: &str) -> Result<Tokens, ProviderError> {
        let response = self
            .client()
            .await?
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&self.calls(&self.http))
            .await
            .map_err(token_error)?;
        Ok(tokens(response))
    }

    /// Uses a refresh token (the next issue's silent renewal calls this).
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, ProviderError> {
        self.refresh_with_scopes(refresh_token, &[]).await
    }

    /// [`Provider::refresh`], asking for `scopes` only (down-scoping, RFC 6749 §6; none: the
    /// grant's own).
    pub async fn refresh_with_scopes(
        &self,
        refresh_token: &str,
        scopes: &[&str],
    ) -> Result<Tokens, ProviderError> {
        let client = self.client().await?;
        let token = RefreshToken::new(refresh_token.to_owned());
        let mut request = client.exchange_refresh_token(&token);
        for scope in scopes {
            request = request.add_scope(oauth2::Scope::new((*scope).to_owned()));
        }
        let response = request
            .request_async(&self.calls(&self.refresh_http))
            .await
            .map_err(token_error)?;
        Ok(tokens(response))
    }

    /// POSTs `form` to `url` as this confidential client (`client_secret_basic`), under this
    /// provider's limit: the status and the whole body.
    pub(super) async fn authenticated_post(
        &self,
        url: url::Url,
        form: &[(&str, &str)],
    ) -> Result<(reqwest::StatusCode, axum::body::Bytes), String> {
        let _permit = self.limit.admit().await.map_err(|e| e.to_string())?;
        let response = self
            .http
            .post(url)
            .basic_auth(
                form_encode(&self.client_id),
                Some(form_encode(self.client_secret.expose())),
            )
            .form(form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        Ok((status, body))
    }

    /// Asks the provider whether `refresh_token` (one of this client's) is still active
    /// (RFC 7662). `Ok(None)`: the provider offers no introspection. Unreachable, 5xx, or an
    /// unreadable answer: [`ProviderError::Unavailable`] (still unknown).
    pub async fn introspect(&self, refresh_token: &str) -> Result<Option<bool>, ProviderError> {
        let Some(endpoint) = self.metadata().await?.introspection_endpoint.clone() else {
            return Ok(None);
        };
        let url = url::Url::parse(&endpoint)
            .ok()
            .filter(crate::settings::is_tls_or_loopback)
            .ok_or_else(|| ProviderError::Rejected("introspection_endpoint is not https".into()))?;
        let unavailable = |e: String| ProviderError::Unavailable(format!("introspection: {e}"));
        let (status, body) = self
            .authenticated_post(
                url,
                &[("token", refresh_token), ("token_type_hint", "refresh_token")],
            )
            .await
            .map_err(unavailable)?;
        if status.is_client_error() {
            // The provider will not answer this client (not allowed to introspect): as if it
            // had no introspection. Unknown stays for outages only.
            tracing::warn!(%status, "introspection refused for this client: settling without it");
            return Ok(None);
        }
        if !status.is_success() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        #[derive(Deserialize)]
        struct Introspection {
            active: bool,
        }
        let answer: Introspection = serde_json::from_slice(&body).map_err(|e| unavailable(e.to_string()))?;
        Ok(Some(answer.active))
    }

    /// Revokes a refresh token (RFC 7009). No revocation endpoint, in discovery or configured:
    /// [`ProviderError::NoRevocationEndpoint`].
    ///
    /// Sent with reqwest rather than `oauth2`: that crate refuses any revocation endpoint that
    /// is not HTTPS, which would make logout against a loopback development provider skip
    /// revocation. Plain http is accepted here for loopback hosts only.
    pub async fn revoke_refresh_token(&self, refresh_token: &str) -> Result<(), ProviderError> {
        self.revoke(refresh_token, "refresh_token").await
    }

    /// Revokes a token of the kind `hint` names (`refresh_token`, `access_token`); see
    /// [`Provider::revoke_refresh_token`].
    pub async fn revoke(&self, token: &str, hint: &str) -> Result<(), ProviderError> {
        let Some(endpoint) = self
            .metadata()
            .await?
            .revocation_endpoint
            .clone()
            .or_else(|| self.fallback_revocation_endpoint.clone())
        else {
            return Err(ProviderError::NoRevocationEndpoint);
        };
        let url = url::Url::parse(&endpoint)
            .map_err(|_| ProviderError::Rejected("bad revocation_endpoint".into()))?;
        if !crate::settings::is_tls_or_loopback(&url) {
            return Err(ProviderError::Rejected("revocation_endpoint is not HTTPS".into()));
        }
        let (status, body) = self
            .authenticated_post(url, &[("token", token), ("token_type_hint", hint)])
            .await
            .map_err(|e| ProviderError::Unavailable(format!("revocation: {e}")))?;
        match status {
            status if status.is_success() => Ok(()),
            status if status.is_server_error() => {
                Err(ProviderError::Unavailable(format!("revocation: HTTP {status}")))
            }
            status => {
                // RFC 7009 §2.2.1: the error response of RFC 6749 §5.2.
                #[derive(Deserialize)]
                struct OAuthErrorBody {
                    error: String,
                }
                let error = serde_json::from_slice::<OAuthErrorBody>(&body)
                    .ok()
                    .map(|body| body.error);
                match error.as_deref() {
                    Some("unsupported_token_type") => Err(ProviderError::UnsupportedTokenType),
                    Some(code) => Err(ProviderError::Refused {
                        code: format!("revocation: HTTP {status} {code}"),
                    }),
                    None => Err(ProviderError::Refused {
                        code: format!("revocation: HTTP {status}"),
                    }),
                }
            }
        }
    }
}

/// An OAuth `error` code as the provider sent it, when it is one (RFC 6749 §5.2: `%x20-21 /
/// %x23-5B / %x5D-7E`, kept to 64 characters); anything else is not repeated, so a provider's
/// answer cannot write arbitrary text (line breaks, megabytes) into the logs.
pub(super) fn error_code(raw: &str) -> String {
    let allowed = |c: char| matches!(c, ' '..='!' | '#'..='[' | ']'..='~');
    if !raw.is_empty() && raw.len() <= 64 && raw.chars().all(allowed) {
        raw.to_owned()
    } else {
        "(not an OAuth error code)".to_owned()
    }
}

/// RFC 6749 §2.3.1: client id and secret are form-encoded before HTTP Basic.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn tokens(response: OidcTokenResponse) -> Tokens {
    Tokens {
        access_token: response.access_token().secret().clone(),
        expires_in: response.expires_in(),
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        // 0 means "no limit" to some providers (Keycloak's offline tokens), not "expired".
        refresh_expires_in: response
            .extra_fields()
            .refresh_expires_in
            .filter(|&seconds| seconds > 0)
            .map(Duration::from_secs),
        id_token: response.extra_fields().id_token.clone(),
        scopes: response
            .scopes()
            .map(|scopes| scopes.iter().map(|s| s.to_string()).collect()),
    }
}

fn token_error(error: RequestTokenError<Transport, BasicErrorResponse>) -> ProviderError {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let code = error_code(response.error().as_ref());
            match code.as_str() {
                "invalid_grant" => ProviderError::Refused { code },
                "temporarily_unavailable" | "server_error" => ProviderError::Unavailable(code),
                _ => ProviderError::Misconfigured { code },
            }
        }
        RequestTokenError::Request(error) if error.not_received() => {
            ProviderError::Unavailable(error.to_string())
        }
        RequestTokenError::Request(error) => ProviderError::AnswerLost(error.to_string()),
        RequestTokenError::Parse(error, _) => ProviderError::BadAnswer(error.to_string()),
        RequestTokenError::Other(other) => ProviderError::BadAnswer(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_repeated_only_when_they_are_error_codes() {
        assert_eq!(error_code("invalid_grant"), "invalid_grant");
        assert_eq!(error_code("unsupported_token_type"), "unsupported_token_type");
        for bad in [
            "",
            "a\nforged log line",
            "quote\"",
            "back\\slash",
            "é",
            &"x".repeat(65),
        ] {
            assert_eq!(error_code(bad), "(not an OAuth error code)", "{bad:?}");
        }
    }

    #[test]
    fn a_refresh_expires_in_of_zero_means_no_limit_not_expired() {
        let zero: OidcTokenResponse = serde_json::from_str(
            r#"{"access_token":"a","token_type":"Bearer","refresh_token":"r","refresh_expires_in":0}"#,
        )
        .unwrap();
        assert_eq!(tokens(zero).refresh_expires_in, None);
        let some: OidcTokenResponse = serde_json::from_str(
            r#"{"access_token":"a","token_type":"Bearer","refresh_token":"r","refresh_expires_in":60}"#,
        )
        .unwrap();
        assert_eq!(tokens(some).refresh_expires_in, Some(Duration::from_secs(60)));
    }
}
