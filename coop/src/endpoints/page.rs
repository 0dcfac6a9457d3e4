//! The frame of COOP's HTML pages, and plain message pages. Everything inserted is escaped.
//! The headers every HTML page is sent with (CSP, `X-Frame-Options`) are added in one place:
//! [`crate::html_headers`].

use axum::response::Html;

/// The only style COOP's pages have, inline; the CSP allows it by its hash.
pub const STYLE: &str =
    "body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem;color:#2d2a1f}
h1{font-size:1.4rem}label{display:block;margin:.5rem 0 .25rem}input{font:inherit;width:100%;padding:.4rem}
button{font:inherit;margin-top:1rem;padding:.4rem 1.2rem}.error{color:#a0301c}";

/// A page that says one thing.
pub fn message_page(title: &str, message: &str) -> Html<String> {
    page(title, &format!("<p>{}</p>", escape(message)))
}

/// A page with `title` and `body` (HTML, already escaped where it must be).
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · COOP</title>
<style>{STYLE}</style></head>
<body><h1>{title}</h1>{body}</body></html>"#,
        title = escape(title),
    ))
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
