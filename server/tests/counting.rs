//! The daily job against a real COOP over HTTP, with the vault on both stores (SQLite in a
//! temporary directory, PostgreSQL in a throwaway cluster): enrolment through COOP's consent
//! page, runs on one day, rotation stored, a dead grant, an outage, an interrupted run and a
//! crash between COOP's answer and the vault's write; turning it off, logging out and a refused
//! enrolment, each leaving the other grant alone. Each case ends by checking COOP's counters: no
//! reuse detection the case did not cause on purpose.
//!
//! Every case runs against two COOPs: today's default (one grant per authorization, the token
//! response's `scope` the grant's), and one that behaves like node-oidc-provider or Google (one
//! grant per client and farmer, revoking any token revokes it all; the token response's `scope`
//! the access token's resource scopes only; access tokens not revocable). Daily counting logs in
//! as a client of its own, so its grant and the session's never end each other.

mod support;

use std::future::Future;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::counting::{FarmerResult, Job};
use server::vault::Owner;
use support::stores::Store;
use support::*;

const CASE_LIMIT: Duration = Duration::from_secs(120);

/// COOP, a BFF with a vault on `store`, and farmers logged in.
struct Farm {
    harness: Harness,
    bff: Bff,
    model: Model,
}

/// How the provider keeps grants and describes scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Model {
    /// COOP's default: a grant per authorization, `scope` = the grant's.
    PerAuthorization,
    /// As node-oidc-provider with resource indicators, or Google: one grant per client and
    /// farmer, `scope` = the access token's API scopes, access tokens not revocable.
    OneGrantPerClient,
}

impl Farm {
    async fn start(store: Store, model: Model) -> Farm {
        let listener = listener().await;
        let port = listener.local_addr().unwrap().port();
        let mut harness = Harness::start_with(&[port], |config| {
            if model == Model::OneGrantPerClient {
                config.grant_model = coop::GrantModel::PerClient;
                config.token_scope = coop::TokenScope::Resource;
                config.revokes_access_tokens = false;
            }
        })
        .await;
        let mut extra = vec![
            ("TOPCLUCK_VAULT_KEYS".to_owned(), VAULT_KEYS.to_owned()),
            ("TOPCLUCK_COUNT_RETRY_MS".to_owned(), "400".to_owned()),
        ];
        if let Store::Postgres = store {
            extra.push((
                "TOPCLUCK_DATABASE_URL".to_owned(),
                support::postgres::Cluster::shared().database().await,
            ));
        }
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let bff = harness.bff_with(listener, NEW_KEY, &extra).await;
        Farm { harness, bff, model }
    }

    /// `farmer` logged in with daily counting on; the session cookie.
    async fn enrolled(&self, farmer: &str) -> String {
        let (cookie, _) = self.bff.login(farmer).await;
        let response = self.bff.enrol(&cookie, farmer).await;
        assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
        cookie
    }

    fn job(&self) -> Job {
        Job::from_state(self.bff.state.as_ref().unwrap()).unwrap()
    }

    fn today(&self) -> time::Date {
        let state = self.bff.state.as_ref().unwrap();
        state.settings.daily_count.day(state.clock.now())
    }

    fn owner(&self, farmer: &str) -> Owner {
        Owner {
            issuer: self.harness.coop.base.clone(),
            subject: farmer.to_owned(),
            client_id: COUNTING_CLIENT.into(),
        }
    }

    /// The refresh token the vault holds for `farmer`.
    async fn vault_token(&self, farmer: &str) -> String {
        self.vault()
            .refresh_token(&self.owner(farmer))
            .await
            .unwrap()
            .unwrap()
    }

    fn vault(&self) -> &server::vault::Vault {
        self.bff.state.as_ref().unwrap().vault.as_ref().unwrap()
    }

    async fn run(&self) -> Vec<(String, FarmerResult)> {
        self.job().run(self.today()).await.unwrap().farmers
    }

    async fn status(&self, cookie: &str) -> Value {
        let answer = self
            .bff
            .api(reqwest::Method::GET, "/bff/counting", cookie, None)
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.body
    }

    /// Refresh requests COOP has answered, whatever their outcome.
    async fn refresh_requests(&self) -> u64 {
        self.harness.counters().await["token_requests"]["refresh_token"]
            .as_object()
            .map_or(0, |outcomes| outcomes.values().filter_map(Value::as_u64).sum())
    }

    async fn reuse_detections(&self) -> u64 {
        self.harness.counters().await["reuse_detections"]
            .as_u64()
            .unwrap()
    }

    async fn record_eggs(&self, cookie: &str, count: i64) {
        let answer = self
            .bff
            .api(
                reqwest::Method::POST,
                "/api/eggs",
                cookie,
                Some(json!({ "count": count })),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    }
}

fn counted(result: &FarmerResult) -> Option<i64> {
    match result {
        FarmerResult::Counted { count } => Some(*count),
        _ => None,
    }
}

async fn enrol_then_two_runs_on_one_day_refresh_once_each_and_keep_one_row(farm: Farm) {
    let ada = farm.enrolled("ada").await;
    let _bert = farm.enrolled("bert").await;
    let grants = farm.harness.grants("ada").await;
    let offline: Vec<&Value> = grants["grants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["offline"] == true)
        .collect();
    assert_eq!(
        offline.len(),
        1,
        "the vault's grant is COOP's offline grant: {grants}"
    );
    assert!(offline[0]["scope"].as_str().unwrap().contains("offline_access"));
    let status = farm.status(&ada).await;
    assert_eq!(status["state"], "on");

    farm.record_eggs(&ada, 3).await;
    let before = farm.refresh_requests().await;
    let token_before = farm.vault_token("ada").await;
    let first = farm.run().await;
    assert_eq!(first.len(), 2);
    assert_eq!(counted(&first[0].1), Some(3), "{first:?}");
    assert_eq!(counted(&first[1].1), Some(0), "{first:?}");
    assert_eq!(
        farm.refresh_requests().await,
        before + 2,
        "one refresh per farmer"
    );
    let token_after = farm.vault_token("ada").await;
    assert_ne!(token_before, token_after, "the rotated refresh token is stored");

    farm.record_eggs(&ada, 2).await;
    let second = farm.run().await;
    assert_eq!(counted(&second[0].1), Some(5));
    assert_eq!(
        farm.refresh_requests().await,
        before + 4,
        "one refresh per farmer per run"
    );
    let history = farm
        .vault()
        .history(
            &farm.owner("ada"),
            farm.today() - time::Duration::days(29),
            farm.today(),
        )
        .await
        .unwrap();
    assert_eq!(
        history,
        vec![(farm.today(), 5)],
        "one row per day: the later count"
    );
    let status = farm.status(&ada).await;
    assert_eq!(
        status["history"],
        json!([{ "date": server::counting::schedule::iso(farm.today()), "count": 5 }])
    );
    assert!(status["last_counted_at"].is_i64());
    assert_eq!(status["last_outcome"], "counted");

    // The session's own refresh token is untouched: the page still works, no replay anywhere.
    assert_eq!(
        farm.bff
            .api(reqwest::Method::GET, "/api/eggs", &ada, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(farm.reuse_detections().await, 0);
}

async fn a_dead_grant_needs_consent_and_the_provider_is_not_asked_again(farm: Farm) {
    let ada = farm.enrolled("ada").await;
    farm.harness
        .dev("grants/revoke", json!({ "username": "ada", "offline": true }))
        .await;
    let results = farm.run().await;
    assert_eq!(results[0].1, FarmerResult::NeedsConsent);
    let status = farm.status(&ada).await;
    assert_eq!(status["state"], "needs_consent");
    assert!(status["stopped_since"].is_i64());
    // The session (an online grant) still works: only the offline grant died.
    assert_eq!(farm.bff.session(Some(&ada)).await.0, StatusCode::OK);

    let before = farm.refresh_requests().await;
    let again = farm.run().await;
    assert!(again.is_empty(), "a dead grant is not counted: {again:?}");
    assert_eq!(farm.refresh_requests().await, before, "no further provider call");

    // Turning it on again.
    let response = farm.bff.enrol(&ada, "ada").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(farm.status(&ada).await["state"], "on");
    assert!(counted(&farm.run().await[0].1).is_some());
    assert_eq!(farm.reuse_detections().await, 0);
}

async fn an_outage_during_the_run_is_retried_and_counted_after_it_ends(farm: Farm) {
    let ada = farm.enrolled("ada").await;
    farm.record_eggs(&ada, 4).await;
    farm.harness.faults(json!({ "unavailable_seconds": 30 })).await;
    // The job waits 400 ms before its second attempt; the outage ends (COOP's clock moves
    // past it) 100 ms into the run.
    let clock = farm.harness.coop.clock().clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        clock.advance(Duration::from_secs(31));
    });
    let results = farm.run().await;
    assert_eq!(counted(&results[0].1), Some(4), "{results:?}");

    // An outage longer than the retries: reported, and the run says a farmer failed.
    farm.harness.faults(json!({ "unavailable_seconds": 600 })).await;
    let summary = farm.job().run(farm.today()).await.unwrap();
    assert!(
        matches!(summary.farmers[0].1, FarmerResult::RetryLater { .. }),
        "{summary:?}"
    );
    assert!(summary.any_failure());
    assert_eq!(farm.status(&ada).await["last_outcome"], "retry_later");
    farm.harness.clear_faults().await;
    assert_eq!(farm.reuse_detections().await, 0);
}

async fn an_interrupted_run_resumes_without_refreshing_a_used_token(farm: Farm) {
    let ada = farm.enrolled("ada").await;
    farm.record_eggs(&ada, 6).await;
    let token_before = farm.vault_token("ada").await;
    // The egg API cannot be reached: the refresh happened and was stored, the count did not.
    let mut cut = farm.job();
    cut.api_url = Some(url::Url::parse("http://127.0.0.1:9/api").unwrap());
    cut.backoff = Vec::new();
    let results = cut.run(farm.today()).await.unwrap().farmers;
    assert!(
        matches!(results[0].1, FarmerResult::RetryLater { .. }),
        "{results:?}"
    );
    let token_between = farm.vault_token("ada").await;
    assert_ne!(
        token_before, token_between,
        "the rotation was stored before the API call"
    );
    // Resumed: the stored successor is used, never the used token.
    let results = farm.run().await;
    assert_eq!(counted(&results[0].1), Some(6));
    assert_eq!(
        farm.reuse_detections().await,
        0,
        "no used refresh token presented again"
    );
}

/// A process that dies after COOP rotated the refresh token and before the vault stored the
/// successor leaves the vault holding a used token, marked as sent without an outcome. The next
/// run settles it through COOP's introspection (used: the rotation is lost) and asks the farmer
/// to consent again — without presenting the used token (before the store recorded "sent",
/// COOP saw a replay and revoked the grant).
async fn a_crash_between_the_answer_and_the_write_is_settled_without_a_replay(farm: Farm) {
    let ada = farm.enrolled("ada").await;
    farm.harness.faults(json!({ "answer_delay_ms": 600 })).await;
    let job = farm.job();
    let day = farm.today();
    let run = tokio::spawn(async move { job.run(day).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    run.abort(); // the crash: COOP has rotated, the answer never arrives
    tokio::time::sleep(Duration::from_millis(700)).await;
    farm.harness.clear_faults().await;
    // The lease of the dead run holds the farmer until it expires (15 minutes).
    assert!(farm.run().await.iter().all(|(_, r)| *r == FarmerResult::Busy));
    farm.harness
        .advance(Duration::from_secs(server::counting::LEASE_SECONDS as u64 + 1));
    let results = farm.run().await;
    assert_eq!(results[0].1, FarmerResult::NeedsConsent, "{results:?}");
    assert_eq!(
        farm.reuse_detections().await,
        0,
        "the used token was never presented again"
    );
    assert_eq!(farm.status(&ada).await["state"], "needs_consent");
}

/// A refresh answer lost after COOP did the work (a gateway's 502): the token may have been
/// rotated, so the job never presents it again — it ends the grant cleanly (no reuse
/// detection) and asks for re-consent. Without this, the next attempt is a replay.
async fn a_lost_refresh_answer_is_never_replayed(farm: Farm) {
    let ada = farm.enrolled("ada").await;
    farm.harness.faults(json!({ "lost_answer_status": 502 })).await;
    let before = farm.refresh_requests().await;
    let results = farm.run().await;
    farm.harness.clear_faults().await;
    assert_eq!(results[0].1, FarmerResult::NeedsConsent, "{results:?}");
    assert_eq!(
        farm.refresh_requests().await,
        before + 1,
        "presented once, never again"
    );
    assert_eq!(farm.reuse_detections().await, 0, "no replay reached COOP");
    assert_eq!(farm.status(&ada).await["state"], "needs_consent");
    assert!(farm.run().await.is_empty());
}

async fn turning_it_off_revokes_and_logging_out_does_not(farm: Farm) {
    let ada = farm.enrolled("ada").await;
    // Logging out of TopCluck (and COOP) leaves counting on: the offline grant lives.
    let logout = farm.bff.logout(&ada).await;
    assert_eq!(logout.status(), StatusCode::OK);
    // The provider that does not revoke access tokens still had the grant revoked: logout says
    // so, not "failed".
    let revocation = logout.json::<Value>().await.unwrap()["revocation"].clone();
    let expected = match farm.model {
        Model::PerAuthorization => "revoked",
        Model::OneGrantPerClient => "grant_revoked",
    };
    assert_eq!(revocation, expected);
    assert!(
        counted(&farm.run().await[0].1).is_some(),
        "counted after the farmer logged out"
    );

    let ada = farm.bff.login("ada").await.0;
    let off = fetch(
        http()
            .post(farm.bff.url("/bff/counting/off"))
            .header("cookie", &ada)
            .header("x-csrf", "1")
            .json(&json!({})),
    )
    .await;
    assert_eq!(off.status(), StatusCode::OK);
    assert_eq!(off.json::<Value>().await.unwrap()["state"], "off");
    assert!(
        farm.vault()
            .refresh_token(&farm.owner("ada"))
            .await
            .unwrap()
            .is_none()
    );
    // Revoked at COOP (in the background): the offline grant is gone.
    let revoked = revoked_at_coop(&farm, "ada", |g| g["offline"] == true).await;
    assert!(revoked, "the offline grant is revoked at COOP");
    assert!(farm.run().await.is_empty());
    // Without a session: no status, no enrolment.
    assert_eq!(
        http()
            .get(farm.bff.url("/bff/counting"))
            .header("x-csrf", "1")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let start = fetch(http().get(farm.bff.url("/bff/counting/start?code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")).header("x-csrf", "1")).await;
    assert_eq!(start.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(farm.reuse_detections().await, 0);
}

/// Waits (5 s at most) until every grant of `username` at COOP that `pick` selects — and at
/// least one — is revoked: revocations run in the background.
async fn revoked_at_coop(farm: &Farm, username: &str, pick: impl Fn(&Value) -> bool) -> bool {
    for _ in 0..100 {
        let grants = farm.harness.grants(username).await;
        let picked: Vec<&Value> = grants["grants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| pick(g))
            .collect();
        if !picked.is_empty() && picked.iter().all(|g| !g["revoked_reason"].is_null()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The access token of `cookie`'s session has expired and is renewed: the session's grant lives.
/// Returns the session's newest cookie (the renewal rotated its refresh token).
async fn assert_session_renews(farm: &Farm, cookie: &str) -> String {
    let before = farm.harness.refreshes().await;
    farm.harness.advance(Duration::from_secs(120));
    let answer = farm
        .bff
        .api(reqwest::Method::GET, "/api/eggs", cookie, None)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert!(
        farm.harness.refreshes().await > before,
        "the session's refresh token was used, and worked"
    );
    answer.cookie().unwrap_or_else(|| cookie.to_owned())
}

/// Turning counting off revokes the offline grant only: the browser session keeps renewing,
/// whatever the provider's grant model.
async fn turning_it_off_leaves_the_browser_session_renewing(farm: Farm) {
    let ada = farm.enrolled("ada").await;
    let off = farm
        .bff
        .api(reqwest::Method::POST, "/bff/counting/off", &ada, Some(json!({})))
        .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(off.body["state"], "off");
    // The revocation runs in the background: wait until COOP has it.
    let revoked = revoked_at_coop(&farm, "ada", |g| g["client_id"] == COUNTING_CLIENT).await;
    assert!(revoked, "the counting client's grant is revoked at COOP");
    assert_session_renews(&farm, &ada).await;
    assert_eq!(farm.bff.session(Some(&ada)).await.0, StatusCode::OK);
    assert_eq!(farm.reuse_detections().await, 0);
}

/// An enrolment refused for a real reason (COOP grants more than was asked) revokes what that
/// enrolment obtained — as the counting client — and nothing of the session's.
async fn a_refused_enrolment_leaves_the_session_working(farm: Farm) {
    let (ada, _) = farm.bff.login("ada").await;
    farm.harness.faults(json!({ "extra_scope": "eggs:write" })).await;
    let refused = farm.bff.enrol(&ada, "ada").await;
    farm.harness.clear_faults().await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "login_failed");
    assert_eq!(farm.status(&ada).await["state"], "off");
    // What the refused enrolment obtained is revoked (in the background).
    let revoked = revoked_at_coop(&farm, "ada", |g| g["client_id"] == COUNTING_CLIENT).await;
    assert!(revoked, "the refused enrolment's grant is revoked");
    let ada = assert_session_renews(&farm, &ada).await;

    // Another farmer's consent is refused too, and ada's session still works.
    let by_bert = farm.bff.enrol(&ada, "bert").await;
    assert_eq!(by_bert.status(), StatusCode::BAD_REQUEST);
    let ada = assert_session_renews(&farm, &ada).await;
    // Turned on for real afterwards.
    assert_eq!(farm.bff.enrol(&ada, "ada").await.status(), StatusCode::OK);
    assert!(counted(&farm.run().await[0].1).is_some());
    assert_eq!(farm.reuse_detections().await, 0);
}

/// Without `TOPCLUCK_COUNTING_CLIENT_ID` the server refuses to turn counting on, with a clear
/// answer, and the session is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_counting_client_it_cannot_be_turned_on_and_nothing_else_changes() {
    let listener = listener().await;
    let port = listener.local_addr().unwrap().port();
    let mut harness = Harness::start(&[port]).await;
    let bff = harness
        .bff_with(
            listener,
            NEW_KEY,
            &[
                ("TOPCLUCK_VAULT_KEYS", VAULT_KEYS),
                ("TOPCLUCK_COUNTING_CLIENT_ID", ""),
                ("TOPCLUCK_COUNTING_CLIENT_SECRET", ""),
            ],
        )
        .await;
    let (ada, _) = bff.login("ada").await;
    let status = bff.api(reqwest::Method::GET, "/bff/counting", &ada, None).await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(status.body["state"], "not_configured");
    let (_, challenge) = pkce();
    let start = http()
        .get(bff.url("/bff/counting/start"))
        .header("x-csrf", "1")
        .header("cookie", &ada)
        .query(&[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::CONFLICT);
    let body: Value = start.json().await.unwrap();
    assert_eq!(body["error"], "counting_not_configured");
    assert!(
        body["message"].as_str().unwrap().contains("client registration"),
        "{body}"
    );
    let off = bff
        .api(reqwest::Method::POST, "/bff/counting/off", &ada, Some(json!({})))
        .await;
    assert_eq!(off.status, StatusCode::CONFLICT);
    assert!(
        Job::from_state(bff.state.as_ref().unwrap()).is_none(),
        "no job without its client"
    );
    assert_eq!(bff.session(Some(&ada)).await.0, StatusCode::OK);
    assert_eq!(harness.replays().await, (0, 0));
}

/// A login over the same farmer's session keeps the grant (at a provider with one grant per
/// client and farmer it is the new session's own); over another farmer's, that farmer's grant
/// is ended.
async fn logging_in_again_keeps_the_farmers_grant_and_ends_another_farmers(farm: Farm) {
    let (first, _) = farm.bff.login("ada").await;
    let again = farm.bff.login_over(&first, "ada").await;
    assert_session_renews(&farm, &again).await;

    let (bert, _) = farm.bff.login("bert").await;
    let ada = farm.bff.login_over(&bert, "ada").await;
    let ended = revoked_at_coop(&farm, "bert", |_| true).await;
    assert!(ended, "the replaced farmer's grant is revoked");
    assert_session_renews(&farm, &ada).await;
    assert_eq!(farm.reuse_detections().await, 0);
}

/// Turning counting on again while it is on (a second tab) keeps it counting, and a refused
/// enrolment then does not stop it: at a provider with one grant per client and farmer, revoking
/// the replaced token or the refused one would end the farmer's counting grant.
async fn enrolling_again_or_refused_while_on_keeps_counting(farm: Farm) {
    let ada = farm.enrolled("ada").await;
    assert_eq!(farm.bff.enrol(&ada, "ada").await.status(), StatusCode::OK);
    farm.harness.faults(json!({ "extra_scope": "eggs:write" })).await;
    assert_eq!(
        farm.bff.enrol(&ada, "ada").await.status(),
        StatusCode::BAD_REQUEST
    );
    farm.harness.clear_faults().await;
    // Whatever was revoked in the background has arrived before the run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let results = farm.run().await;
    assert!(counted(&results[0].1).is_some(), "{results:?}");
    assert_eq!(farm.status(&ada).await["state"], "on");
    assert_eq!(farm.reuse_detections().await, 0);
}

/// A grant enrolled as the login client (before daily counting had a client of its own) is no
/// longer counted: the farm page asks the farmer to turn counting on again, and doing so (or
/// turning it off) forgets it without revoking it — it may be the session's own grant.
async fn a_grant_enrolled_as_the_login_client_asks_for_consent_again(farm: Farm) {
    let (ada, _) = farm.bff.login("ada").await;
    let legacy = Owner {
        client_id: "topcluck".into(),
        ..farm.owner("ada")
    };
    let now = farm.bff.state.as_ref().unwrap().clock.now();
    let scopes = vec![
        "openid".to_owned(),
        "offline_access".to_owned(),
        "eggs:read".to_owned(),
    ];
    farm.vault()
        .enrol(&legacy, "an-old-refresh-token", &scopes, now)
        .await
        .unwrap();
    assert!(farm.run().await.is_empty(), "not counted as the counting client");
    assert_eq!(farm.status(&ada).await["state"], "needs_consent");

    assert_eq!(farm.bff.enrol(&ada, "ada").await.status(), StatusCode::OK);
    assert_eq!(farm.status(&ada).await["state"], "on");
    assert!(
        farm.vault().refresh_token(&legacy).await.unwrap().is_none(),
        "forgotten"
    );
    assert!(counted(&farm.run().await[0].1).is_some());
    assert_session_renews(&farm, &ada).await;
    assert_eq!(farm.reuse_detections().await, 0);
}

/// Runs `case` on a farm with the vault on `store` and COOP in `model`, within [`CASE_LIMIT`].
async fn run_in<F: Future<Output = ()>>(store: Store, model: Model, case: impl FnOnce(Farm) -> F) {
    tokio::time::timeout(CASE_LIMIT, async { case(Farm::start(store, model).await).await })
        .await
        .unwrap_or_else(|_| panic!("the case took longer than {CASE_LIMIT:?} on {store:?}, {model:?}"));
}

async fn run<F: Future<Output = ()>>(store: Store, case: impl FnOnce(Farm) -> F) {
    run_in(store, Model::PerAuthorization, case).await
}

/// Every case, on both stores, with COOP's default grant model.
macro_rules! every_case {
    () => {
        on_both_stores!(
            enrol_then_two_runs_on_one_day_refresh_once_each_and_keep_one_row,
            a_dead_grant_needs_consent_and_the_provider_is_not_asked_again,
            an_outage_during_the_run_is_retried_and_counted_after_it_ends,
            an_interrupted_run_resumes_without_refreshing_a_used_token,
            a_crash_between_the_answer_and_the_write_is_settled_without_a_replay,
            a_lost_refresh_answer_is_never_replayed,
            turning_it_off_revokes_and_logging_out_does_not,
            turning_it_off_leaves_the_browser_session_renewing,
            a_refused_enrolment_leaves_the_session_working,
            logging_in_again_keeps_the_farmers_grant_and_ends_another_farmers,
            enrolling_again_or_refused_while_on_keeps_counting,
            a_grant_enrolled_as_the_login_client_asks_for_consent_again,
        );
    };
}

every_case!();

/// Every case again, against a COOP that keeps one grant per client and farmer.
mod one_grant_per_client {
    use super::*;

    async fn run<F: Future<Output = ()>>(store: Store, case: impl FnOnce(Farm) -> F) {
        run_in(store, Model::OneGrantPerClient, case).await
    }

    every_case!();
}
