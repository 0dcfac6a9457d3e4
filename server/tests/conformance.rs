//! The RFC 10017 conformance table (`docs/rfc10017-conformance.md`) names, for every
//! requirement, the tests that prove it. This test keeps the table honest: every row has a status,
//! every met row names at least one test, every row that is not met says why, and every test a row
//! names exists — a Rust test function (`#[test]`/`#[tokio::test]`, or a case of
//! `on_both_stores!`) in the file it names, or a Playwright `test("…")` in its spec. Renaming or
//! deleting a test the table cites fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const TABLE: &str = "docs/rfc10017-conformance.md";
/// The statuses a row may have; the last two need a reason and no test.
const MET: [&str; 2] = ["met", "partly met"];
const UNMET: [&str; 2] = ["not met", "not applicable"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// One row of a requirements table: its id, status, reason ("how") and the tests it names.
#[derive(Debug)]
struct Row {
    id: String,
    status: String,
    how: String,
    proofs: Vec<String>,
}

/// The rows of every table whose header starts `| Id |`: the columns are found by name.
fn rows(markdown: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    for line in markdown.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect();
        match &columns {
            None if cells.first().is_some_and(|c| c == "Id") => columns = Some(cells),
            None => {}
            Some(_) if cells.iter().all(|c| c.chars().all(|ch| "-: ".contains(ch))) => {}
            Some(names) => {
                let cell = |name: &str| {
                    let at = names
                        .iter()
                        .position(|n| n == name)
                        .unwrap_or_else(|| panic!("{TABLE}: a table without a `{name}` column"));
                    cells.get(at).cloned().unwrap_or_default()
                };
                rows.push(Row {
                    id: cell("Id"),
                    status: cell("Status"),
                    how: cell("How"),
                    proofs: code_spans(&cell("Proved by")),
                });
            }
        }
    }
    rows
}

/// The `` `…` `` spans of a cell.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// Why `proof` does not name an existing test, if it does not. Rust: `path.rs::name`;
/// Playwright: `path.spec.ts › title`.
fn missing(proof: &str) -> Option<String> {
    let (path, name) = proof
        .split_once("::")
        .or_else(|| proof.split_once(" › "))
        .map(|(p, n)| (p.trim(), n.trim()))?;
    let Ok(source) = std::fs::read_to_string(root().join(path)) else {
        return Some(format!("{proof}: no file {path}"));
    };
    let found = if path.ends_with(".rs") {
        is_rust_test(&source, name)
    } else if path.ends_with(".spec.ts") {
        is_playwright_test(&source, name)
    } else {
        return Some(format!("{proof}: not a Rust test file nor a Playwright spec"));
    };
    (!found).then(|| format!("{proof}: no such test in {path}"))
}

/// A `fn name(` with a test attribute in the three lines above it, or a case of an
/// `on_both_stores!(…)` invocation (which writes the test attributes).
fn is_rust_test(source: &str, name: &str) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    let declared = |line: &str| {
        line.split_once("fn ").is_some_and(|(before, after)| {
            (before.trim().is_empty()
                || before.trim_end().ends_with("async")
                || before.trim_end().ends_with("pub"))
                && after.starts_with(name)
                && after[name.len()..].starts_with('(')
        })
    };
    let attributed = lines.iter().enumerate().any(|(at, line)| {
        declared(line)
            && lines[at.saturating_sub(3)..at]
                .iter()
                .any(|l| l.contains("#[test]") || l.contains("#[tokio::test"))
    });
    attributed || both_stores_cases(source).contains(name)
}

/// The case names listed in every `on_both_stores!(…)` of `source`.
fn both_stores_cases(source: &str) -> BTreeSet<&str> {
    source
        .split("on_both_stores!(")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(list, _)| list))
        .flat_map(|list| list.split(',').map(str::trim))
        .filter(|case| !case.is_empty())
        .collect()
}

/// A `test("title"` (or single quotes, or the title on the next line).
fn is_playwright_test(source: &str, title: &str) -> bool {
    ["\"", "'"].iter().any(|quote| {
        let quoted = format!("{quote}{title}{quote}");
        source
            .match_indices(&quoted)
            .any(|(at, _)| source[..at].trim_end().ends_with("test("))
    })
}

/// Everything wrong with the table's rows.
fn problems(rows: &[Row]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    for row in rows {
        if !ids.insert(row.id.as_str()) {
            problems.push(format!("{}: the id is used twice", row.id));
        }
        if MET.contains(&row.status.as_str()) {
            if row.proofs.is_empty() {
                problems.push(format!("{}: {} but names no test", row.id, row.status));
            }
        } else if UNMET.contains(&row.status.as_str()) {
            if row.how.len() < 20 {
                problems.push(format!("{}: {} without saying why", row.id, row.status));
            }
        } else {
            problems.push(format!("{}: unknown status {:?}", row.id, row.status));
        }
        problems.extend(
            row.proofs
                .iter()
                .filter_map(|proof| missing(proof))
                .map(|m| format!("{}: {m}", row.id)),
        );
    }
    problems
}

#[test]
fn every_row_of_the_conformance_table_names_tests_that_exist() {
    let table = std::fs::read_to_string(root().join(TABLE)).expect("the conformance table");
    let rows = rows(&table);
    assert!(rows.len() >= 30, "only {} rows read from {TABLE}", rows.len());
    let problems = problems(&rows);
    assert!(problems.is_empty(), "{TABLE}:\n{}", problems.join("\n"));
    let proofs: usize = rows.iter().map(|r| r.proofs.len()).sum();
    let met = rows.iter().filter(|r| MET.contains(&r.status.as_str())).count();
    println!(
        "{} rows ({met} met or partly met), {proofs} tests cited, all found",
        rows.len()
    );
}

/// The check itself can fail: a missing test, a helper that is not a test, a met row without a
/// test and an unmet row without a reason are all reported.
#[test]
fn the_check_refuses_missing_tests_helpers_and_rows_without_proof_or_reason() {
    let table = "\
| Id | Status | How | Proved by |
|----|--------|-----|-----------|
| A-1 | met | x | `server/tests/login.rs::no_such_test` |
| A-2 | met | x | `server/tests/renewal.rs::assert_session_ended` |
| A-3 | met | x | `end2end/tests/login.spec.ts › no such title` |
| A-4 | met | x | |
| A-5 | not met | no | |
| A-5 | sort of | because of many good reasons | |
| A-6 | met | x | `server/tests/login.rs::a_login_transaction_needs_an_s256_challenge_and_the_matching_verifier` |
| A-7 | met | x | `server/tests/vault.rs::rotate_is_a_compare_and_swap_on_the_current_token` |
| A-8 | met | x | `end2end/tests/login.spec.ts › the login returns to the page it started from` |
";
    let problems = problems(&rows(table));
    let named = |id: &str| {
        problems
            .iter()
            .filter(|p| p.starts_with(&format!("{id}:")))
            .count()
    };
    for id in ["A-1", "A-2", "A-3", "A-4"] {
        assert_eq!(named(id), 1, "{id} must be reported: {problems:#?}");
    }
    assert_eq!(
        named("A-5"),
        3,
        "an unmet row without a reason, a reused id, an unknown status: {problems:#?}"
    );
    for id in ["A-6", "A-7", "A-8"] {
        assert_eq!(named(id), 0, "{id} names real tests: {problems:#?}");
    }
}
