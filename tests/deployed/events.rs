//! The event-driven functions as Lambda invokes them: the sweeper on its schedule, revocation
//! from the queue, and the stream publisher, each checked where its effect is read.

use api_tokens::service::CreateInput;
use hyper::Method;
use lambda_emulator::invoke::FunctionError;
use serde_json::{json, Value};

use crate::stack::Stack;

/// The payload of a successful invocation of `function`.
async fn invoke(stack: &Stack, function: &str, event: Value) -> Value {
    use lambda_emulator::invoke::Invoke as _;
    let invocation = stack.lambda.invoke(function, event).await;
    let payload = invocation
        .result
        .unwrap_or_else(|e| panic!("{function}: {e}"));
    serde_json::from_slice(&payload).unwrap()
}

/// An EventBridge scheduled event, as the sweeper's rule sends it.
fn scheduled_event() -> Value {
    json!({"version": "0", "id": "5c8a1d2e-0000-4000-8000-000000000001", "detail-type": "Scheduled Event",
           "source": "aws.events", "account": "123456789012", "time": "2026-12-01T00:00:00Z",
           "region": "us-east-1", "resources": [], "detail": {}})
}

#[tokio::test]
async fn a_revocation_from_the_queue_is_refused_where_tokens_are_verified() {
    let stack = Stack::start().await;
    let token = stack
        .mint("acme", "deployed-revoke-events", &["tokens:read"])
        .await;
    let id = api_tokens::secret::parse(&token).unwrap().id.to_string();
    assert_eq!(
        stack
            .call(Method::GET, "/tokens/self", &token, None)
            .await
            .status,
        200
    );

    let event = integration_tests::fixture("eventbridge-revoke-token.json", &[("TOKEN_ID", &id)]);
    let batch = integration_tests::sqs_batch(&[("m-1".into(), event.to_string())]);
    let answer = invoke(&stack, "TokensRevokeEventsFunction", batch).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    // The authorizer reads the credential: refused at once.
    assert_eq!(
        stack
            .call(Method::GET, "/tokens/self", &token, None)
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn a_users_revocation_from_the_queue_refuses_every_token_of_theirs() {
    let stack = Stack::start().await;
    let user = format!("offboarded-{}", uuid::Uuid::now_v7().simple());
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(stack.mint("acme", &user, &["tokens:read"]).await);
    }
    let other = stack.mint("acme", "stays", &["tokens:read"]).await;
    let event =
        integration_tests::fixture("eventbridge-revoke-user-tokens.json", &[("USER_ID", &user)]);
    let batch = integration_tests::sqs_batch(&[("m-2".into(), event.to_string())]);
    let answer = invoke(&stack, "TokensRevokeEventsFunction", batch).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    for token in &tokens {
        assert_eq!(
            stack
                .call(Method::GET, "/tokens/self", token, None)
                .await
                .status,
            403
        );
    }
    assert_eq!(
        stack
            .call(Method::GET, "/tokens/self", &other, None)
            .await
            .status,
        200
    );
    assert!(
        stack.aws.sqs_messages().is_empty(),
        "done within one invocation"
    );
}

#[tokio::test]
async fn the_sweeper_runs_one_at_a_time_and_moves_expired_tokens() {
    let stack = Stack::start().await;
    let input = CreateInput {
        expires_at: Some(api_tokens::time::now() + chrono::Duration::seconds(2)),
        ..CreateInput::default()
    };
    let token = stack
        .mint_with("deployed-sweep", "alice", &["tokens:read"], input)
        .await;
    let id = api_tokens::secret::parse(&token).unwrap().id.to_string();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    // Reserved concurrency 1: a second sweep while one runs is throttled, not queued.
    use lambda_emulator::invoke::Invoke as _;
    let (a, b) = tokio::join!(
        stack
            .lambda
            .invoke("TokensExpireFunction", scheduled_event()),
        stack
            .lambda
            .invoke("TokensExpireFunction", scheduled_event()),
    );
    let outcomes = [a.result, b.result];
    assert_eq!(
        outcomes
            .iter()
            .filter(|r| matches!(r, Err(FunctionError::Throttled)))
            .count(),
        1,
        "{outcomes:?}"
    );
    let moved: Value = outcomes
        .iter()
        .find_map(|r| r.as_ref().ok())
        .map(|p| serde_json::from_slice(p).unwrap())
        .unwrap();
    assert!(moved["moved"].as_u64().unwrap() >= 1, "{moved}");
    let record = stack.record(&id).await.unwrap();
    assert_eq!(record["status"].as_s().unwrap(), "expired");
}

#[tokio::test]
async fn stream_records_become_events_on_the_bus() {
    let stack = Stack::start().await;
    let stream = integration_tests::fixture("streams-token-lifecycle.json", &[]);
    let answer = invoke(&stack, "TokensPublishEventsFunction", stream).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    let events = stack.aws.events();
    assert!(!events.is_empty());
    let bus = &stack.deployment.event_buses["TokensEventBus"].name;
    for entry in &events {
        assert_eq!(
            entry["EventBusName"].as_str(),
            Some(bus.as_str()),
            "{entry}"
        );
        assert_eq!(entry["Source"], "api-tokens");
        assert!(!entry.to_string().contains("secret_hash"));
    }
}
