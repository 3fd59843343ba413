//! The promise of the whole entry point, tested with generated requests: whatever a client
//! sends (any method, path, query, headers and body), the service never answers 5xx and
//! never panics, every error is an `application/problem+json` whose `type`, `title` and
//! `status` agree with the response, and a refused request leaves the table exactly as it
//! was. Each request goes where it goes in AWS: API Gateway's route match, the authorizer
//! (`authorizer::handle`), then the route's function (`http::serve` on the event
//! `lambda_http` reads), as `tools/dev-server` wires them ([`gateway`]).
//!
//! Cases come from `PROPTEST_CASES` (256 when unset); a failure is shrunk to a smallest
//! request and printed with its placeholders (`{admin}`, `{bob}`, ...) unfilled.

mod bodies;
mod gateway;
mod requests;
mod world;

use std::cell::RefCell;
use std::collections::BTreeMap;

use lambda_http::Body;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::Value;

use gateway::{Answer, Answerer};
use requests::Case;
use world::World;

/// Every problem `type` the API answers with: its status and title.
const PROBLEMS: &[(&str, u16, &str)] = &[
    ("route-not-found", 404, "Not found"),
    ("method-not-allowed", 405, "Method not allowed"),
    ("unsupported-media-type", 415, "Unsupported media type"),
    ("payload-too-large", 413, "Payload too large"),
    ("malformed-json", 400, "Malformed JSON"),
    ("unauthorized", 401, "Unauthorized"),
    ("missing-scope", 403, "Missing scope"),
    ("forbidden", 403, "Forbidden"),
    ("token-not-found", 404, "Token not found"),
    ("invalid-cursor", 400, "Invalid cursor"),
    ("token-not-rotatable", 409, "Token not rotatable"),
    ("idempotency-key-reused", 422, "Idempotency key reused"),
    ("validation-error", 422, "Validation error"),
];

/// What the run's requests got: who answered, with which statuses.
#[derive(Default, Debug)]
struct Tally {
    by: BTreeMap<String, usize>,
    statuses: BTreeMap<u16, usize>,
}

#[test]
fn no_request_gets_a_5xx_a_non_problem_error_or_writes_when_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let world = rt.block_on(World::start());
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let cases = config.cases;
    let tally = RefCell::new(Tally::default());
    let mut runner = TestRunner::new(config);
    let result = runner.run(&requests::case(), |case| {
        rt.block_on(check(&world, &case, &tally))
    });
    let tally = tally.into_inner();
    eprintln!("entry point, {cases} cases: {tally:?}");
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            panic!("{reason}\nthe smallest failing request: {case:#?}")
        }
        Err(TestError::Abort(reason)) => panic!("aborted: {reason}"),
    }
    // The generator must get past the gateway and through the handlers, or it tests nothing.
    if cases >= 100 {
        let served = tally.by.get("Function").copied().unwrap_or_default();
        let succeeded: usize = tally.statuses.range(200..300).map(|(_, n)| n).sum();
        assert!(
            served * 2 >= cases as usize,
            "functions served only {served}"
        );
        assert!(
            succeeded * 20 >= cases as usize,
            "only {succeeded} succeeded"
        );
    }
}

/// Sends one generated request and checks the answer and the table.
async fn check(world: &World, case: &Case, tally: &RefCell<Tally>) -> Result<(), TestCaseError> {
    let sent = case.render(world);
    let answer = gateway::send(&world.app.service, &sent)
        .await
        .map_err(|e| TestCaseError::fail(format!("{e} (AWS answers 500)")))?;
    let status = answer.response.status().as_u16();
    let after = world.app.snapshot().await;
    let changed = if after == world.baseline {
        Vec::new()
    } else {
        world.restore(&after).await
    };
    {
        let mut t = tally.borrow_mut();
        *t.by.entry(format!("{:?}", answer.by)).or_default() += 1;
        *t.statuses.entry(status).or_default() += 1;
    }
    let text = String::from_utf8_lossy(answer.response.body().as_ref()).into_owned();
    prop_assert!(status < 500, "{status} from {:?}: {text}", answer.by);
    if status >= 400 {
        check_problem(&answer, status, &text)?;
        prop_assert!(
            changed.is_empty(),
            "a refused request ({status}) changed the table at {changed:?}: {text}"
        );
    } else if status != 204 {
        prop_assert_eq!(answer.by, Answerer::Function);
        prop_assert!(
            serde_json::from_str::<Value>(&text).is_ok(),
            "a {status} that is not JSON: {text}"
        );
    }
    Ok(())
}

/// An error answer is a problem+json whose `type`, `title` and `status` agree with it.
fn check_problem(answer: &Answer, status: u16, text: &str) -> Result<(), TestCaseError> {
    let resp = &answer.response;
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    prop_assert_eq!(content_type, Some("application/problem+json"), "{}", text);
    let body: Value = match resp.body() {
        Body::Text(t) => serde_json::from_str(t),
        other => serde_json::from_slice(other.as_ref()),
    }
    .map_err(|e| {
        TestCaseError::fail(format!("a {status} problem that is not JSON ({e}): {text}"))
    })?;
    let slug = body["type"]
        .as_str()
        .and_then(|t| t.strip_prefix(api_tokens::http::problem::PROBLEM_BASE));
    let known = PROBLEMS.iter().find(|(s, _, _)| Some(*s) == slug);
    prop_assert!(known.is_some(), "an unknown problem type: {text}");
    let (_, want_status, want_title) = known.copied().unwrap_or_default();
    prop_assert_eq!(status, want_status, "{}", text);
    prop_assert_eq!(&body["status"], &Value::from(status), "{}", text);
    prop_assert_eq!(&body["title"], &Value::from(want_title), "{}", text);
    Ok(())
}
