//! Scopes: the ones COOP knows, and space-separated scope strings as sets.

use std::collections::BTreeSet;

/// Every scope COOP can grant.
pub const SUPPORTED: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "eggs:read",
    "eggs:write",
];

/// What a scope lets a client do, as the consent page says it.
fn in_words(scope: &str) -> &'static str {
    match scope {
        "openid" => "know who you are on COOP",
        "profile" => "see your name",
        "email" => "see your email address",
        "offline_access" => "keep this access while you are away, until you or COOP end it",
        "eggs:read" => "count your eggs",
        "eggs:write" => "record eggs for you",
        _ => "something COOP does not know",
    }
}

/// A set of scopes, written space-separated in a stable order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    pub fn parse(value: &str) -> Self {
        Self(
            value
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    /// The scopes COOP does not know, if any.
    pub fn unsupported(&self) -> Vec<&str> {
        self.0
            .iter()
            .map(String::as_str)
            .filter(|s| !SUPPORTED.contains(s))
            .collect()
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Every scope of `self` and of `other`.
    pub fn union(&self, other: &Scopes) -> Scopes {
        Self(self.0.union(&other.0).cloned().collect())
    }

    /// Only the API scopes (`eggs:*`): what an access token for the egg API alone carries.
    pub fn api_only(&self) -> Scopes {
        Self(
            self.0
                .iter()
                .filter(|s| s.starts_with("eggs:"))
                .cloned()
                .collect(),
        )
    }

    /// `self` without `scope`.
    pub fn without(&self, scope: &str) -> Scopes {
        Self(self.0.iter().filter(|s| *s != scope).cloned().collect())
    }

    /// Each scope in words, for the consent page, in a stable order.
    pub fn in_words(&self) -> Vec<&'static str> {
        self.0.iter().map(|scope| in_words(scope)).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let joined: Vec<&str> = self.0.iter().map(String::as_str).collect();
        f.write_str(&joined.join(" "))
    }
}
