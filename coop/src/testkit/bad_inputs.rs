//! The table of bad inputs: every row is one bad request (or configuration), the answer
//! expected and the answer seen, printed as `ROW|area|request|expected|seen` (see them with
//! `-- --nocapture`). [`BadInputs::finish`] fails the test if any row differed or any answer was
//! a 5xx, after every row has run and been printed.

use serde_json::Value;

/// The rows seen so far.
#[derive(Default)]
pub struct BadInputs {
    failed: Vec<String>,
    server_errors: Vec<String>,
    rows: usize,
}

/// `"<status> <error code>"`, or just the status when the body has no `error`: how rows write
/// a JSON error answer.
pub fn status_and_code(status: impl Into<u16>, body: &Value) -> String {
    let status = status.into();
    match body["error"].as_str() {
        Some(code) => format!("{status} {code}"),
        None => status.to_string(),
    }
}

/// `"<status> <error>"`, `-` for no `error`: how COOP's rows write an OAuth answer.
pub fn status_and_error(status: impl Into<u16>, body: &Value) -> String {
    format!("{} {}", status.into(), body["error"].as_str().unwrap_or("-"))
}

impl BadInputs {
    /// One row answered over HTTP: `seen` is written like `expected`, so they compare as
    /// strings; `status` is the answer's HTTP status. Whether the row held (as expected, no 5xx).
    pub fn row(
        &mut self,
        area: &str,
        request: &str,
        expected: &str,
        seen: &str,
        status: impl Into<u16>,
    ) -> bool {
        self.row_held(area, request, expected, seen, seen == expected, status)
    }

    /// One row answered with a JSON error: `expected` is `"<status> <error code>"` (or just the
    /// status), compared with what `response` says. Its JSON body (`null` if none).
    pub async fn answer(
        &mut self,
        area: &str,
        request: &str,
        expected: &str,
        response: reqwest::Response,
    ) -> Value {
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        self.row(area, request, expected, &status_and_code(status, &body), status);
        body
    }

    /// One row answered by a token endpoint: `expected` is `"<status> <error>"`.
    pub fn token_row(
        &mut self,
        area: &str,
        request: &str,
        expected: &str,
        answer: &super::TokenAnswer,
    ) -> bool {
        self.row(area, request, expected, &answer.seen(), answer.status)
    }

    /// [`BadInputs::row`] where the test decides whether the answer `held` (more than the
    /// printed text compares).
    pub fn row_held(
        &mut self,
        area: &str,
        request: &str,
        expected: &str,
        seen: &str,
        held: bool,
        status: impl Into<u16>,
    ) -> bool {
        let status: u16 = status.into();
        if (500..600).contains(&status) {
            self.server_errors.push(format!("{area} {request}: {status}"));
        }
        self.offline_row(area, request, expected, seen, held) && status < 500
    }

    /// A row with no HTTP answer (a configuration refused, a process's exit): whether it held.
    pub fn offline_row(&mut self, area: &str, request: &str, expected: &str, seen: &str, held: bool) -> bool {
        println!("ROW|{area}|{request}|{expected}|{seen}");
        self.rows += 1;
        if !held {
            self.failed
                .push(format!("{area} | {request}: expected {expected}, saw {seen}"));
        }
        held
    }

    /// Fails the test on any 5xx, then on any row that did not hold.
    pub fn finish(self) {
        assert!(
            self.server_errors.is_empty(),
            "5xx answers: {:#?}",
            self.server_errors
        );
        assert!(self.failed.is_empty(), "rows that differ: {:#?}", self.failed);
        println!("{} rows, all as expected, none 5xx", self.rows);
    }
}
