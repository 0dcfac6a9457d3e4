//! [`SealedCookies`] reads every copy of a name the request carries, the first that opens.

use axum::http::Request;

use super::*;
use crate::settings::Secret;

const KEY: &str = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0";

fn keys() -> KeyRing {
    KeyRing::new(&[Secret::new(KEY)]).unwrap()
}

/// A sealed `name=value` pair as a browser sends it back.
fn sealed(name: &'static str, value: &str) -> String {
    let cookie = keys().seal(attributes(name, value.to_owned()).build());
    format!("{}={}", cookie.name(), cookie.value())
}

/// What a handler reads of `name` through [`SealedCookies`] from a request with these `Cookie`
/// headers, behind the real layers (the jar tower-cookies builds from them keeps only the last
/// copy of a name).
async fn read(headers: &[&str], name: &'static str) -> Option<String> {
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let app = axum::Router::new()
        .route(
            "/",
            get(move |cookies: SealedCookies| async move {
                cookies.read(name).unwrap_or_else(|| "(none)".into())
            }),
        )
        .layer(axum::Extension(keys()))
        .layer(session_layer(keys()));
    let mut request = Request::builder().uri("/");
    for header in headers {
        request = request.header(COOKIE, *header);
    }
    let response = app
        .oneshot(request.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Some(String::from_utf8(body.to_vec()).unwrap()).filter(|value| value != "(none)")
}

#[tokio::test]
async fn every_copy_of_a_name_is_tried_and_the_first_that_opens_wins() {
    let good = sealed(LOGIN, "transactions");
    let junk = format!("{LOGIN}=junk");
    let forged = format!("{LOGIN}=ffffffff.AAAA");
    for headers in [
        vec![format!("{good}; {junk}")],
        vec![format!("{junk}; {good}")],
        vec![format!("{forged}; other=1; {good}; {junk}")],
        vec![junk.clone(), good.clone()],
        vec![good.clone(), junk.clone()],
    ] {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        assert_eq!(
            read(&headers, LOGIN).await.as_deref(),
            Some("transactions"),
            "{headers:?}"
        );
    }
    let first = sealed(LOGIN, "first");
    let second = sealed(LOGIN, "second");
    assert_eq!(
        read(&[&format!("{first}; {second}")], LOGIN).await.as_deref(),
        Some("first")
    );
    // Bound to its name: the login cookie's value under another name does not open.
    let renamed = good.replacen(LOGIN, LOGOUT_HINT, 1);
    assert_eq!(read(&[&renamed], LOGOUT_HINT).await, None);
    assert_eq!(read(&[&junk], LOGIN).await, None);
    assert_eq!(read(&[], LOGIN).await, None);
}

#[test]
fn a_jar_without_request_headers_is_read_as_before() {
    let cookies = Cookies::default();
    let jar = SealedCookies::new(cookies, keys());
    jar.write(LOGIN, "transactions", 60);
    assert_eq!(jar.read(LOGIN).as_deref(), Some("transactions"));
}
