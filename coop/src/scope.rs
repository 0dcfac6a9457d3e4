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
