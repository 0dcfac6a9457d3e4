//! The `Authorization` request header (RFC 9110 §11.6.2): `<scheme> <credentials>`, where the
//! scheme name is case-insensitive (§11.1), so `Basic`, `basic` and `BASIC` are one scheme.

use axum::http::{HeaderMap, header};

/// The credentials of the `Authorization` header when its scheme is `scheme` (compared
/// case-insensitively); `None` when the header is absent, not ASCII, or of another scheme.
pub fn credentials<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (name, rest) = value.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then(|| rest.trim_matches(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn scheme_names_are_case_insensitive_and_must_match_whole() {
        for value in ["Basic abc", "basic abc", "BASIC abc", "bAsIc  abc "] {
            assert_eq!(credentials(&with(value), "Basic"), Some("abc"), "{value}");
        }
        for value in ["Basicabc", "Bearer abc", "Basic-x abc", "abc"] {
            assert_eq!(credentials(&with(value), "Basic"), None, "{value}");
        }
        assert_eq!(credentials(&HeaderMap::new(), "Basic"), None);
    }
}
