//! Which paths the proxy forwards, and the upstream URL it builds from one.
//!
//! A path is forwarded only when every server on the way can read it one way: as the segments
//! the BFF checked, under the configured base. Servers disagree about everything below, so each
//! is refused with `400 bad_request`, and the upstream is not contacted:
//!
//! | rule (for the path after `/api/`) | refuses, for example |
//! | --- | --- |
//! | raw characters are RFC 3986's `pchar` (ASCII letters, digits, `-._~!$&'()*+,;=:@`, `%`) | raw `\`, raw non-ASCII, spaces, controls, `"<>^`{\|}` |
//! | every `%` starts an escape of two hex digits | `%zz`, `%4` |
//! | no empty segment (one trailing `/` is kept) | `//`, `/api//x` |
//! | a segment decodes (once) to UTF-8 without `%` | double encoding (`%252e`, `%252f`, `%255c`), `%ff` |
//! | … without `/`, `\` or control characters | `%2f`, `%5c`, `%00`, `%0d%0a` |
//! | … whose non-ASCII characters are letters or digits | dot and slash look-alikes: U+FF0E, U+2024, U+3002, U+FF0F |
//! | … that is not a dot segment, path parameters aside | `.`, `..`, `...`, `%2e%2E`, `..;`, `..;x=1` |
//!
//! The query is passed on as it came; the upstream URL is built from parts and checked to have
//! exactly the path intended, so nothing in the query can move it.

use percent_encoding::percent_decode_str;
use url::Url;

/// Why a path is not forwarded (logged, never sent: the answer is `bad_request`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not under /api/")]
    OutsideTheApi,
    #[error("a character that is not allowed raw in a path")]
    RawCharacter,
    #[error("a malformed percent-escape")]
    MalformedEscape,
    #[error("an empty segment")]
    EmptySegment,
    #[error("a segment that is not UTF-8 once decoded")]
    NotUtf8,
    #[error("a percent-escape that decodes to another escape (double encoding)")]
    DoubleEncoded,
    #[error("an encoded slash or backslash")]
    EncodedSeparator,
    #[error("a control character")]
    ControlCharacter,
    #[error("a non-ASCII character that is not a letter or digit (a dot or slash look-alike)")]
    LookAlike,
    #[error("a dot segment")]
    DotSegment,
    #[error("the upstream URL would not have the path checked")]
    Moved,
}

/// The raw (still percent-encoded) path after `/api/`, if it keeps the rules above.
pub fn safe_rest(raw_path: &str) -> Result<&str, Refusal> {
    let rest = raw_path.strip_prefix("/api/").ok_or(Refusal::OutsideTheApi)?;
    let segments = rest.strip_suffix('/').unwrap_or(rest);
    segments.split('/').try_for_each(check_segment)?;
    Ok(rest)
}

/// The upstream URL for `rest` (from [`safe_rest`]) under `base`, with the request's query.
pub fn upstream_url(base: &Url, rest: &str, query: Option<&str>) -> Result<Url, Refusal> {
    let path = format!("{}/{rest}", base.path().trim_end_matches('/'));
    let mut url = base.clone();
    url.set_path(&path);
    url.set_query(query);
    // The rules leave nothing for the URL parser to normalise; this holds them to it.
    if url.path() != path {
        return Err(Refusal::Moved);
    }
    Ok(url)
}

fn check_segment(segment: &str) -> Result<(), Refusal> {
    if segment.is_empty() {
        return Err(Refusal::EmptySegment);
    }
    check_raw(segment.as_bytes())?;
    let decoded = percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| Refusal::NotUtf8)?;
    for character in decoded.chars() {
        match character {
            '%' => return Err(Refusal::DoubleEncoded),
            '/' | '\\' => return Err(Refusal::EncodedSeparator),
            c if c.is_control() => return Err(Refusal::ControlCharacter),
            c if !c.is_ascii() && !c.is_alphanumeric() => return Err(Refusal::LookAlike),
            _ => {}
        }
    }
    // Tomcat and others drop path parameters (`..;x=1` is `..` to them); Windows servers drop
    // trailing dots (`...`). A segment of dots alone, before any `;`, is refused.
    let name = decoded.split(';').next().unwrap_or_default();
    if name.bytes().all(|b| b == b'.') {
        return Err(Refusal::DotSegment);
    }
    Ok(())
}

/// RFC 3986 §3.3: `pchar = unreserved / pct-encoded / sub-delims / ":" / "@"`.
fn check_raw(bytes: &[u8]) -> Result<(), Refusal> {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let escape = bytes.get(i + 1..i + 3).ok_or(Refusal::MalformedEscape)?;
                if !escape.iter().all(u8::is_ascii_hexdigit) {
                    return Err(Refusal::MalformedEscape);
                }
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) => i += 1,
            _ => return Err(Refusal::RawCharacter),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_paths_inside_the_base() {
        for (path, rest) in [
            ("/api/eggs", "eggs"),
            ("/api/eggs/2026-11-22", "eggs/2026-11-22"),
            ("/api/eggs/", "eggs/"),
            ("/api/farms/H%C3%BChnerhof", "farms/H%C3%BChnerhof"),
            ("/api/eggs;v=2", "eggs;v=2"),
            ("/api/.well-known/x", ".well-known/x"),
        ] {
            assert_eq!(safe_rest(path), Ok(rest), "{path}");
        }
    }

    #[test]
    fn refuses_each_way_out() {
        use Refusal::*;
        for (path, refusal) in [
            ("/elsewhere", OutsideTheApi),
            ("/api/", EmptySegment),
            ("/api//evil", EmptySegment),
            ("/api/eggs//x", EmptySegment),
            ("/api/eggs//", EmptySegment),
            ("/api/eggs\\..", RawCharacter),
            ("/api/\u{FF0E}\u{FF0E}", RawCharacter),
            ("/api/eggs/%zz", MalformedEscape),
            ("/api/eggs/%4", MalformedEscape),
            ("/api/%ff", NotUtf8),
            ("/api/%252e%252e/admin", DoubleEncoded),
            ("/api/eggs%252f..", DoubleEncoded),
            ("/api/eggs%255c..", DoubleEncoded),
            ("/api/eggs%2f..%2fadmin", EncodedSeparator),
            ("/api/eggs%5c..", EncodedSeparator),
            ("/api/eggs%00", ControlCharacter),
            ("/api/eggs%0d%0a", ControlCharacter),
            ("/api/%EF%BC%8E%EF%BC%8E", LookAlike),
            ("/api/%E2%80%A4", LookAlike),
            ("/api/%E3%80%82", LookAlike),
            ("/api/eggs%EF%BC%8Fadmin", LookAlike),
            ("/api/../admin", DotSegment),
            ("/api/eggs/../../x", DotSegment),
            ("/api/./eggs", DotSegment),
            ("/api/%2e%2e/admin", DotSegment),
            ("/api/%2E%2e/admin", DotSegment),
            ("/api/.%2e/admin", DotSegment),
            ("/api/..;/admin", DotSegment),
            ("/api/..;x=1/admin", DotSegment),
            ("/api/..%3b/admin", DotSegment),
            ("/api/.../admin", DotSegment),
        ] {
            assert_eq!(safe_rest(path), Err(refusal), "{path}");
        }
    }

    #[test]
    fn the_query_cannot_move_the_path() {
        let base = Url::parse("http://upstream.test/api/").unwrap();
        for query in ["/../admin", "%2f..%2fadmin", "a=1#/../x", "?/.."] {
            let url = upstream_url(&base, "eggs", Some(query)).unwrap();
            assert_eq!(url.path(), "/api/eggs", "{query}");
            assert_eq!(url.fragment(), None, "{query}");
        }
        assert_eq!(
            upstream_url(&base, "eggs", None).unwrap().as_str(),
            "http://upstream.test/api/eggs"
        );
        // Were a rule ever to let a dot segment through, the URL parser would move the path.
        assert_eq!(upstream_url(&base, "x/../../admin", None), Err(Refusal::Moved));
    }
}
