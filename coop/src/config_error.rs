//! A configuration refused, with **every** problem found, not only the first (oauth2-proxy's
//! validation style): one [`Problem`] per variable that is missing or malformed, in the order the
//! variables are read. COOP's [`crate::Config`] and TopCluck's `server::settings::Settings` both
//! report through it, so the two read alike:
//!
//! ```text
//! configuration: TOPCLUCK_ISSUER: "not a url" is not a URL: relative URL without a base
//! configuration: TOPCLUCK_SCOPES: must include openid
//! configuration: TOPCLUCK_SESSION_MAX_AGE: "forever" is not a positive number of seconds
//! ```
//!
//! This module is compiled without COOP's `provider` feature (the server's production build
//! links it, and not the provider).

use std::fmt;

/// One variable that is missing or malformed, and what is wrong with it. The text never repeats
/// a secret's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The variable (or variables, `A / B`) at fault.
    pub name: &'static str,
    pub problem: String,
}

impl Problem {
    pub fn new(name: &'static str, problem: impl Into<String>) -> Self {
        Self {
            name,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration: {}: {}", self.name, self.problem)
    }
}

/// A configuration refused: every problem found (at least one), one line each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// The variables at fault, in the order they were read.
    pub fn names(&self) -> Vec<&'static str> {
        self.problems.iter().map(|p| p.name).collect()
    }
}

impl From<Problem> for ConfigError {
    fn from(problem: Problem) -> Self {
        Self {
            problems: vec![problem],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The problems found so far while a configuration is read: each check records its problem and
/// reading goes on, so one start reports them all.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// Records that `name` is wrong.
    pub fn add(&mut self, name: &'static str, problem: impl Into<String>) {
        self.0.push(Problem::new(name, problem));
    }

    /// The value, or `None` with its problem recorded.
    pub fn check<T>(&mut self, result: Result<T, Problem>) -> Option<T> {
        result.map_err(|problem| self.0.push(problem)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `value` when nothing was wrong; otherwise every problem.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ConfigError> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(ConfigError { problems: self.0 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_one_line_that_names_its_variable() {
        let mut problems = Problems::default();
        assert_eq!(problems.check(Ok::<_, Problem>(1)), Some(1));
        problems.add("A_VAR", "is wrong");
        assert_eq!(problems.check(Err::<u8, _>(Problem::new("B_VAR", "too"))), None);
        let error = problems.finish(|| ()).unwrap_err();
        assert_eq!(error.names(), ["A_VAR", "B_VAR"]);
        assert_eq!(
            error.to_string(),
            "configuration: A_VAR: is wrong\nconfiguration: B_VAR: too"
        );
        assert_eq!(Problems::default().finish(|| 7).unwrap(), 7);
    }
}
