//! Label values: each a static string from a closed set, chosen from the kind of what happened —
//! an enum's variant, a status class — never from a value a request or a peer brought (a token,
//! a cookie, a subject, a path, an error's text). The sets the recorder registers at 0 are
//! listed here too.

use app::wire::ErrorCode;

use crate::bff::LoginRefusal;
use crate::counting::FarmerResult;
use crate::error::BffError;
use crate::oidc::ProviderError;
use crate::renewal::Outcome;

/// Where a renewal found what it joined or served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// This instance's successor cache or its refresh in flight.
    Memory,
    /// The store: another instance's refresh, or an outcome committed earlier.
    Store,
}

impl Via {
    pub(super) const ALL: [&'static str; 2] = ["memory", "store"];

    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Store => "store",
        }
    }
}

pub(super) const REFRESH_OUTCOMES: [&str; 6] = [
    "renewed",
    "ended",
    "stale_copy",
    "unavailable",
    "misconfigured",
    "bad_answer",
];

pub(super) fn refresh_outcome(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Renewed(_) => "renewed",
        Outcome::Ended => "ended",
        Outcome::StaleCopy => "stale_copy",
        Outcome::Unavailable => "unavailable",
        Outcome::Misconfigured(_) => "misconfigured",
        Outcome::BadAnswer(_) => "bad_answer",
    }
}

pub(super) const PROVIDER_ANSWERS: [&str; 6] = [
    "tokens",
    "refused",
    "unavailable",
    "answer_lost",
    "misconfigured",
    "bad_answer",
];

pub(super) fn provider_answer<T>(answer: &Result<T, ProviderError>) -> &'static str {
    match answer {
        Ok(_) => "tokens",
        Err(ProviderError::Refused { .. }) => "refused",
        Err(ProviderError::Unavailable(_)) => "unavailable",
        Err(ProviderError::AnswerLost(_)) => "answer_lost",
        Err(ProviderError::Misconfigured { .. }) => "misconfigured",
        Err(
            ProviderError::BadAnswer(_)
            | ProviderError::Rejected(_)
            | ProviderError::IdToken(_)
            | ProviderError::LogoutToken(_)
            | ProviderError::NoRevocationEndpoint
            | ProviderError::UnsupportedTokenType,
        ) => "bad_answer",
    }
}

pub(super) const SETTLED: [&str; 5] = [
    "active",
    "rotation_lost",
    "grace_retry",
    "no_introspection",
    "unknown",
];

/// How introspection settled a lost answer (`crate::renewal::committed`'s `settle`).
pub(super) fn settled(introspected: &Result<Option<bool>, ProviderError>, grace: bool) -> &'static str {
    match introspected {
        Ok(Some(true)) => "active",
        Ok(Some(false)) => "rotation_lost",
        Ok(None) if grace => "grace_retry",
        Ok(None) => "no_introspection",
        Err(_) => "unknown",
    }
}

/// The BFF answered an `/api` request itself.
pub(super) const BFF_ERROR: &str = "bff_error";

/// `1xx` … `5xx`; a status outside them (600–999, which no HTTP peer should send) is `other`.
pub(super) fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        5 => "5xx",
        _ => "other",
    }
}

/// The code as the error's JSON body writes it (`ApiError::error`).
pub(super) fn error_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unauthenticated => "unauthenticated",
        ErrorCode::ReauthenticationRequired => "reauthentication_required",
        ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        ErrorCode::CsrfRejected => "csrf_rejected",
        ErrorCode::LoginFailed => "login_failed",
        ErrorCode::BadRequest => "bad_request",
        ErrorCode::BadGateway => "bad_gateway",
        ErrorCode::NotFound => "not_found",
        ErrorCode::Internal => "internal",
        ErrorCode::ClientMisconfigured => "client_misconfigured",
        ErrorCode::SessionTooLarge => "session_too_large",
        ErrorCode::PayloadTooLarge => "payload_too_large",
        ErrorCode::Timeout => "timeout",
        ErrorCode::LoginNotStarted => "login_not_started",
        ErrorCode::RateLimited => "rate_limited",
        ErrorCode::MethodNotAllowed => "method_not_allowed",
        ErrorCode::CountingNotConfigured => "counting_not_configured",
    }
}

pub(super) const LOGIN_OUTCOMES: [&str; 21] = [
    "succeeded",
    "not_started",
    "bad_request",
    "throttled",
    "refused_verifier",
    "refused_no_id_token",
    "refused_scopes",
    "refused_another_farmer",
    "refused_no_refresh_token",
    "refused_no_eggs_read",
    "refused_issuer_mismatch",
    "refused_issuer_missing",
    "refused_ended_by_provider",
    "code_refused",
    "id_token_invalid",
    "provider_unavailable",
    "client_misconfigured",
    "provider_bad_answer",
    "session_too_large",
    "counting_not_configured",
    "internal",
];

/// What a `POST /bff/login` came to: succeeded, or why not, by the kind of its error.
pub(super) fn login_outcome<T>(result: &Result<T, BffError>) -> &'static str {
    let Err(error) = result else {
        return "succeeded";
    };
    match error {
        BffError::LoginNotStarted => "not_started",
        BffError::BadRequest(_) | BffError::Json(_) | BffError::Body(_) | BffError::Path(_) => "bad_request",
        BffError::TooManyAttempts { .. } => "throttled",
        BffError::LoginFailed(refusal) => match refusal {
            LoginRefusal::VerifierMismatch => "refused_verifier",
            LoginRefusal::NoIdToken => "refused_no_id_token",
            LoginRefusal::ScopesBeyondRequest(_) => "refused_scopes",
            LoginRefusal::AnotherFarmer => "refused_another_farmer",
            LoginRefusal::NoRefreshToken => "refused_no_refresh_token",
            LoginRefusal::NoEggsRead => "refused_no_eggs_read",
            LoginRefusal::IssuerMismatch => "refused_issuer_mismatch",
            LoginRefusal::IssuerMissing => "refused_issuer_missing",
            LoginRefusal::EndedByProvider => "refused_ended_by_provider",
        },
        BffError::Provider(provider) => match provider {
            ProviderError::Refused { .. } => "code_refused",
            ProviderError::IdToken(_) => "id_token_invalid",
            ProviderError::Unavailable(_) | ProviderError::AnswerLost(_) => "provider_unavailable",
            ProviderError::Misconfigured { .. } => "client_misconfigured",
            ProviderError::BadAnswer(_)
            | ProviderError::Rejected(_)
            | ProviderError::LogoutToken(_)
            | ProviderError::NoRevocationEndpoint
            | ProviderError::UnsupportedTokenType => "provider_bad_answer",
        },
        BffError::SessionTooLarge(_) => "session_too_large",
        BffError::CountingNotConfigured => "counting_not_configured",
        _ => "internal",
    }
}

pub(super) const DAILY_OUTCOMES: [&str; 6] = [
    "counted",
    "needs_consent",
    "retry_later",
    "failed",
    "skipped",
    "busy",
];

pub(super) fn daily_outcome(result: &FarmerResult) -> &'static str {
    match result {
        FarmerResult::Counted { .. } => "counted",
        FarmerResult::NeedsConsent => "needs_consent",
        FarmerResult::RetryLater { .. } => "retry_later",
        FarmerResult::Failed { .. } => "failed",
        FarmerResult::Skipped => "skipped",
        FarmerResult::Busy => "busy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value a mapping gives is in the set registered at 0, and no value repeats a
    /// secret-shaped input: the mappings read the kind only.
    #[test]
    fn each_mapping_stays_inside_its_registered_set() {
        let secret = "eyJhbGciOiJSUzI1NiJ9.secret-token";
        let successor = crate::renewal::Successor {
            access_token: secret.into(),
            access_token_expires_at: 0,
            access_token_issued_at: 0,
            refresh_token: Some(secret.into()),
            refresh_token_expires_at: None,
            scopes: None,
        };
        let outcomes = [
            Outcome::Renewed(std::sync::Arc::new(successor)),
            Outcome::Ended,
            Outcome::StaleCopy,
            Outcome::Unavailable,
            Outcome::Misconfigured(secret.into()),
            Outcome::BadAnswer(secret.into()),
        ];
        let seen: Vec<_> = outcomes.iter().map(refresh_outcome).collect();
        assert_eq!(seen, REFRESH_OUTCOMES);

        let answers: [Result<(), ProviderError>; 6] = [
            Ok(()),
            Err(ProviderError::Refused { code: secret.into() }),
            Err(ProviderError::Unavailable(secret.into())),
            Err(ProviderError::AnswerLost(secret.into())),
            Err(ProviderError::Misconfigured { code: secret.into() }),
            Err(ProviderError::BadAnswer(secret.into())),
        ];
        let seen: Vec<_> = answers.iter().map(provider_answer).collect();
        assert_eq!(seen, PROVIDER_ANSWERS);

        let introspections: [(Result<Option<bool>, ProviderError>, bool); 5] = [
            (Ok(Some(true)), false),
            (Ok(Some(false)), true),
            (Ok(None), true),
            (Ok(None), false),
            (Err(ProviderError::Unavailable(secret.into())), false),
        ];
        let seen: Vec<_> = introspections.iter().map(|(i, g)| settled(i, *g)).collect();
        assert_eq!(seen, SETTLED);

        let logins: Vec<Result<(), BffError>> = vec![
            Ok(()),
            Err(BffError::LoginNotStarted),
            Err(BffError::BadRequest("code is required")),
            Err(BffError::TooManyAttempts {
                retry_after_seconds: 1,
            }),
            Err(LoginRefusal::VerifierMismatch.into()),
            Err(LoginRefusal::NoIdToken.into()),
            Err(LoginRefusal::scopes_beyond(&[secret]).into()),
            Err(LoginRefusal::AnotherFarmer.into()),
            Err(LoginRefusal::NoRefreshToken.into()),
            Err(LoginRefusal::NoEggsRead.into()),
            Err(LoginRefusal::IssuerMismatch.into()),
            Err(LoginRefusal::IssuerMissing.into()),
            Err(LoginRefusal::EndedByProvider.into()),
            Err(ProviderError::Refused { code: secret.into() }.into()),
            Err(ProviderError::IdToken(crate::oidc::id_token::IdTokenError::Nonce).into()),
            Err(ProviderError::AnswerLost(secret.into()).into()),
            Err(ProviderError::Misconfigured { code: secret.into() }.into()),
            Err(ProviderError::BadAnswer(secret.into()).into()),
            Err(BffError::SessionTooLarge(secret.into())),
            Err(BffError::CountingNotConfigured),
            Err(BffError::MissingLayer("the cookie jar")),
        ];
        let seen: Vec<_> = logins.iter().map(login_outcome).collect();
        assert_eq!(seen, LOGIN_OUTCOMES);

        let results = [
            FarmerResult::Counted { count: 3 },
            FarmerResult::NeedsConsent,
            FarmerResult::RetryLater {
                reason: secret.into(),
            },
            FarmerResult::Failed {
                reason: secret.into(),
            },
            FarmerResult::Skipped,
            FarmerResult::Busy,
        ];
        let seen: Vec<_> = results.iter().map(daily_outcome).collect();
        assert_eq!(seen, DAILY_OUTCOMES);

        assert_eq!([Via::Memory.label(), Via::Store.label()], Via::ALL);
        let classes: Vec<_> = [101, 200, 304, 404, 503, 999].map(status_class).to_vec();
        assert_eq!(classes, ["1xx", "2xx", "3xx", "4xx", "5xx", "other"]);
    }

    /// The proxy's error label is the code the JSON body carries.
    #[test]
    fn error_codes_are_written_as_the_body_writes_them() {
        use ErrorCode::*;
        for code in [
            Unauthenticated,
            ReauthenticationRequired,
            TemporarilyUnavailable,
            CsrfRejected,
            LoginFailed,
            BadRequest,
            BadGateway,
            NotFound,
            Internal,
            ClientMisconfigured,
            SessionTooLarge,
            PayloadTooLarge,
            Timeout,
            LoginNotStarted,
            RateLimited,
            MethodNotAllowed,
            CountingNotConfigured,
        ] {
            assert_eq!(serde_json::json!(code), error_code(code), "{code:?}");
        }
    }
}
