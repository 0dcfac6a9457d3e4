//! What a refused configuration shows: every key and password kept out of the messages (a key
//! entry named by its position, a URL without its user and password), and the checks whose
//! problems join the others' — a bad cookie key, a zero timeout.

use super::tests::{KEY, SECRET, accepted, refused};
use super::timeouts;

/// A key-looking value of `TOPCLUCK_VAULT_KEYS` or `TOPCLUCK_COOKIE_KEYS` is never repeated:
/// the problem names the entry by its position.
#[test]
fn key_problems_name_the_entry_and_never_show_it() {
    let key = KEY.1;
    let half = &key[..24];
    let rows = [
        ("TOPCLUCK_VAULT_KEYS", format!("{key}:prod"), "entry 1 "),
        (
            "TOPCLUCK_VAULT_KEYS",
            format!("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,{key}:prod"),
            "entry 2 ",
        ),
        ("TOPCLUCK_COOKIE_KEYS", format!("{key},{half}"), "entry 2 "),
        ("TOPCLUCK_COOKIE_KEYS", half.to_owned(), "entry 1 "),
    ];
    for (name, value, entry) in rows {
        let error = refused(
            &[SECRET, ("TOPCLUCK_ISSUER", "https://id.example"), (name, &value)],
            false,
        );
        assert_eq!(error.names(), [name], "{error}");
        let message = error.to_string();
        assert!(message.contains(entry), "{message}");
        assert!(!message.contains(half) && !message.contains("prod"), "{message}");
    }
}

/// A bad cookie key is found by the schema, with the other problems (the key ring is its one
/// parser), in development and in production.
#[test]
fn a_bad_cookie_key_is_reported_with_the_other_problems() {
    for production in [false, true] {
        let error = refused(
            &[
                SECRET,
                ("TOPCLUCK_ISSUER", "https://id.example"),
                ("TOPCLUCK_COOKIE_KEYS", "short"),
                ("TOPCLUCK_SCOPES", "profile"),
            ],
            production,
        );
        assert_eq!(
            error.names(),
            ["TOPCLUCK_SCOPES", "TOPCLUCK_COOKIE_KEYS"],
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("TOPCLUCK_COOKIE_KEYS: entry 1 of the list is not base64 of at least 32 bytes"),
            "{error}"
        );
    }
    let error = refused(
        &[
            SECRET,
            ("TOPCLUCK_ISSUER", "https://id.example"),
            ("TOPCLUCK_COOKIE_KEYS", " , ,"),
        ],
        false,
    );
    assert_eq!(error.names(), ["TOPCLUCK_COOKIE_KEYS"], "{error}");
}

/// Every timeout is at least a millisecond: 0 is refused, named.
#[test]
fn a_zero_timeout_is_refused_and_named() {
    for name in timeouts::VARIABLES {
        let error = refused(
            &[SECRET, ("TOPCLUCK_ISSUER", "https://id.example"), (*name, "0")],
            false,
        );
        assert_eq!(error.names(), [*name], "{error}");
        assert!(error.to_string().contains("at least 1 ms"), "{error}");
    }
    accepted(
        &[
            SECRET,
            ("TOPCLUCK_ISSUER", "https://id.example"),
            ("TOPCLUCK_HEADER_READ_TIMEOUT_MS", "1"),
        ],
        false,
    );
}

/// A URL's user and password never reach a problem's message, whether it parsed or not.
#[test]
fn urls_in_problems_are_shown_without_user_and_password() {
    let issuer = ("TOPCLUCK_ISSUER", "https://id.example");
    type Row<'a> = (&'a str, &'a str, bool, &'a str);
    let rows: [Row<'_>; 7] = [
        (
            "TOPCLUCK_ISSUER",
            "http://alice:hunter2@id.example",
            false,
            "http://***@id.example/",
        ),
        (
            "TOPCLUCK_ISSUER",
            "ftp://alice:hunter2@id.example",
            false,
            "ftp://***@id.example/",
        ),
        (
            "TOPCLUCK_ISSUER",
            "https://alice:hunter2@id example/x",
            false,
            "https://***@id example/x",
        ),
        (
            "TOPCLUCK_PUBLIC_ORIGIN",
            "https://alice:hunter2@farm.example",
            false,
            "https://***@farm.example",
        ),
        (
            "TOPCLUCK_REVOCATION_ENDPOINT",
            "http://alice:hunter2@id.example/revoke",
            false,
            "http://***@id.example/revoke",
        ),
        (
            "TOPCLUCK_REDIRECT_URI",
            "http://alice:hunter2@topcluck.example/callback",
            true,
            "http://***@topcluck.example/callback",
        ),
        (
            "TOPCLUCK_API_URL",
            "https://alice:hunter2@[::1",
            false,
            "https://***@[::1",
        ),
    ];
    for (name, value, production, shown) in rows {
        let mut pairs = vec![KEY, SECRET, (name, value)];
        if name != "TOPCLUCK_ISSUER" {
            pairs.push(issuer);
        }
        let error = refused(&pairs, production);
        assert_eq!(error.names(), [name], "{error}");
        let message = error.to_string();
        assert!(message.contains(shown), "{message}");
        assert!(
            !message.contains("hunter2") && !message.contains("alice"),
            "{message}"
        );
    }
}
