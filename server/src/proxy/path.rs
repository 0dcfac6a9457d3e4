//! The upstream path of a proxied request: the part after `/api/`, refused when it could
//! escape the configured base (`..`, `.`, encoded slashes or dots, backslashes).

use percent_encoding::percent_decode_str;

/// The raw (still percent-encoded) path after `/api/`, if it stays inside the base.
pub fn safe_rest(raw_path: &str) -> Option<&str> {
    let rest = raw_path.strip_prefix("/api/")?;
    let safe = rest.split('/').all(|segment| {
        let Ok(decoded) = percent_decode_str(segment).decode_utf8() else {
            return false;
        };
        decoded != ".." && decoded != "." && !decoded.contains(['/', '\\', '\0'])
    });
    (safe && !rest.starts_with('/')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::safe_rest;

    #[test]
    fn keeps_paths_inside_the_base() {
        assert_eq!(safe_rest("/api/eggs"), Some("eggs"));
        assert_eq!(safe_rest("/api/eggs/2026-11-22"), Some("eggs/2026-11-22"));
        assert_eq!(safe_rest("/api/"), Some(""));
        for escape in [
            "/api/../admin",
            "/api/eggs/../../x",
            "/api/%2e%2e/admin",
            "/api/%2E%2E/admin",
            "/api/.%2e/admin",
            "/api/eggs%2f..%2fadmin",
            "/api/eggs%5c..",
            "/api//evil",
            "/api/./eggs",
            "/api/%ff",
            "/elsewhere",
        ] {
            assert_eq!(safe_rest(escape), None, "{escape}");
        }
    }
}
