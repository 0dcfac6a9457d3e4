//! COOP's HTML: the login form and plain message pages. Everything inserted is escaped.

use axum::response::Html;

/// The login form; `request` is the original authorization request, carried in a hidden field.
pub fn render(request: &str, login_hint: Option<&str>, csrf: &str, error: Option<&str>) -> Html<String> {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    page(
        "Log in to COOP",
        &format!(
            r#"<form method="post" action="/authorize/login">
  {error}
  <label for="username">Farmer name</label>
  <input id="username" name="username" autocomplete="username" required autofocus value="{hint}">
  <input type="hidden" name="request" value="{request}">
  <input type="hidden" name="csrf" value="{csrf}">
  <button type="submit">Log in</button>
</form>"#,
            hint = escape(login_hint.unwrap_or_default()),
            request = escape(request),
            csrf = escape(csrf),
        ),
    )
}

/// A page that says one thing.
pub fn message_page(title: &str, message: &str) -> Html<String> {
    page(title, &format!("<p>{}</p>", escape(message)))
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · COOP</title>
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem;color:#2d2a1f}}
h1{{font-size:1.4rem}}label{{display:block;margin:.5rem 0 .25rem}}input{{font:inherit;width:100%;padding:.4rem}}
button{{font:inherit;margin-top:1rem;padding:.4rem 1.2rem}}.error{{color:#a0301c}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"#,
        title = escape(title),
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
