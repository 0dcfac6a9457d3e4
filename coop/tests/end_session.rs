//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) over HTTP: a valid
//! `id_token_hint` logs out at once (expired or not); without one, the farmer confirms on a
//! "Log out of COOP?" page whose form carries a CSRF token.

use coop::testkit::*;
use reqwest::StatusCode;

/// The hidden fields of the confirmation form, as a form to post back.
fn confirmation_form(page: &str) -> Vec<(String, String)> {
    ["client_id", "post_logout_redirect_uri", "state", "csrf"]
        .into_iter()
        .filter(|name| page.contains(&format!(r#"name="{name}""#)))
        .map(|name| (name.to_owned(), hidden(page, name)))
        .collect()
}

#[tokio::test]
async fn without_a_hint_the_farmer_confirms_then_is_logged_out_and_sent_back() {
    let coop = TestCoop::start().await;
    let (browser, tokens) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
    let asked = browser
        .get(coop.end_session_url(&[
            ("client_id", "topcluck"),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", "bye & <back>"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::OK);
    let page = asked.text().await.unwrap();
    assert!(
        page.contains("Log out of COOP?") && page.contains("as ada"),
        "{page}"
    );
    assert!(coop.session_alive(&browser).await, "asking ends nothing");
    assert!(coop.token_alive(&tokens.access_token).await);

    let form = confirmation_form(&page);
    assert_eq!(form.len(), 4, "{form:?}");
    // The same form from a browser without the CSRF cookie is refused.
    let stranger = fetch(backend().post(coop.url("/end-session")).form(&form)).await;
    assert_eq!(stranger.status(), StatusCode::FORBIDDEN);
    assert!(coop.session_alive(&browser).await);

    let confirmed = fetch(browser.post(coop.url("/end-session")).form(&form)).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let back = location(&confirmed);
    assert!(back.starts_with(POST_LOGOUT_URI), "{back}");
    assert_eq!(query_of(&back)["state"], "bye & <back>");
    assert!(!coop.session_alive(&browser).await);
    assert!(
        !coop.token_alive(&tokens.access_token).await,
        "the online grant is revoked"
    );
}

#[tokio::test]
async fn a_confirmed_logout_without_a_redirect_says_so_and_a_farmer_without_session_is_not_asked() {
    let coop = TestCoop::start().await;
    let (browser, _) = coop.browser_login("topcluck", "openid", "bert").await;
    let page = text_of(browser.get(coop.end_session_url(&[]))).await;
    let done = fetch(
        browser
            .post(coop.url("/end-session"))
            .form(&confirmation_form(&page)),
    )
    .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("You are logged out of COOP"));
    assert!(!coop.session_alive(&browser).await);

    // Nothing left to end: no question, straight back to the registered URI.
    let again = browser
        .get(coop.end_session_url(&[
            ("client_id", "topcluck"),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&again), POST_LOGOUT_URI);
}

#[tokio::test]
async fn an_expired_hint_still_logs_out_at_once_and_so_does_the_bffs_full_request() {
    let coop = TestCoop::start().await;
    let (browser, tokens) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
    coop.advance_clock(3600).await; // the ID token lived 300 s
    let response = browser
        .get(coop.end_session_url(&[
            ("id_token_hint", tokens.id_token.as_deref().unwrap()),
            ("client_id", "topcluck"),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", "s1"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{POST_LOGOUT_URI}?state=s1"));
    assert!(!coop.session_alive(&browser).await);
}

#[tokio::test]
async fn a_hint_for_another_farmer_than_this_browsers_asks_first() {
    let coop = TestCoop::start().await;
    let (browser, _) = coop.browser_login("topcluck", "openid", "ada").await;
    let (_, bert) = coop.browser_login("topcluck", "openid", "bert").await;
    let response =
        fetch(browser.get(coop.end_session_url(&[("id_token_hint", bert.id_token.as_deref().unwrap())])))
            .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("Log out of COOP?"));
    assert!(coop.session_alive(&browser).await);
}
