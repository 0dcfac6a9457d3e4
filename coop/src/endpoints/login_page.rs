//! COOP's login form; `request` is the original authorization request, carried in a hidden
//! field. Everything inserted is escaped. A refused name is said above the form, and the field
//! is marked invalid and described by that sentence (WCAG 3.3.1), so a screen reader says it
//! when the field takes the focus.

use axum::response::Html;

use super::page::{escape, page};

pub fn render(request: &str, login_hint: Option<&str>, csrf: &str, error: Option<&str>) -> Html<String> {
    let (error, invalid) = match error {
        Some(e) => (
            format!(
                r#"<p id="username-error" class="error" role="alert">{}</p>"#,
                escape(e)
            ),
            r#" aria-invalid="true" aria-describedby="username-error""#,
        ),
        None => (String::new(), ""),
    };
    page(
        "Log in to COOP",
        &format!(
            r#"<form method="post" action="/authorize/login">
  {error}
  <label for="username">Farmer name</label>
  <input id="username" name="username" autocomplete="username" required autofocus value="{hint}"{invalid}>
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

#[cfg(test)]
mod tests {
    use super::{Html, render};

    #[test]
    fn a_refused_name_marks_the_field_invalid_and_describes_it() {
        let Html(page) = render("r", None, "c", Some("COOP has no farmer named <x>."));
        assert!(page.contains(
            r#"<p id="username-error" class="error" role="alert">COOP has no farmer named &lt;x&gt;.</p>"#
        ));
        assert!(page.contains(r#"aria-invalid="true" aria-describedby="username-error">"#));
    }

    #[test]
    fn without_an_error_the_field_is_plain() {
        let Html(page) = render("r", Some("bert"), "c", None);
        assert!(page.contains(r#"autofocus value="bert">"#));
        assert!(!page.contains("aria-invalid"));
        assert!(!page.contains("username-error"));
    }
}
