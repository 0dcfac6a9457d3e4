//! The schema against its documentation: `.env.example` and the README's configuration table
//! list exactly the variables the sections read.

use super::VARIABLES;

/// Every variable the sections read is in a section's list, in `.env.example` and in the
/// README's table — and nothing else is.
#[test]
fn env_example_and_the_readme_list_exactly_the_schemas_variables() {
    use std::collections::BTreeSet;
    let schema: BTreeSet<&str> = VARIABLES
        .iter()
        .flat_map(|section| section.iter().copied())
        .collect();
    let count: usize = VARIABLES.iter().map(|section| section.len()).sum();
    assert_eq!(schema.len(), count, "a variable listed in two sections");

    let sources = [
        include_str!("provider.rs"),
        include_str!("session.rs"),
        include_str!("proxy.rs"),
        include_str!("limits.rs"),
        include_str!("timeouts.rs"),
        include_str!("counting.rs"),
        include_str!("store.rs"),
        include_str!("metrics.rs"),
    ];
    let read: BTreeSet<String> = sources
        .iter()
        .flat_map(|source| quoted_names(source, "\"TOPCLUCK_"))
        .collect();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let env_example = std::fs::read_to_string(format!("{root}/.env.example")).unwrap();
    let example: BTreeSet<String> = env_example
        .lines()
        .filter_map(|line| line.trim_start_matches(['#', ' ']).split_once('='))
        .map(|(name, _)| name.to_owned())
        .filter(|name| name.starts_with("TOPCLUCK_"))
        .collect();
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let table: BTreeSet<String> = readme
        .lines()
        .filter(|line| line.starts_with("| `TOPCLUCK_"))
        .flat_map(|line| quoted_names(line.split(" | ").next().unwrap(), "`TOPCLUCK_"))
        .collect();
    let schema: BTreeSet<String> = schema.into_iter().map(str::to_owned).collect();
    for (what, names) in [
        ("read by the sections", &read),
        (".env.example", &example),
        ("the README's configuration table", &table),
    ] {
        let missing: Vec<_> = schema.difference(names).collect();
        let unknown: Vec<_> = names.difference(&schema).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "{what}: missing {missing:?}, not in the schema {unknown:?}"
        );
    }
}

/// The `TOPCLUCK_…` names in `text` that follow `opening` (a quote or a backtick).
fn quoted_names(text: &str, opening: &str) -> Vec<String> {
    text.match_indices(opening)
        .map(|(at, _)| {
            text[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect()
        })
        .collect()
}
