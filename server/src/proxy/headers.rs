//! Which headers cross the proxy, in each direction.
//!
//! | direction | dropped | why |
//! | --- | --- | --- |
//! | both | hop-by-hop headers (RFC 9110 §7.6.1) and any header `Connection` names | they are about one connection, not the message |
//! | browser → API | `Cookie`, `Authorization`, `X-CSRF`, `Origin`, `Host`, `Content-Length` | the session cookie is the BFF's; the BFF sets its own bearer token, host and length |
//! | browser → API | `Forwarded`, `X-Forwarded-*`, `X-Real-IP`, `Proxy-*` | a browser must not tell the API who or where it is; the egg API needs none, so the BFF adds none either |
//! | browser → API | `X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override`, `X-Original-URL`, `X-Rewrite-URL` | servers that honour them would take another method or path than the one the proxy allowed |
//! | API → browser | `Set-Cookie`, `Clear-Site-Data`, `Access-Control-*`, `Strict-Transport-Security`, `Alt-Svc` | they speak for this whole origin (its cookies, storage, CORS, transport), which is the BFF's, not the API's |
//!
//! Caching of the answer is decided in [`super::response`] and `crate::edges`, not here.

use axum::http::{HeaderMap, HeaderName, header};

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

const NOT_FROM_THE_BROWSER: [&str; 13] = [
    "host",
    "cookie",
    "authorization",
    "origin",
    "content-length",
    crate::bff::csrf::HEADER,
    "forwarded",
    "x-real-ip",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
];

const NOT_FROM_THE_API: [&str; 4] = [
    "set-cookie",
    "clear-site-data",
    "strict-transport-security",
    "alt-svc",
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

fn may_go_upstream(name: &HeaderName, incoming: &HeaderMap) -> bool {
    let name_str = name.as_str();
    !NOT_FROM_THE_BROWSER.contains(&name_str)
        && !name_str.starts_with("x-forwarded-")
        && !name_str.starts_with("proxy-")
        && !is_hop_by_hop(name, incoming)
}

fn may_reach_the_browser(name: &HeaderName, upstream: &HeaderMap) -> bool {
    let name_str = name.as_str();
    !NOT_FROM_THE_API.contains(&name_str)
        && !name_str.starts_with("access-control-")
        && !is_hop_by_hop(name, upstream)
}

/// The browser's headers, as sent upstream.
pub fn upstream_request(incoming: &HeaderMap) -> HeaderMap {
    incoming
        .iter()
        .filter(|(name, _)| may_go_upstream(name, incoming))
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
            may_reach_the_browser(name, upstream) && !(length_is_framing && *name == header::CONTENT_LENGTH)
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse::<HeaderName>().unwrap(), v.parse().unwrap()))
            .collect()
    }

    fn names(map: &HeaderMap) -> Vec<&str> {
        map.keys().map(HeaderName::as_str).collect()
    }

    #[test]
    fn the_browser_cannot_speak_for_the_bff() {
        let incoming = headers(&[
            ("accept", "application/json"),
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-host", "evil"),
            ("forwarded", "for=6.6.6.6"),
            ("x-real-ip", "6.6.6.6"),
            ("proxy-authorization", "Basic x"),
            ("proxy-connection", "keep-alive"),
            ("proxy-anything", "x"),
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("cookie", "a=b"),
            ("authorization", "Bearer x"),
            ("x-csrf", "1"),
            ("x-http-method-override", "DELETE"),
            ("x-original-url", "/admin"),
            ("if-none-match", "\"v1\""),
        ]);
        assert_eq!(names(&upstream_request(&incoming)), ["accept", "if-none-match"]);
    }

    #[test]
    fn the_api_cannot_speak_for_the_origin() {
        let upstream = headers(&[
            ("content-type", "application/json"),
            ("set-cookie", "a=b"),
            ("access-control-allow-origin", "*"),
            ("access-control-allow-credentials", "true"),
            ("clear-site-data", "\"*\""),
            ("strict-transport-security", "max-age=1"),
            ("alt-svc", "h2=\":1\""),
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("etag", "\"v1\""),
        ]);
        assert_eq!(names(&downstream_response(&upstream)), ["content-type", "etag"]);
    }
}
