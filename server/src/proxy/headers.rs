//! Which headers cross the proxy. Never the browser's cookies or credentials, never the CSRF
//! header, never hop-by-hop headers (RFC 9110 §7.6.1), never an upstream's cookies.

use axum::http::{HeaderMap, HeaderName, header};

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn is_hop_by_hop(name: &HeaderName, connection: &HeaderMap) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
        || connection
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|listed| listed.trim().eq_ignore_ascii_case(name.as_str()))
}

/// The browser's headers, as sent upstream.
pub fn upstream_request(incoming: &HeaderMap) -> HeaderMap {
    let dropped = [
        header::HOST,
        header::COOKIE,
        header::AUTHORIZATION,
        header::ORIGIN,
        header::CONTENT_LENGTH,
    ];
    incoming
        .iter()
        .filter(|(name, _)| {
            !is_hop_by_hop(name, incoming)
                && !dropped.contains(name)
                && name.as_str() != crate::bff::csrf::HEADER
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// The upstream's headers, as sent to the browser. `Content-Length` is kept (the body is passed
/// on byte for byte: the client decompresses nothing), unless the upstream also sent
/// `Transfer-Encoding`, which overrides it (RFC 9112 §6.3).
pub fn downstream_response(upstream: &HeaderMap) -> HeaderMap {
    let length_is_framing = upstream.contains_key(header::TRANSFER_ENCODING);
    upstream
        .iter()
        .filter(|(name, _)| {
            !is_hop_by_hop(name, upstream)
                && *name != header::SET_COOKIE
                && !(length_is_framing && *name == header::CONTENT_LENGTH)
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}
