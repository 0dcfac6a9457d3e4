//! COOP's consent page (`prompt=consent`): which client asks, what for, in words, and an Allow
//! and a Deny button. `request` is the original authorization request, carried in a hidden
//! field, with the session-bound CSRF token. Everything inserted is escaped.

use axum::response::Html;

use super::page::{escape, page};
use crate::scope::Scopes;

/// The page for `client_name` asking `username` for `scope`.
pub fn render(client_name: &str, username: &str, scope: &Scopes, request: &str, csrf: &str) -> Html<String> {
    let title = if !scope.contains("offline_access") {
        format!("{client_name} wants to use your COOP account")
    } else if scope.contains("eggs:read") {
        format!("{client_name} wants to count your eggs while you are away")
    } else {
        format!("{client_name} wants access while you are away")
    };
    let items: String = scope
        .in_words()
        .into_iter()
        .map(|words| format!("\n  <li>{}</li>", escape(words)))
        .collect();
    let away = if scope.contains("offline_access") {
        "<p>It keeps this access after you log out of COOP, until you turn it off in the app.</p>\n"
    } else {
        ""
    };
    page(
        &title,
        &format!(
            r#"<p>You are logged in to COOP as {username}. {client} asks to:</p>
<ul>{items}
</ul>
{away}<form method="post" action="/authorize/consent">
  <input type="hidden" name="request" value="{request}">
  <input type="hidden" name="csrf" value="{csrf}">
  <button type="submit" name="decision" value="allow">Allow</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>"#,
            username = escape(username),
            client = escape(client_name),
            request = escape(request),
            csrf = escape(csrf),
        ),
    )
}
