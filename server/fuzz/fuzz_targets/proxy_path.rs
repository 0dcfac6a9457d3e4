//! The proxy's path rules (`server::proxy::path`): `safe_rest` on any `/api/...` path, then
//! `upstream_url` under a base with a path, with any query.
//!
//! Properties, from the rules' documentation: never a panic; an accepted path has no empty
//! segment, no dot segment (`.`, `..`, `...`, path parameters aside) raw or percent-encoded,
//! decodes once to UTF-8 without `%`, `/`, `\` or control characters; and its upstream URL
//! stays under the base, with exactly the path checked (the query cannot move it), no fragment.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use server::proxy::path::{safe_rest, upstream_url};
use url::Url;

fn base() -> &'static Url {
    static BASE: OnceLock<Url> = OnceLock::new();
    BASE.get_or_init(|| Url::parse("http://upstream.test/v1/api/").expect("a base URL"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // What a request carries: the path, then `?` and the query (as `Uri` splits them).
    let (raw_path, query) = match input.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (input, None),
    };
    let path = format!("/api/{raw_path}");
    let Ok(rest) = safe_rest(&path) else {
        return;
    };
    assert_eq!(rest, raw_path);
    let segments = rest.strip_suffix('/').unwrap_or(rest);
    for segment in segments.split('/') {
        assert!(!segment.is_empty(), "an empty segment accepted: {path:?}");
        let decoded = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .unwrap_or_else(|_| panic!("a segment that is not UTF-8 accepted: {path:?}"));
        assert!(
            !decoded.contains(['%', '/', '\\']) && !decoded.chars().any(char::is_control),
            "an encoded separator, escape or control accepted: {path:?}"
        );
        let name = decoded.split(';').next().unwrap_or_default();
        assert!(
            !name.bytes().all(|b| b == b'.'),
            "a dot segment accepted: {path:?}"
        );
        assert!(
            decoded.chars().all(|c| c.is_ascii() || c.is_alphanumeric()),
            "a look-alike accepted: {path:?}"
        );
    }
    let Ok(url) = upstream_url(base(), rest, query) else {
        return;
    };
    let expected = format!("/v1/api/{rest}");
    assert_eq!(
        url.path(),
        expected,
        "the upstream path moved: {path:?} {query:?}"
    );
    assert!(url.path().starts_with(base().path()), "outside the base: {url}");
    assert_eq!(url.host_str(), Some("upstream.test"));
    assert_eq!(url.fragment(), None, "a fragment upstream: {url}");
    assert!(
        !url.path().split('/').any(|s| s == "." || s == ".."),
        "a dot segment upstream: {url}"
    );
});
