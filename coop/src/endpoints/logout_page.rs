//! The "Log out of COOP?" page: `/end-session` without a valid `id_token_hint` asks the farmer
//! before ending their COOP session (OpenID Connect RP-Initiated Logout 1.0 §2). Its form
//! posts back to `/end-session` with the logout request and a CSRF token.

use axum::response::Html;

use super::page::{escape, page};

/// `fields` are the logout request's parameters, carried in hidden inputs.
pub fn render(username: &str, fields: &[(&str, &str)], csrf: &str) -> Html<String> {
    let hidden: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                "\n  <input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect();
    page(
        "Log out of COOP?",
        &format!(
            r#"<p>You are logged in to COOP as {username}. An application asks to log you out.</p>
<form method="post" action="/end-session">{hidden}
  <input type="hidden" name="csrf" value="{csrf}">
  <button type="submit">Log out</button>
</form>"#,
            username = escape(username),
            csrf = escape(csrf),
        ),
    )
}
