//! Pushed authorization requests (RFC 9126) through the real BFF and a real COOP over HTTP: the
//! BFF pushes the login's request as the confidential client and the browser's authorize URL
//! carries `client_id` and `request_uri` only; `TOPCLUCK_PAR_REQUIRED` against a provider
//! without PAR is refused; a push that fails opens nothing; the silent login's `prompt=none`
//! travels in the pushed request.

mod support;

use std::collections::BTreeSet;

use coop::ParMode;
use reqwest::StatusCode;
use serde_json::Value;
use support::*;

/// The names of `url`'s query parameters.
fn query_names(url: &str) -> BTreeSet<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect()
}

#[tokio::test]
async fn a_pushed_login_sends_the_browser_with_client_id_and_request_uri_only() {
    let (harness, bff) = Harness::with_one_bff().await;
    let (_, challenge) = pkce();
    let (parameters, _) = bff.begin_login(&challenge).await;
    let fields: BTreeSet<&str> = parameters
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["authorize_url", "redirect_uri", "state"]),
        "{parameters}"
    );
    let url = authorize_url(&parameters);
    assert!(url.starts_with(&harness.coop.url("/authorize?")), "{url}");
    assert_eq!(
        query_names(&url),
        BTreeSet::from(["client_id".to_owned(), "request_uri".to_owned()]),
        "scope, nonce, challenge and prompt stay in the pushed request: {url}"
    );
    assert_eq!(query_value(&url, "client_id").as_deref(), Some("topcluck"));
    assert!(
        query_value(&url, "request_uri")
            .unwrap()
            .starts_with("urn:ietf:params:oauth:request_uri:")
    );
    assert_eq!(harness.coop.pushed_requests("ok").await, 1);

    // The whole login, as the SPA and its browser do it.
    let pending = bff.authorize("ada").await;
    assert_eq!(
        query_names(&pending.authorize_url),
        BTreeSet::from(["client_id".to_owned(), "request_uri".to_owned()]),
        "{}",
        pending.authorize_url
    );
    assert_eq!(pending.nonce, None, "the SPA never sees the nonce");
    let response = bff.complete(&pending).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = session_set_cookie(response.headers()).expect("a session");
    let cookie = cookie.split(';').next().unwrap();
    let (status, info) = bff.session(Some(cookie)).await;
    assert_eq!(
        (status, info["farmer"]["sub"].as_str()),
        (StatusCode::OK, Some("ada"))
    );
    // Pushed with the transaction's nonce (the ID token validated) and the SPA's challenge (the
    // code redeemed with its verifier).
    assert_eq!(harness.coop.pushed_requests("ok").await, 2);
    assert_eq!(harness.coop.code_redemptions().await, 1);

    // Daily counting's consent goes the same way, as its own client.
    let enrolled = bff.enrol(cookie, "ada").await;
    assert_eq!(enrolled.status(), StatusCode::OK);
    assert_eq!(harness.coop.pushed_requests("ok").await, 3);
}

#[tokio::test]
async fn par_required_against_a_provider_without_par_is_refused_and_opens_nothing() {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::start_with(&[port], |coop| coop.par = ParMode::Off).await;
    let bff = harness
        .bff_with(listener, NEW_KEY, &[("TOPCLUCK_PAR_REQUIRED", "true")])
        .await;
    let response = bff.start_transaction("/bff/login", &pkce().1, None, &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(
        login_cookie_of(response.headers()).is_none(),
        "no transaction opened"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "bad_gateway");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not offer pushed authorization requests"),
        "{body}"
    );
}

#[tokio::test]
async fn par_required_pushes_every_login_and_a_plain_login_without_the_setting() {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::start(&[port]).await;
    let required = harness
        .bff_with(listener, NEW_KEY, &[("TOPCLUCK_PAR_REQUIRED", "true")])
        .await;
    let pending = required.authorize("ada").await;
    assert!(pending.authorize_url.contains("request_uri="));
    assert_eq!(required.complete(&pending).await.status(), StatusCode::OK);

    // Against a COOP without PAR, the same BFF code sends the whole request from the browser.
    let (_coop, unpushed) = Harness::with_one_bff_and(|coop| coop.par = ParMode::Off).await;
    let pending = unpushed.authorize("ada").await;
    let names = query_names(&pending.authorize_url);
    for name in ["scope", "state", "nonce", "code_challenge", "redirect_uri"] {
        assert!(names.contains(name), "{name} in {}", pending.authorize_url);
    }
    assert!(!names.contains("request_uri"));
    assert_eq!(unpushed.complete(&pending).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_push_that_fails_opens_no_transaction_and_says_why() {
    // A provider that requires PAR: the BFF pushes because discovery names the endpoint.
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::start_with(&[port], |coop| coop.par = ParMode::Required).await;
    let bff = harness.bff(listener, NEW_KEY).await;
    let pending = bff.authorize("ada").await;
    assert_eq!(bff.complete(&pending).await.status(), StatusCode::OK);

    harness
        .faults(serde_json::json!({ "unavailable_seconds": 30 }))
        .await;
    let response = bff.start_transaction("/bff/login", &pkce().1, None, &[]).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        login_cookie_of(response.headers()).is_none(),
        "no transaction opened"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    harness.clear_faults().await;
    assert_eq!(harness.coop.pushed_requests("temporarily_unavailable").await, 1);

    // COOP refuses TopCluck's own credentials at the push: the configuration is at fault.
    let listener = self::listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut wrong = Harness::start_with(&[port], |_| {}).await;
    let bff = wrong
        .bff_with(listener, NEW_KEY, &[("TOPCLUCK_CLIENT_SECRET", "not-the-secret")])
        .await;
    let response = bff.start_transaction("/bff/login", &pkce().1, None, &[]).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(login_cookie_of(response.headers()).is_none());
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "client_misconfigured"
    );
    assert_eq!(wrong.coop.pushed_requests("invalid_client").await, 1);
}

/// A silent login (`prompt=none`) through the BFF, in `browser`: where COOP sent it back, and
/// what finishing it needs.
async fn silent_login(bff: &Bff, browser: &reqwest::Client) -> (Callback, Pending) {
    let (verifier, challenge) = pkce();
    let response = bff
        .start_transaction("/bff/login", &challenge, None, &[("prompt", "none")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let login_cookie = login_cookie_of(response.headers()).unwrap();
    let parameters: Value = response.json().await.unwrap();
    let url = authorize_url(&parameters);
    let answer = browser.get(&url).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "no page: prompt=none");
    let query = query_of(&location(&answer)).into_iter().collect();
    let callback = Callback {
        authorize_url: url.clone(),
        query,
    };
    let pending = Pending {
        verifier,
        state: parameters["state"].as_str().unwrap().to_owned(),
        nonce: query_value(&url, "nonce"),
        code: callback.query.get("code").cloned().unwrap_or_default(),
        redirect_uri: parameters["redirect_uri"].as_str().unwrap().to_owned(),
        login_cookie,
        iss: callback.query.get("iss").cloned(),
        authorize_url: url,
    };
    (callback, pending)
}

#[tokio::test]
async fn a_silent_login_asks_for_no_page_in_the_pushed_request_and_in_a_plain_one() {
    for par in [ParMode::On, ParMode::Off] {
        let (harness, bff) = Harness::with_one_bff_and(|coop| coop.par = par).await;
        // No COOP session in this browser: login_required, back to the SPA with state and iss.
        let (callback, _) = silent_login(&bff, &browser()).await;
        assert_eq!(callback.query["error"], "login_required", "{par:?}");
        assert_eq!(callback.query["iss"], harness.coop.base);
        let names = query_names(&callback.authorize_url);
        match par {
            ParMode::Off => assert!(callback.authorize_url.contains("prompt=none")),
            _ => assert_eq!(names.len(), 2, "{}", callback.authorize_url),
        }

        // A browser with a live COOP session (bert logged in there through an earlier login)
        // gets a code at once, and the BFF a session.
        let browser = browser();
        let (parameters, _) = bff.begin_login(&pkce().1).await;
        sign_in(&browser, &authorize_url(&parameters), "bert", false).await;
        let (callback, pending) = silent_login(&bff, &browser).await;
        assert!(
            callback.query.contains_key("code"),
            "{par:?}: {:?}",
            callback.query
        );
        let response = bff.complete(&pending).await;
        assert_eq!(response.status(), StatusCode::OK, "{par:?}");
        let info: Value = response.json().await.unwrap();
        assert_eq!(info["farmer"]["sub"], "bert");
    }
}

/// Opening a login needs no session, and each one pushes a request to the provider as
/// TopCluck's client: one address gets a burst, then waits — refused before COOP is asked.
#[tokio::test]
async fn opening_logins_is_limited_per_address_before_anything_is_pushed() {
    let (harness, bff) = Harness::with_one_bff().await;
    let (_, challenge) = pkce();
    let burst = server::bff::OPENINGS_BURST as u64;
    for _ in 0..burst {
        let response = bff.start_transaction("/bff/login", &challenge, None, &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let refused = bff.start_transaction("/bff/login", &challenge, None, &[]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(
        harness.coop.pushed_requests("ok").await,
        burst,
        "the refused opening pushed nothing"
    );
}
