//! The settings as a whole: defaults, what each section refuses (named), secrets redacted.

use super::*;

pub(super) fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn site() -> Url {
    Url::parse("http://127.0.0.1:3000").unwrap()
}

#[test]
#[cfg_attr(
    not(feature = "embedded-coop"),
    ignore = "needs the embedded-coop feature: development without TOPCLUCK_ISSUER runs the embedded provider"
)]
fn defaults_development_and_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::from_vars(&vars(&[]), &site(), false, dir.path()).unwrap();
    assert!(settings.issuer.is_none());
    assert_eq!(settings.redirect_uri.as_str(), "http://127.0.0.1:3000/callback");
    assert_eq!(settings.scopes.join(" "), DEFAULT_SCOPES);
    // The generated development key persists: the same one next start.
    let again = Settings::from_vars(&vars(&[]), &site(), false, dir.path()).unwrap();
    assert_eq!(settings.cookie_keys[0].expose(), again.cookie_keys[0].expose());

    // (variables, the one named in the error, production?)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, bool);
    let cases: [Case<'_>; 9] = [
        (
            &[("TOPCLUCK_PUBLIC_ORIGIN", "https://farm.example/app")],
            "TOPCLUCK_PUBLIC_ORIGIN",
            false,
        ),
        (
            &[("TOPCLUCK_PUBLIC_ORIGIN", "https://user@farm.example")],
            "TOPCLUCK_PUBLIC_ORIGIN",
            false,
        ),
        (
            &[("TOPCLUCK_PUBLIC_ORIGIN", "ftp://farm.example")],
            "TOPCLUCK_PUBLIC_ORIGIN",
            false,
        ),
        (
            &[("TOPCLUCK_REVOCATION_ENDPOINT", "http://id.example/revoke")],
            "TOPCLUCK_REVOCATION_ENDPOINT",
            false,
        ),
        (
            &[
                ("TOPCLUCK_ISSUER", "https://id.example"),
                ("TOPCLUCK_CLIENT_SECRET", "s"),
            ],
            "TOPCLUCK_COOKIE_KEYS",
            true,
        ),
        (&[("TOPCLUCK_ISSUER", "not a url")], "TOPCLUCK_ISSUER", false),
        (
            &[("TOPCLUCK_ISSUER", "https://id.example")],
            "TOPCLUCK_CLIENT_SECRET",
            false,
        ),
        (&[("TOPCLUCK_SCOPES", "profile")], "TOPCLUCK_SCOPES", false),
        (
            &[("TOPCLUCK_SESSION_MAX_AGE", "forever")],
            "TOPCLUCK_SESSION_MAX_AGE",
            false,
        ),
    ];
    for (pairs, name, production) in cases {
        let error = Settings::from_vars(&vars(pairs), &site(), production, dir.path()).unwrap_err();
        assert_eq!(error.problems[0].name, name);
    }
}

#[test]
#[cfg_attr(
    not(feature = "embedded-coop"),
    ignore = "needs the embedded-coop feature: development without TOPCLUCK_ISSUER runs the embedded provider"
)]
fn the_public_origin_defaults_to_the_redirect_uris_and_is_written_as_browsers_do() {
    let dir = tempfile::tempdir().unwrap();
    let default = Settings::from_vars(&vars(&[]), &site(), false, dir.path()).unwrap();
    assert_eq!(default.public_origin, "http://127.0.0.1:3000");
    let configured = Settings::from_vars(
        &vars(&[
            ("TOPCLUCK_PUBLIC_ORIGIN", "HTTPS://Farm.Example:443/"),
            ("TOPCLUCK_REVOCATION_ENDPOINT", "http://127.0.0.1:9000/revoke"),
        ]),
        &site(),
        false,
        dir.path(),
    )
    .unwrap();
    assert_eq!(configured.public_origin, "https://farm.example");
    assert_eq!(
        configured.revocation_endpoint.unwrap().as_str(),
        "http://127.0.0.1:9000/revoke"
    );
}

#[test]
fn the_issuer_is_kept_as_written_for_the_exact_comparison_with_discovery() {
    let dir = tempfile::tempdir().unwrap();
    for issuer in [
        "https://id.example",
        "https://id.example/",
        "https://id.example/realms/farm",
    ] {
        let settings = Settings::from_vars(
            &vars(&[("TOPCLUCK_ISSUER", issuer), ("TOPCLUCK_CLIENT_SECRET", "s")]),
            &site(),
            false,
            dir.path(),
        )
        .unwrap();
        assert_eq!(settings.issuer.as_deref(), Some(issuer));
    }
}

#[test]
fn debug_output_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::from_vars(
        &vars(&[
            ("TOPCLUCK_ISSUER", "https://id.example"),
            ("TOPCLUCK_CLIENT_SECRET", "very-secret-value"),
            // A key (44 characters of base64: 33 bytes) the output must not show.
            (
                "TOPCLUCK_COOKIE_KEYS",
                "very-secret-key-very-secret-key-very-secret-",
            ),
        ]),
        &site(),
        true,
        dir.path(),
    )
    .unwrap();
    let debug = format!("{settings:?}");
    assert!(!debug.contains("very-secret"), "{debug}");
}

pub(super) const KEY: (&str, &str) = (
    "TOPCLUCK_COOKIE_KEYS",
    "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0",
);
pub(super) const SECRET: (&str, &str) = ("TOPCLUCK_CLIENT_SECRET", "s");

pub(super) fn refused(pairs: &[(&str, &str)], production: bool) -> ConfigError {
    let dir = tempfile::tempdir().unwrap();
    Settings::from_vars(&vars(pairs), &site(), production, dir.path()).unwrap_err()
}

pub(super) fn accepted(pairs: &[(&str, &str)], production: bool) -> Settings {
    let dir = tempfile::tempdir().unwrap();
    Settings::from_vars(&vars(pairs), &site(), production, dir.path()).unwrap()
}

#[test]
fn pushed_authorization_requests_are_required_only_when_said_true() {
    let issuer = ("TOPCLUCK_ISSUER", "https://id.example");
    assert!(!accepted(&[KEY, SECRET, issuer], true).par_required);
    for (value, required) in [("true", true), ("1", true), ("false", false), ("0", false)] {
        let settings = accepted(&[KEY, SECRET, issuer, ("TOPCLUCK_PAR_REQUIRED", value)], true);
        assert_eq!(settings.par_required, required, "{value}");
    }
    let error = refused(&[KEY, SECRET, issuer, ("TOPCLUCK_PAR_REQUIRED", "yes")], true);
    assert_eq!(error.names(), ["TOPCLUCK_PAR_REQUIRED"]);
}

#[test]
fn daily_counting_needs_a_client_of_its_own_given_whole() {
    let issuer = ("TOPCLUCK_ISSUER", "https://id.example");
    assert!(accepted(&[KEY, SECRET, issuer], true).counting_client.is_none());
    let both = accepted(
        &[
            KEY,
            SECRET,
            issuer,
            ("TOPCLUCK_COUNTING_CLIENT_ID", "topcluck-counting"),
            ("TOPCLUCK_COUNTING_CLIENT_SECRET", "very-secret-counting"),
        ],
        true,
    );
    let counting = both.counting_client.as_ref().unwrap();
    assert_eq!(counting.client_id, "topcluck-counting");
    assert!(!format!("{both:?}").contains("very-secret-counting"));
    for (pairs, name) in [
        (
            &[("TOPCLUCK_COUNTING_CLIENT_ID", "topcluck-counting")][..],
            "TOPCLUCK_COUNTING_CLIENT_SECRET",
        ),
        (
            &[("TOPCLUCK_COUNTING_CLIENT_SECRET", "s2")][..],
            "TOPCLUCK_COUNTING_CLIENT_ID",
        ),
        (
            &[
                ("TOPCLUCK_COUNTING_CLIENT_ID", "topcluck"),
                ("TOPCLUCK_COUNTING_CLIENT_SECRET", "s2"),
            ][..],
            "TOPCLUCK_COUNTING_CLIENT_ID",
        ),
    ] {
        let mut all = vec![KEY, SECRET, issuer];
        all.extend_from_slice(pairs);
        assert_eq!(refused(&all, true).problems[0].name, name);
    }
}

#[test]
#[cfg_attr(
    not(feature = "embedded-coop"),
    ignore = "needs the embedded-coop feature: development without TOPCLUCK_ISSUER runs the embedded provider"
)]
fn the_data_directory_is_one_setting() {
    let default = tempfile::tempdir().unwrap();
    let configured = tempfile::tempdir().unwrap();
    let path = configured.path().join("farm");
    let settings = Settings::from_vars(
        &vars(&[("TOPCLUCK_DATA_DIR", path.to_str().unwrap())]),
        &site(),
        false,
        default.path(),
    )
    .unwrap();
    assert_eq!(settings.data_dir, path);
    // The development keys are kept there, not in the default directory.
    assert!(path.join("cookie_key").exists());
    assert!(!default.path().join("cookie_key").exists());
    let unset = Settings::from_vars(&vars(&[]), &site(), false, default.path()).unwrap();
    assert_eq!(unset.data_dir, default.path());
}

#[test]
#[cfg_attr(
    not(feature = "embedded-coop"),
    ignore = "needs the embedded-coop feature: development without TOPCLUCK_ISSUER runs the embedded provider"
)]
fn production_without_an_issuer_is_refused() {
    let error = refused(&[KEY], true);
    assert_eq!(error.problems[0].name, "TOPCLUCK_ISSUER");
    assert!(error.to_string().contains("required in production"), "{error}");
    // Development still runs the embedded provider.
    assert!(accepted(&[KEY], false).issuer.is_none());
}

#[test]
fn a_plain_http_issuer_is_refused_outside_loopback_in_any_environment() {
    for production in [false, true] {
        for issuer in [
            "http://id.example",
            "http://10.0.0.7:8080",
            "http://[2001:db8::1]",
            "http://localhost.example",
            "http://127.0.0.1.nip.io",
            "ftp://id.example",
        ] {
            let error = refused(&[KEY, SECRET, ("TOPCLUCK_ISSUER", issuer)], production);
            assert_eq!(error.problems[0].name, "TOPCLUCK_ISSUER", "{issuer}");
            assert!(error.to_string().contains(issuer), "{error}");
        }
        for issuer in [
            "https://id.example",
            "http://127.0.0.1:3030",
            "http://127.8.9.10",
            "http://[::1]:3030",
            "http://localhost:3030",
            "http://LOCALHOST",
        ] {
            let settings = accepted(&[KEY, SECRET, ("TOPCLUCK_ISSUER", issuer)], production);
            assert!(settings.issuer.is_some(), "{issuer}");
        }
    }
}

#[test]
fn a_plain_http_redirect_uri_is_refused_outside_loopback_in_production() {
    let issuer = ("TOPCLUCK_ISSUER", "https://id.example");
    for name in ["TOPCLUCK_REDIRECT_URI", "TOPCLUCK_POST_LOGOUT_REDIRECT_URI"] {
        let error = refused(
            &[KEY, SECRET, issuer, (name, "http://topcluck.example/callback")],
            true,
        );
        assert_eq!(error.problems[0].name, name);
        assert!(error.to_string().contains("use https"), "{error}");
        // Development on another machine of the network stays possible.
        accepted(
            &[KEY, SECRET, issuer, (name, "http://topcluck.example/callback")],
            false,
        );
        accepted(
            &[KEY, SECRET, issuer, (name, "https://topcluck.example/callback")],
            true,
        );
        accepted(
            &[KEY, SECRET, issuer, (name, "http://localhost:3000/callback")],
            true,
        );
    }
    // The default, derived from a server listening on every interface, is not loopback.
    let dir = tempfile::tempdir().unwrap();
    let everywhere = Url::parse("http://0.0.0.0:3000").unwrap();
    let error =
        Settings::from_vars(&vars(&[KEY, SECRET, issuer]), &everywhere, true, dir.path()).unwrap_err();
    assert_eq!(error.problems[0].name, "TOPCLUCK_REDIRECT_URI");
}

/// The closing note's example: three mistakes, one message naming all three.
#[test]
fn three_mistakes_are_named_in_one_message() {
    let error = refused(
        &[
            ("TOPCLUCK_ISSUER", "not a url"),
            ("TOPCLUCK_CLIENT_SECRET", "s"),
            ("TOPCLUCK_SCOPES", "profile email"),
            ("TOPCLUCK_REFRESH_WAIT_MS", "soon"),
        ],
        false,
    );
    assert_eq!(
        error.names(),
        ["TOPCLUCK_ISSUER", "TOPCLUCK_SCOPES", "TOPCLUCK_REFRESH_WAIT_MS"]
    );
    assert_eq!(
        error.to_string(),
        "configuration: TOPCLUCK_ISSUER: \"not a url\" is not a URL: relative URL without a base\n\
         configuration: TOPCLUCK_SCOPES: must include openid\n\
         configuration: TOPCLUCK_REFRESH_WAIT_MS: \"soon\" is not a whole number"
    );
}

#[test]
#[cfg_attr(
    not(feature = "embedded-coop"),
    ignore = "needs the embedded-coop feature: development without TOPCLUCK_ISSUER runs the embedded provider"
)]
fn timeouts_that_do_not_nest_are_refused_and_the_defaults_are_todays() {
    let defaults = accepted(&[], false).timeouts;
    assert_eq!(defaults, Timeouts::DEFAULT);
    assert_eq!(defaults.refresh_wait, std::time::Duration::from_secs(10));
    let error = refused(
        &[
            ("TOPCLUCK_UPSTREAM_TIMEOUT_MS", "25000"),
            ("TOPCLUCK_REFRESH_TIMEOUT_MS", "90000"),
        ],
        false,
    );
    assert_eq!(
        error.names(),
        ["TOPCLUCK_REQUEST_TIMEOUT_MS", "TOPCLUCK_REFRESH_TIMEOUT_MS"],
        "{error}"
    );
    let shorter = accepted(
        &[
            ("TOPCLUCK_REQUEST_TIMEOUT_MS", "2000"),
            ("TOPCLUCK_BODY_TIMEOUT_MS", "1000"),
            ("TOPCLUCK_UPSTREAM_TIMEOUT_MS", "1000"),
            ("TOPCLUCK_UPSTREAM_READ_TIMEOUT_MS", "500"),
            ("TOPCLUCK_UPSTREAM_CONNECT_TIMEOUT_MS", "500"),
            ("TOPCLUCK_PROVIDER_TIMEOUT_MS", "1000"),
            ("TOPCLUCK_PROVIDER_CONNECT_TIMEOUT_MS", "500"),
            ("TOPCLUCK_REFRESH_WAIT_MS", "500"),
        ],
        false,
    );
    assert_eq!(shorter.timeouts.request, std::time::Duration::from_secs(2));
}

/// A refused configuration writes nothing: development keys are generated only for one that is
/// otherwise right.
#[test]
fn a_refused_configuration_creates_no_development_key() {
    let dir = tempfile::tempdir().unwrap();
    Settings::from_vars(
        &vars(&[("TOPCLUCK_SCOPES", "profile")]),
        &site(),
        false,
        dir.path(),
    )
    .unwrap_err();
    assert!(!dir.path().join("cookie_key").exists());
    assert!(!dir.path().join("vault_keys").exists());
}

/// The limits: defaults, chosen values, and every wrong one named at once.
#[test]
fn upstream_limits_default_are_read_and_refuse_zero_and_unknown_http2() {
    let issuer = ("TOPCLUCK_ISSUER", "http://127.0.0.1:9");
    let secret = ("TOPCLUCK_CLIENT_SECRET", "s");
    let defaults = accepted(&[issuer, secret], false).limits;
    assert_eq!(
        (
            defaults.api_in_flight,
            defaults.api_connections,
            defaults.provider_connections,
            defaults.queue
        ),
        (128, 64, 16, std::time::Duration::from_secs(3))
    );
    assert_eq!(defaults.api_http2, crate::upstream::Http2::Negotiated);
    let chosen = accepted(
        &[
            issuer,
            secret,
            ("TOPCLUCK_API_MAX_CONNECTIONS", "8"),
            ("TOPCLUCK_PROVIDER_MAX_CONNECTIONS", "2"),
            ("TOPCLUCK_UPSTREAM_QUEUE_MS", "250"),
            ("TOPCLUCK_API_HTTP2", "prior-knowledge"),
        ],
        false,
    )
    .limits;
    assert_eq!(
        (
            chosen.api_in_flight,
            chosen.api_connections,
            chosen.provider_connections,
            chosen.queue
        ),
        (16, 8, 2, std::time::Duration::from_millis(250))
    );
    assert_eq!(chosen.api_http2, crate::upstream::Http2::PriorKnowledge);
    let error = refused(
        &[
            issuer,
            secret,
            ("TOPCLUCK_API_MAX_IN_FLIGHT", "0"),
            ("TOPCLUCK_API_MAX_CONNECTIONS", "0"),
            ("TOPCLUCK_PROVIDER_MAX_CONNECTIONS", "many"),
            ("TOPCLUCK_UPSTREAM_QUEUE_MS", "-1"),
            ("TOPCLUCK_API_HTTP2", "yes"),
        ],
        false,
    );
    assert_eq!(
        error.names(),
        [
            "TOPCLUCK_API_MAX_CONNECTIONS",
            "TOPCLUCK_API_MAX_IN_FLIGHT",
            "TOPCLUCK_PROVIDER_MAX_CONNECTIONS",
            "TOPCLUCK_UPSTREAM_QUEUE_MS",
            "TOPCLUCK_API_HTTP2"
        ]
    );
    assert!(error.to_string().contains("must be at least 1"), "{error}");
}
