//! `application/x-www-form-urlencoded` parameters (form bodies and query strings), parsed the
//! way RFC 6749 §3.1 asks: a parameter sent twice is an error, an empty one is absent.

use std::collections::BTreeMap;

/// Parsed parameters.
#[derive(Clone, Debug, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses `input`; `Err` names a repeated parameter.
    pub fn parse(input: &[u8]) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for (key, value) in url::form_urlencoded::parse(input) {
            if value.is_empty() {
                continue;
            }
            if map.insert(key.to_string(), value.into_owned()).is_some() {
                return Err(format!("parameter {key} sent more than once"));
            }
        }
        Ok(Self(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Sets `name` to `value`, replacing what it was.
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_owned(), value.to_owned());
    }

    /// Leaves `name` out.
    pub fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }

    /// Serialises back to a query string (for the login form's hidden field).
    pub fn to_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.0)
            .finish()
    }
}
