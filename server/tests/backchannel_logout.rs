//! OpenID Connect Back-Channel Logout 1.0 against a real COOP over HTTP: COOP, registered with
//! TopCluck's `/bff/backchannel-logout` as the login client's back-channel logout URI, posts its
//! logout tokens there when the farmer logs out of COOP (a token with `sub` and the COOP
//! session's `sid`) or when the farmer's grants of the login client are revoked (`sub` alone).
//!
//! - Two server processes on one PostgreSQL store: a logout at COOP ends the session on both
//!   within a second; the table of malformed logout tokens, a replay refused on the other
//!   process too.
//! - One in-process BFF on each store (SQLite, PostgreSQL): the table; a `sid` ends only its own
//!   session, a `sub` all of the farmer's; the daily job's offline grant outlives both kinds.
//!
//! `/bff/session` is what proves a session ended here: it never calls COOP, so only the BFF's
//! own record of the ended session (not COOP's revoked grant) can refuse it.

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::counting::{FarmerResult, Job};
use support::processes::{ServerProcess, deployment_vars};
use support::stores::Store;
use support::*;

/// The bound on the other process, and how often the cookie is tried meanwhile.
const WITHIN: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_millis(50);
const CASE_LIMIT: Duration = Duration::from_secs(150);

/// The process cases one at a time: their timing is not to be measured on two busy cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// COOP registers `http://127.0.0.1:{port}/bff/backchannel-logout` for the login client.
fn posting_to(port: u16) -> impl FnOnce(&mut coop::Config) {
    move |config| {
        config.backchannel_logout_uris.insert(
            "topcluck".into(),
            format!("http://127.0.0.1:{port}/bff/backchannel-logout"),
        );
    }
}

/// COOP and one in-process BFF with a vault on `store`, COOP posting logout tokens to it.
struct Farm {
    harness: Harness,
    bff: Bff,
    /// The PostgreSQL store's database, when the store is PostgreSQL.
    database_url: Option<String>,
}

impl Farm {
    async fn start(store: Store) -> Farm {
        let listener = listener().await;
        let port = listener.local_addr().unwrap().port();
        let mut harness = Harness::start_with(&[port], posting_to(port)).await;
        // The malformed table sends more requests in a row than the route's default burst.
        let mut extra = vec![
            ("TOPCLUCK_VAULT_KEYS".to_owned(), VAULT_KEYS.to_owned()),
            ("TOPCLUCK_BACKCHANNEL_LOGOUT_BURST".to_owned(), "1000".to_owned()),
        ];
        let database_url = match store {
            Store::Postgres => Some(support::postgres::Cluster::shared().database().await),
            Store::Sqlite => None,
        };
        if let Some(url) = &database_url {
            extra.push(("TOPCLUCK_DATABASE_URL".to_owned(), url.clone()));
        }
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let bff = harness.bff_with(listener, NEW_KEY, &extra).await;
        Farm {
            harness,
            bff,
            database_url,
        }
    }

    fn coop(&self) -> &TestCoop {
        &self.harness.coop
    }

    fn job(&self) -> Job {
        Job::from_state(self.bff.state.as_ref().unwrap()).unwrap()
    }

    fn vault(&self) -> &server::vault::Vault {
        self.bff.state.as_ref().unwrap().vault.as_ref().unwrap()
    }

    /// The refresh token of `farmer`'s offline grant in the vault.
    async fn vault_token(&self, farmer: &str) -> Option<String> {
        let owner = server::vault::Owner {
            issuer: self.coop().base.clone(),
            subject: farmer.to_owned(),
            client_id: COUNTING_CLIENT.into(),
        };
        self.vault().refresh_token(&owner).await.unwrap()
    }

    /// One run of the daily job today: each farmer's result.
    async fn count(&self) -> Vec<(String, FarmerResult)> {
        let state = self.bff.state.as_ref().unwrap();
        let today = state.settings.daily_count.day(state.clock.now());
        self.job().run(today).await.unwrap().farmers
    }
}

async fn run<F: Future<Output = ()>>(store: Store, case: impl FnOnce(Farm) -> F) {
    let farm = Farm::start(store).await;
    tokio::time::timeout(CASE_LIMIT, case(farm))
        .await
        .expect("the case took too long");
}

on_both_stores!(
    every_malformed_logout_token_is_refused,
    a_sid_ends_its_own_session_and_a_sub_all_of_the_farmers,
    the_offline_grant_outlives_back_channel_logouts,
);

/// `GET /bff/session`'s status with this cookie at `bff`.
async fn session(bff: &Spa, cookie: &str) -> StatusCode {
    bff.session(Some(cookie)).await.0
}

/// A POST to `base`'s back-channel logout endpoint: its status, headers and JSON body.
async fn post(base: &str, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> Answer {
    let mut request = http().post(format!("{base}/bff/backchannel-logout")).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    Answer::read(request.send().await.unwrap()).await
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

/// `token` as the provider posts it.
async fn post_token(base: &str, token: &str) -> Answer {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", token)
        .finish();
    post(base, FORM, body).await
}

/// One row: `answer` must be `expected` (`"400 invalid_request"` or `"200"`) with
/// `Cache-Control: no-store`, and its `error_description` must contain `reason` (printed after
/// the code: the row shows why it was refused).
fn row(table: &mut BadInputs, request: &str, expected: &str, reason: &str, answer: &Answer) -> bool {
    let code = status_and_code(answer.status, &answer.body);
    let description = answer.body["error_description"].as_str().unwrap_or_default();
    assert!(
        !description.contains("eyJ"),
        "a token in the answer: {description}"
    );
    let no_store = answer
        .headers
        .get("cache-control")
        .is_some_and(|v| v == "no-store");
    let held = code == expected && description.contains(reason) && no_store;
    let mut seen = match description {
        "" => code,
        description => format!("{code} ({description})"),
    };
    if !no_store {
        seen.push_str(" without Cache-Control: no-store");
    }
    let expected = match reason {
        "" => expected.to_owned(),
        reason => format!("{expected} (…{reason}…)"),
    };
    table.row_held(
        "backchannel-logout",
        request,
        &expected,
        &seen,
        held,
        answer.status,
    )
}

/// The malformed logout tokens and requests, each refused with 400 `invalid_request` and
/// `no-store` at `a` while a session of ada is alive there (and it stays alive); then a good
/// token is accepted (200, the session ends), and replayed to `a` and to each of `others`:
/// refused.
async fn malformed_table(coop: &TestCoop, a: &Spa, others: &[&Spa], cookie: &str) {
    let good = || coop.logout_claims("topcluck", Some("ada"), None);
    let with = |changes: Value| {
        let mut claims = good();
        for (name, value) in changes.as_object().unwrap() {
            match value {
                Value::Null => drop(claims.as_object_mut().unwrap().remove(name)),
                value => claims[name] = value.clone(),
            }
        }
        claims
    };
    let signed = |changes: Value| coop.logout_token(&with(changes));
    let typed = |typ: &str| {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(typ.to_owned());
        header
    };
    let now = coop.clock().now_s();
    let b64 = |value: &Value| {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(value).unwrap(),
        )
    };
    let mut tampered = coop.logout_token(&good());
    let at = tampered.len() - 10;
    let flipped = if &tampered[at..=at] == "A" { "B" } else { "A" };
    tampered.replace_range(at..=at, flipped);
    let foreign = |kid: &str| scripted_provider::Key::new(9, kid).sign_with(typed("logout+jwt"), &good());
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.typ = Some("logout+jwt".into());
    let hmac = jsonwebtoken::encode(&hs256, &good(), &EncodingKey::from_secret(SECRET.as_bytes())).unwrap();
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "logout+jwt" })),
        b64(&good())
    );
    let tokens: Vec<(&str, String, &str)> = vec![
        (
            "bad signature (one character changed)",
            tampered,
            "signature does not verify",
        ),
        (
            "signed by a foreign key under COOP's kid",
            foreign(&coop.key_id()),
            "signature does not verify",
        ),
        (
            "signed by a foreign key, unknown kid",
            foreign("stranger"),
            "no key of the provider",
        ),
        ("alg none", unsigned, "none or symmetric"),
        (
            "alg HS256 keyed with the client secret",
            hmac,
            "none or symmetric",
        ),
        (
            "wrong iss",
            signed(json!({ "iss": format!("{}/", coop.base) })),
            "iss is not the provider",
        ),
        (
            "wrong aud",
            signed(json!({ "aud": "someone-else" })),
            "aud is not this client alone",
        ),
        (
            "the daily counting client's aud",
            signed(json!({ "aud": COUNTING_CLIENT })),
            "aud is not this client alone",
        ),
        (
            "aud: this client and another",
            signed(json!({ "aud": ["topcluck", "other"] })),
            "aud is not this client alone",
        ),
        (
            "iat 2 minutes in the future",
            signed(json!({ "iat": now + 120, "exp": now + 240 })),
            "in the future",
        ),
        (
            "expired (exp a minute ago)",
            signed(json!({ "iat": now - 180, "exp": now - 60 })),
            "has expired",
        ),
        (
            "no exp (issued now)",
            signed(json!({ "exp": null })),
            "exp is missing",
        ),
        (
            "exp = i64::MAX",
            signed(json!({ "exp": i64::MAX })),
            "within 0..2^53",
        ),
        ("exp = 1e300", signed(json!({ "exp": 1e300 })), "within 0..2^53"),
        (
            "exp = 2^53",
            signed(json!({ "exp": 1u64 << 53 })),
            "within 0..2^53",
        ),
        ("iat = -1e300", signed(json!({ "iat": -1e300 })), "within 0..2^53"),
        (
            "iat = i64::MIN",
            signed(json!({ "iat": i64::MIN })),
            "within 0..2^53",
        ),
        ("no iat", signed(json!({ "iat": null })), "iat: missing"),
        ("no jti", signed(json!({ "jti": null })), "no jti"),
        ("no events", signed(json!({ "events": null })), "events: missing"),
        (
            "events an array (an early draft's)",
            signed(json!({ "events": [LOGOUT_EVENT] })),
            "not a JSON object",
        ),
        (
            "events without the back-channel member",
            signed(json!({ "events": { "urn:other": {} } })),
            "no back-channel logout member",
        ),
        (
            "the member is not an object",
            signed(json!({ "events": { LOGOUT_EVENT: "yes" } })),
            "member is not a JSON object",
        ),
        (
            "neither sub nor sid",
            signed(json!({ "sub": null })),
            "neither sub nor sid",
        ),
        (
            "sub not a string",
            signed(json!({ "sub": 42 })),
            "not a non-empty string",
        ),
        (
            "a nonce (an ID token's claim)",
            signed(json!({ "nonce": "n-1" })),
            "has a nonce",
        ),
        (
            "typ JWT (an ID token's)",
            coop.logout_token_with(typed("JWT"), &good()),
            "typ is not logout+jwt",
        ),
        (
            "typ at+jwt (an access token's)",
            coop.logout_token_with(typed("at+jwt"), &good()),
            "typ is not logout+jwt",
        ),
        ("not a JWT", "hello".to_owned(), "not a signed JWT"),
        (
            "five parts (encrypted)",
            "a.b.c.d.e".to_owned(),
            "not a signed JWT",
        ),
        (
            "two parts",
            format!("{}.{}", b64(&json!({ "alg": "ES256" })), b64(&good())),
            "not three parts",
        ),
    ];
    let mut table = BadInputs::default();
    for (request, token, reason) in &tokens {
        let answer = post_token(&a.url(""), token).await;
        row(&mut table, request, "400 invalid_request", reason, &answer);
    }
    let fresh = coop.logout_token(&good());
    let form = |pairs: &[(&str, &str)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let requests: Vec<(&str, Option<&str>, String, &str)> = vec![
        ("empty body", FORM, String::new(), "one non-empty logout_token"),
        (
            "no logout_token field",
            FORM,
            form(&[("token", &fresh)]),
            "one non-empty logout_token",
        ),
        (
            "an empty logout_token",
            FORM,
            form(&[("logout_token", "")]),
            "one non-empty logout_token",
        ),
        (
            "two logout_token fields",
            FORM,
            form(&[("logout_token", &fresh), ("logout_token", &fresh)]),
            "one non-empty logout_token",
        ),
        (
            "JSON instead of a form",
            Some("application/json"),
            json!({ "logout_token": fresh }).to_string(),
            "x-www-form-urlencoded",
        ),
        (
            "no Content-Type",
            None,
            form(&[("logout_token", &fresh)]),
            "x-www-form-urlencoded",
        ),
        (
            "a 100 KB body",
            FORM,
            format!("logout_token={}", "a".repeat(100_000)),
            "too large",
        ),
    ];
    for (request, content_type, body, reason) in requests {
        let answer = post(&a.url(""), content_type, body).await;
        row(&mut table, request, "400 invalid_request", reason, &answer);
    }
    assert_eq!(
        session(a, cookie).await,
        StatusCode::OK,
        "a refused token ended nothing"
    );

    let accepted = post_token(&a.url(""), &fresh).await;
    row(&mut table, "a good token (sub only)", "200", "", &accepted);
    assert_eq!(accepted.body, Value::Null, "an empty body");
    let again = post_token(&a.url(""), &fresh).await;
    row(
        &mut table,
        "the same token again",
        "400 invalid_request",
        "already used",
        &again,
    );
    for other in others {
        let elsewhere = post_token(&other.url(""), &fresh).await;
        row(
            &mut table,
            "the same token, at the other instance",
            "400 invalid_request",
            "already used",
            &elsewhere,
        );
    }
    table.finish();
    assert_eq!(
        session(a, cookie).await,
        StatusCode::UNAUTHORIZED,
        "the good token ended it"
    );
}

async fn every_malformed_logout_token_is_refused(farm: Farm) {
    let cookie = farm.bff.login_at_coop(&browser(), "ada").await;
    malformed_table(farm.coop(), &farm.bff, &[], &cookie).await;
}

/// Two COOP sessions of ada (two browsers), a TopCluck session each: logging out of COOP in the
/// first ends only the first (its `sid`); revoking ada's grants of the login client (a logout
/// token with `sub` alone) ends the second. Bert's session outlives both.
async fn a_sid_ends_its_own_session_and_a_sub_all_of_the_farmers(farm: Farm) {
    let (first_browser, second_browser) = (browser(), browser());
    let first = farm.bff.login_at_coop(&first_browser, "ada").await;
    let second = farm.bff.login_at_coop(&second_browser, "ada").await;
    let bert = farm.bff.login_at_coop(&browser(), "bert").await;

    let answer = farm.coop().end_session_confirmed(&first_browser).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(session(&farm.bff, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        session(&farm.bff, &second).await,
        StatusCode::OK,
        "another COOP session's"
    );

    let (status, _) = farm
        .coop()
        .revoke_grants(json!({ "username": "ada", "client_id": "topcluck" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session(&farm.bff, &second).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        session(&farm.bff, &bert).await,
        StatusCode::OK,
        "another farmer's"
    );
    assert_eq!(
        farm.coop().backchannel_logouts().await,
        json!({ "topcluck": { "200": 2 } })
    );
}

/// Ada has daily counting on. Logging out of COOP ends her TopCluck session, not her offline
/// grant: the vault row is the same and the daily job counts. Then a new session, and her grants
/// of the login client revoked (a `sub`-only logout token): the session ends again; the vault
/// row and the count stay.
async fn the_offline_grant_outlives_back_channel_logouts(farm: Farm) {
    let coop_browser = browser();
    let cookie = farm.bff.login_at_coop(&coop_browser, "ada").await;
    let enrolled = farm.bff.enrol(&cookie, "ada").await;
    assert_eq!(enrolled.status(), StatusCode::OK);
    let vault_token = farm.vault_token("ada").await.expect("ada's offline grant");

    let answer = farm.coop().end_session_confirmed(&coop_browser).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(session(&farm.bff, &cookie).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        farm.vault_token("ada").await.as_ref(),
        Some(&vault_token),
        "the vault row is intact"
    );
    let counted = farm.count().await;
    assert!(
        matches!(counted[..], [(_, FarmerResult::Counted { .. })]),
        "{counted:?}"
    );

    let again = farm.bff.login_at_coop(&browser(), "ada").await;
    let (status, _) = farm
        .coop()
        .revoke_grants(json!({ "username": "ada", "client_id": "topcluck" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session(&farm.bff, &again).await, StatusCode::UNAUTHORIZED);
    assert!(farm.vault_token("ada").await.is_some(), "the vault row is intact");
    let counted = farm.count().await;
    assert!(
        matches!(counted[..], [(_, FarmerResult::Counted { .. })]),
        "{counted:?}"
    );
    assert_eq!(
        farm.coop().backchannel_logouts().await,
        json!({ "topcluck": { "200": 2 } })
    );
    let reuses = farm.harness.counters().await["reuse_detections"].clone();
    assert_eq!(reuses, 0);
}

/// The session registry cannot be written (its table renamed away under the running BFF): the
/// login fails before any cookie is written, and the grant COOP made for it is revoked — a
/// session the provider could never end is not started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_whose_session_cannot_be_registered_fails_and_its_grant_is_revoked() {
    let farm = Farm::start(Store::Postgres).await;
    let database = sqlx::PgPool::connect(farm.database_url.as_deref().unwrap())
        .await
        .unwrap();
    sqlx::query("ALTER TABLE session_registry RENAME TO session_registry_away")
        .execute(&database)
        .await
        .unwrap();
    let pending = farm.bff.authorize("ada").await;
    let response = farm.bff.complete(&pending).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        session_set_cookie(response.headers()).is_none(),
        "no session cookie"
    );
    let started = Instant::now();
    loop {
        let grants = farm.coop().grants("ada").await;
        assert_eq!(grants.len(), 1, "{grants:?}");
        if grants[0]["revoked"] == true {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the grant is still live: {grants:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "the login's grant was revoked {:.2?} after the refused login",
        started.elapsed()
    );
}

/// The registry cannot be read when a good logout token arrives (its table renamed away): 400
/// `temporarily_unavailable` (§2.8 has no 5xx), the session lives on, and the token's `jti` is
/// not kept as used — sent again once the store is back, it is accepted and ends the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_the_store_cannot_carry_out_is_refused_and_may_be_sent_again() {
    let farm = Farm::start(Store::Postgres).await;
    let database = sqlx::PgPool::connect(farm.database_url.as_deref().unwrap())
        .await
        .unwrap();
    let cookie = farm.bff.login_at_coop(&browser(), "ada").await;
    let rename = |from: &str, to: &str| format!("ALTER TABLE {from} RENAME TO {to}");
    let execute = |sql: String| {
        let database = database.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&database)
                .await
                .unwrap()
        }
    };
    execute(rename("session_registry", "session_registry_away")).await;
    let token = farm
        .coop()
        .logout_token(&farm.coop().logout_claims("topcluck", Some("ada"), None));
    let refused = post_token(&farm.bff.url(""), &token).await;
    let mut table = BadInputs::default();
    row(
        &mut table,
        "a good token, the store failing",
        "400 temporarily_unavailable",
        "send the logout token again",
        &refused,
    );
    assert_eq!(
        session(&farm.bff, &cookie).await,
        StatusCode::OK,
        "nothing was ended"
    );

    execute(rename("session_registry_away", "session_registry")).await;
    let accepted = post_token(&farm.bff.url(""), &token).await;
    row(&mut table, "the same token, the store back", "200", "", &accepted);
    table.finish();
    assert_eq!(session(&farm.bff, &cookie).await, StatusCode::UNAUTHORIZED);
}

/// COOP and two server processes on one fresh PostgreSQL database; COOP posts logout tokens to A.
struct Deployment {
    harness: Harness,
    a: ServerProcess,
    b: ServerProcess,
    database_url: String,
}

impl Deployment {
    async fn start() -> Deployment {
        let cluster = tokio::task::spawn_blocking(support::postgres::Cluster::shared)
            .await
            .unwrap();
        let database_url = cluster.database().await;
        let ports = [free_port(), free_port()];
        let harness = Harness::start_with(&ports, posting_to(ports[0])).await;
        let mut vars = deployment_vars(&harness.coop.base, &database_url);
        vars.push(("TOPCLUCK_BACKCHANNEL_LOGOUT_BURST".into(), "1000".into()));
        let (a, b) = tokio::join!(
            ServerProcess::start("A", ports[0], &vars),
            ServerProcess::start("B", ports[1], &vars)
        );
        Deployment {
            harness,
            a,
            b,
            database_url,
        }
    }
}

async fn one_case<F: Future<Output = ()>>(name: &str, case: F) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    tokio::time::timeout(CASE_LIMIT, case)
        .await
        .unwrap_or_else(|_| panic!("{name} took longer than {CASE_LIMIT:?}"));
    println!("CASE|{name}|passed in {:.2?}", started.elapsed());
}

/// Polls `cookie` at each of `bffs` until each refuses it: how long after `since` each did
/// (`None`: still served after [`WITHIN`] + [`POLL`]).
async fn refused_within(bffs: [&Spa; 2], cookie: &str, since: Instant) -> [Option<Duration>; 2] {
    let mut refused: [Option<Duration>; 2] = [None, None];
    loop {
        for (slot, bff) in refused.iter_mut().zip(bffs) {
            let sent = since.elapsed();
            if slot.is_none() && session(bff, cookie).await == StatusCode::UNAUTHORIZED {
                *slot = Some(sent);
            }
        }
        let sent = since.elapsed();
        if refused.iter().all(Option::is_some) || sent >= WITHIN + POLL {
            return refused;
        }
        let next = (sent + POLL).min(WITHIN + POLL);
        tokio::time::sleep(next.saturating_sub(since.elapsed())).await;
    }
}

/// A session the registry does not know — its row deleted, as for a cookie from before the
/// registry or a session an older instance started — is still ended by a `sub`-only logout
/// token (its watermark): refused on A and on B within a second; bert's session lives on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_without_a_registry_row_is_ended_by_the_logouts_watermark_on_both_processes() {
    one_case(
        "a_session_without_a_registry_row_is_ended_by_the_logouts_watermark_on_both_processes",
        async {
            let d = Deployment::start().await;
            let (a, b) = (d.a.bff(), d.b.bff());
            let cookie = a.login_at_coop(&browser(), "ada").await;
            let bert = a.login_at_coop(&browser(), "bert").await;
            let pool = sqlx::PgPool::connect(&d.database_url).await.unwrap();
            let deleted = sqlx::query("DELETE FROM session_registry WHERE sub = 'ada'")
                .execute(&pool)
                .await
                .unwrap()
                .rows_affected();
            assert_eq!(deleted, 1, "ada's row");
            for bff in [&a, &b] {
                assert_eq!(session(bff, &cookie).await, StatusCode::OK);
            }
            // Times are whole seconds: a farmer-wide logout ends the sessions that logged in
            // strictly before it (one in the very same second is taken to have followed it).
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            let token =
                d.harness
                    .coop
                    .logout_token(&d.harness.coop.logout_claims("topcluck", Some("ada"), None));
            let logged_out = Instant::now();
            assert_eq!(post_token(&a.base, &token).await.status, StatusCode::OK);
            let refused = refused_within([&a, &b], &cookie, logged_out).await;
            println!(
                "refused on A after {:.2?}, on B after {:.2?}",
                refused[0], refused[1]
            );
            for (name, at) in ["A", "B"].iter().zip(refused) {
                assert!(
                    at.is_some_and(|at| at <= WITHIN + POLL),
                    "{name} still served the unregistered session after the logout"
                );
            }
            assert_eq!(session(&b, &bert).await, StatusCode::OK, "another farmer's");
        },
    )
    .await
}

/// Ada logs in through A; her cookie works on A and B. She logs out of COOP (its confirmation
/// page): COOP posts the logout token to A, and both A and B refuse the cookie — `/bff/session`
/// and the API — within a second of the logout (B reads the ended sessions once a second).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_of_coop_ends_the_session_on_both_processes_within_a_second() {
    one_case(
        "logging_out_of_coop_ends_the_session_on_both_processes_within_a_second",
        async {
            let d = Deployment::start().await;
            let (a, b) = (d.a.bff(), d.b.bff());
            let coop_browser = browser();
            let cookie = a.login_at_coop(&coop_browser, "ada").await;
            for bff in [&a, &b] {
                assert_eq!(session(bff, &cookie).await, StatusCode::OK);
                let eggs = bff.api(reqwest::Method::GET, "/api/eggs", &cookie, None).await;
                assert_eq!(eggs.status, StatusCode::OK);
            }

            let logged_out = Instant::now();
            let answer = d.harness.coop.end_session_confirmed(&coop_browser).await;
            assert_eq!(answer.status(), StatusCode::OK);
            let delivered = logged_out.elapsed();
            let mut refused: [Option<Duration>; 2] = [None, None];
            loop {
                for (slot, bff) in refused.iter_mut().zip([&a, &b]) {
                    let sent = logged_out.elapsed();
                    if slot.is_none() && session(bff, &cookie).await == StatusCode::UNAUTHORIZED {
                        *slot = Some(sent);
                    }
                }
                let sent = logged_out.elapsed();
                if refused.iter().all(Option::is_some) || sent >= WITHIN + POLL {
                    break;
                }
                let next = (sent + POLL).min(WITHIN + POLL);
                tokio::time::sleep(next.saturating_sub(logged_out.elapsed())).await;
            }
            println!(
                "logout at COOP answered (its logout token delivered to A) after {delivered:.2?}; \
             refused on A by a request sent {:.2?} after the logout began, on B {:.2?} after",
                refused[0], refused[1]
            );
            for (name, at) in ["A", "B"].iter().zip(refused) {
                assert!(
                    at.is_some_and(|at| at <= WITHIN + POLL),
                    "{name} still served the session {:?} after the logout",
                    WITHIN + POLL
                );
            }
            for bff in [&a, &b] {
                let eggs = bff.api(reqwest::Method::GET, "/api/eggs", &cookie, None).await;
                assert_eq!(eggs.status, StatusCode::UNAUTHORIZED);
                assert_eq!(eggs.body["error"], "reauthentication_required");
            }
            assert_eq!(
                d.harness.coop.backchannel_logouts().await,
                json!({ "topcluck": { "200": 1 } })
            );
        },
    )
    .await
}

/// The table against process A, the replay refused on A and on B (the `jti` is in the store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_logout_token_is_refused_by_two_processes() {
    one_case(
        "every_malformed_logout_token_is_refused_by_two_processes",
        async {
            let d = Deployment::start().await;
            let (a, b) = (d.a.bff(), d.b.bff());
            let cookie = a.login_at_coop(&browser(), "ada").await;
            malformed_table(&d.harness.coop, &a, &[&b], &cookie).await;
        },
    )
    .await
}
