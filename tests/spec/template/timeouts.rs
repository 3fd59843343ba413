//! Each function's `Timeout` in `template.yaml` leaves room for the time budget its `main.rs`
//! runs on (`api_tokens::Budget`), so the function answers before Lambda stops it, and
//! within API Gateway's own limits.

use std::time::Duration;

use api_tokens::Budget;

use super::{main_of, template};

/// API Gateway's limits: a Lambda authorizer's answer (HTTP APIs), an integration's.
const AUTHORIZER_LIMIT: Duration = Duration::from_secs(10);
const INTEGRATION_LIMIT: Duration = Duration::from_secs(30);

/// The budget `main` runs on, by what it builds its clients with.
fn budget_of(main: &str) -> (&'static str, Budget) {
    if main.contains("Authorizer::from_env") {
        ("authorizer", Budget::AUTHORIZER)
    } else if main.contains("Budget::API") {
        ("api", Budget::API)
    } else if main.contains("Budget::EVENTS") {
        ("events", Budget::EVENTS)
    } else {
        panic!("a function's main names no budget:\n{main}")
    }
}

#[test]
fn every_function_s_timeout_leaves_room_for_its_budget() {
    let t = template();
    let global = t["Globals"]["Function"]["Timeout"].as_u64();
    let mut seen = Vec::new();
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap();
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        let timeout = resource["Properties"]["Timeout"].as_u64().or(global);
        let timeout = Duration::from_secs(timeout.expect("a timeout"));
        let (kind, budget) = budget_of(&main_of(binary));
        seen.push(kind);
        match kind {
            // Answers (503, or the authorizer's error) come a second before Lambda's timeout.
            "api" => {
                assert!(budget.answer + Duration::from_secs(1) < timeout, "{name}");
                assert!(timeout < INTEGRATION_LIMIT, "{name}");
            }
            "authorizer" => {
                assert!(budget.answer + Duration::from_secs(1) < timeout, "{name}");
                assert!(timeout < AUTHORIZER_LIMIT, "{name}");
            }
            // Handlers stop a margin before their deadline and need time to work before it.
            _ => assert!(timeout >= budget.margin() * 3, "{name}: {timeout:?}"),
        }
    }
    for kind in ["api", "authorizer", "events"] {
        assert!(seen.contains(&kind), "no {kind} function in the template");
    }
}

#[test]
fn the_api_s_budget_is_a_small_part_of_what_api_gateway_waits() {
    assert!(Budget::API.answer * 5 <= INTEGRATION_LIMIT);
    assert!(Budget::AUTHORIZER.answer * 5 <= AUTHORIZER_LIMIT);
}
