//! No input makes COOP answer 500: a bounded set of malformed requests to every endpoint.

use coop::testkit::*;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn malformed_requests_never_get_a_5xx() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    let bodies: [&[u8]; 8] = [
        b"",
        b"grant_type",
        b"grant_type=authorization_code&grant_type=refresh_token",
        b"grant_type=authorization_code",
        b"grant_type=refresh_token",
        b"grant_type=password&username=a&password=b",
        b"%zz=%zz&code=\xff\xfe",
        b"grant_type=authorization_code&code=x&redirect_uri=y&code_verifier=z",
    ];
    let client = backend();
    for path in ["/token", "/revoke", "/authorize/login", "/userinfo", "/api/eggs"] {
        for body in bodies {
            for auth in [None, Some(("topcluck", SECRET))] {
                let mut request = client
                    .post(coop.url(path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.to_vec());
                if let Some((id, secret)) = auth {
                    request = request.basic_auth(id, Some(secret));
                }
                let status = request.send().await.unwrap().status();
                assert!(
                    status.is_client_error(),
                    "{path} {:?} → {status}",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }
    for query in [
        "",
        "?",
        "?client_id=topcluck",
        "?client_id=topcluck&client_id=x",
        "?%ff",
        "?redirect_uri=%00&client_id=topcluck",
        "?post_logout_redirect_uri=x",
        "?id_token_hint=a.b.c&post_logout_redirect_uri=http://127.0.0.1:3000/",
    ] {
        for path in ["/authorize", "/end-session"] {
            let status = client
                .get(format!("{}{query}", coop.url(path)))
                .send()
                .await
                .unwrap()
                .status();
            assert!(status.as_u16() < 500, "{path}{query} → {status}");
        }
    }
    for (method, path) in [
        (Method::GET, "/api/me"),
        (Method::DELETE, "/api/eggs"),
        (Method::PUT, "/token"),
        (Method::GET, "/nope"),
    ] {
        let status = client
            .request(method.clone(), coop.url(path))
            .bearer_auth(&tokens.access_token)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.as_u16() < 500, "{method} {path} → {status}");
    }
    let weird_header = client
        .get(coop.url("/api/eggs"))
        .header("authorization", "Bearer \u{7f}")
        .send()
        .await;
    assert!(weird_header.map_or(true, |r| r.status() == StatusCode::UNAUTHORIZED));
}
