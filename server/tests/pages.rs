//! The server's routes, driven in-process with `tower::ServiceExt::oneshot`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use server::oidc::Provider;
use server::session::sealing::KeyRing;
use server::settings::{Secret, Settings};
use server::state::AppState;
use tower::ServiceExt;

/// The app with a provider that is never called by these pages.
fn app() -> axum::Router {
    let options = LeptosOptions::builder().output_name("topcluck").build();
    let site = url::Url::parse("http://127.0.0.1:3000").unwrap();
    let vars = [
        ("TOPCLUCK_ISSUER", "http://127.0.0.1:9"),
        ("TOPCLUCK_CLIENT_SECRET", "unused"),
        (
            "TOPCLUCK_COOKIE_KEYS",
            "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let settings = Settings::from_vars(&vars, &site, true, std::path::Path::new("unused")).unwrap();
    let keys = KeyRing::new(&settings.cookie_keys).unwrap();
    let provider = Provider::new(
        "http://127.0.0.1:9",
        "topcluck",
        Secret::new("unused"),
        "http://127.0.0.1:3000/callback",
    );
    let state = AppState::new(options, settings, provider);
    server::app(state, keys)
}

async fn get(path: &str) -> (StatusCode, String) {
    let response = app()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn healthz_answers_ok() {
    let (status, body) = get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn home_page_is_server_rendered_with_hydration_scripts() {
    let (status, body) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Count your eggs, not your logins."), "{body}");
    assert!(body.contains("<title>Home · TopCluck</title>"), "{body}");
    assert!(body.contains("/pkg/topcluck.js"), "no hydration script in {body}");
    assert!(
        body.contains(r#"aria-expanded="false""#),
        "menu not rendered closed: {body}"
    );
}

#[tokio::test]
async fn unknown_path_renders_the_404_page_with_status_404() {
    let (status, body) = get("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"), "{body}");
}
