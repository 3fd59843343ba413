//! Every binary's cold start under the emulator: from the process's start to its first
//! request for an event (keys read from SSM, clients built), as Lambda reports `Init
//! Duration`. Written to `target/emulator/cold-starts.txt` for docs/benchmarks.md.

use std::collections::BTreeMap;
use std::time::Duration;

use lambda_emulator::invoke::Invoke as _;
use serde_json::{json, Value};

use crate::stack::{emulator_dir, lambda_for, Stack};

/// A harmless event for each function (its answer does not matter, only its start).
fn event_for(function: &str) -> Value {
    match function {
        "TokensAuthorizerFunction" => json!({
            "version": "2.0", "type": "REQUEST", "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/tokens",
            "identitySource": ["Bearer tkn_junk"], "routeKey": "GET /tokens", "rawPath": "/tokens", "rawQueryString": "",
            "headers": {"authorization": "Bearer tkn_junk"}, "requestContext": {"http": {"method": "GET", "path": "/tokens", "sourceIp": "127.0.0.1"}}}),
        "TokensExpireFunction" => {
            json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}})
        }
        "TokensRevokeEventsFunction" | "TokensPublishEventsFunction" => json!({"Records": []}),
        _ => integration_tests::fixture("http-api-get-token.json", &[("TOKEN_ID", "0")]),
    }
}

#[tokio::test]
async fn every_binary_starts_cold_and_the_init_durations_are_reported() {
    let stack = Stack::start().await;
    let rounds = 5;
    let mut inits: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    for _ in 0..rounds {
        // A new service each round: every environment starts cold.
        let lambda = lambda_for(&stack.deployment, &stack.aws);
        for function in stack.deployment.functions.keys() {
            let invocation = lambda.invoke(function, event_for(function)).await;
            assert!(
                invocation.result.is_ok(),
                "{function}: {:?}",
                invocation.result
            );
            let init = invocation.init.expect("a cold start");
            inits.entry(function.clone()).or_default().push(init);
        }
        lambda.shutdown().await;
    }
    let mut report = format!("cold start (init) under the emulator, {rounds} starts each, ms\n");
    report.push_str("function                          median     max\n");
    for (function, mut all) in inits {
        all.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        report.push_str(&format!(
            "{function:<32} {:>7.1} {:>7.1}\n",
            ms(all[all.len() / 2]),
            ms(all[all.len() - 1])
        ));
        assert!(
            all[all.len() / 2] < Duration::from_secs(2),
            "{function}: {all:?}"
        );
    }
    std::fs::write(emulator_dir().join("cold-starts.txt"), &report).unwrap();
    println!("{report}");
}
