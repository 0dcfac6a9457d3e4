//! COOP's login form; `request` is the original authorization request, carried in a hidden
//! field. Everything inserted is escaped.

use axum::response::Html;

use super::page::{escape, page};

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
