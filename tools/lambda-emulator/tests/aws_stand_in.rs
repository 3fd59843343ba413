//! The AWS stand-in through the SDK clients the functions use (configured the way the
//! functions configure them, from Lambda's variables): DynamoDB forwarded to DynamoDB Local
//! (`DYNAMODB_ENDPOINT`; those tests are skipped without it), SSM, EventBridge and SQS from
//! memory, and every call recorded as IAM evaluates it.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use lambda_emulator::aws::credentials::Credentials;
use lambda_emulator::aws::{AwsOptions, AwsStandIn, Call};
use lambda_emulator::model::Deployment;
use serde_json::json;

const FUNCTION: &str = "TokensListFunction";
const TESTS_KEY: &str = "testsOwnKey";
const TESTS_REGION: &str = "us-east-1";

fn model(table: &str) -> Deployment {
    serde_json::from_value(json!({
        "stack_name": "s", "region": "eu-west-1", "account": "123456789012",
        "functions": {FUNCTION: {"name": "list", "arn": "arn:aws:lambda:eu-west-1:123456789012:function:list",
            "binary": "tokens-list", "memory_mb": 128, "timeout_seconds": 3}},
        "tables": {"TokensTable": {"name": table,
            "arn": format!("arn:aws:dynamodb:eu-west-1:123456789012:table/{table}"), "partition_key": "pk"}},
        "queues": {"RevocationQueue": {"name": "revocations",
            "url": "https://sqs.eu-west-1.amazonaws.com/123456789012/revocations",
            "arn": "arn:aws:sqs:eu-west-1:123456789012:revocations"}},
        "event_buses": {"TokensEventBus": {"name": "tokens-bus",
            "arn": "arn:aws:events:eu-west-1:123456789012:event-bus/tokens-bus"}}
    }))
    .expect("model")
}

/// The SDK configuration a function gets in its environment: its own key, the model's
/// region, the stand-in as endpoint.
fn function_config(endpoint: &str) -> aws_config::SdkConfig {
    let c = Credentials::for_function(FUNCTION);
    let vars = BTreeMap::from([
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", c.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", c.secret_access_key),
        ("AWS_SESSION_TOKEN", c.session_token),
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
    ]);
    api_tokens::config::lambda_sdk_config_from(
        move |k| vars.get(k).cloned(),
        api_tokens::Budget::API,
    )
    .expect("config")
}

/// The tests' own configuration, straight to DynamoDB Local.
fn tests_config(endpoint: &str) -> aws_config::SdkConfig {
    let vars = BTreeMap::from([
        ("AWS_REGION", TESTS_REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", TESTS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "x".to_owned()),
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
    ]);
    api_tokens::config::lambda_sdk_config_from(
        move |k| vars.get(k).cloned(),
        api_tokens::Budget::API,
    )
    .expect("config")
}

fn options(dynamodb_endpoint: &str) -> AwsOptions {
    AwsOptions {
        dynamodb_endpoint: dynamodb_endpoint.into(),
        dynamodb_access_key: TESTS_KEY.into(),
        dynamodb_region: TESTS_REGION.into(),
        parameters: BTreeMap::from([("/api-tokens/cursor-keys".into(), "k1:secret".into())]),
        calls_log: None,
    }
}

async fn stand_in(model: &Deployment, dynamodb_endpoint: &str) -> AwsStandIn {
    AwsStandIn::start(model, options(dynamodb_endpoint))
        .await
        .expect("started")
}

fn call(operation: &str, action: &str, resource: &str, context: serde_json::Value) -> Call {
    Call {
        function: FUNCTION.into(),
        service: action.split(':').next().unwrap_or_default().into(),
        operation: operation.into(),
        action: action.into(),
        resource: resource.into(),
        context: serde_json::from_value(context).expect("context"),
        status: 200,
    }
}

#[tokio::test]
async fn dynamodb_calls_reach_the_tests_database_and_are_recorded() {
    let Ok(dynamodb_local) = std::env::var("DYNAMODB_ENDPOINT") else {
        eprintln!("skipped: DYNAMODB_ENDPOINT is not set (DynamoDB Local)");
        return;
    };
    let table = format!("emulator-{}", uuid::Uuid::now_v7().simple());
    let model = model(&table);
    let aws = stand_in(&model, &dynamodb_local).await;
    let function = aws_sdk_dynamodb::Client::new(&function_config(&aws.url()));

    function
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("CreateTable through the stand-in");
    function
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("TOKEN#1".into()))
        .item("secret_hash", AttributeValue::S("do-not-log".into()))
        .send()
        .await
        .expect("PutItem");
    let got = function
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("TOKEN#1".into()))
        .send()
        .await
        .expect("GetItem");
    assert!(got.item.is_some(), "the function reads what it wrote");

    let tests = aws_sdk_dynamodb::Client::new(&tests_config(&dynamodb_local));
    let seen = tests
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("TOKEN#1".into()))
        .send()
        .await
        .expect("the tests' own GetItem");
    assert!(seen.item.is_some(), "the tests see the function's database");

    let arn = &model.tables["TokensTable"].arn;
    assert_eq!(
        aws.calls(),
        vec![
            call("CreateTable", "dynamodb:CreateTable", arn, json!({})),
            call(
                "PutItem",
                "dynamodb:PutItem",
                arn,
                json!({
                "dynamodb:LeadingKeys": ["TOKEN#1"], "dynamodb:Attributes": ["pk", "secret_hash"]})
            ),
            call(
                "GetItem",
                "dynamodb:GetItem",
                arn,
                json!({
                "dynamodb:LeadingKeys": ["TOKEN#1"], "dynamodb:Attributes": ["pk"]})
            ),
        ]
    );
    assert!(!format!("{:?}", aws.calls()).contains("do-not-log"));
    let _ = tests.delete_table().table_name(&table).send().await;
}

#[tokio::test]
async fn ssm_parameters_are_answered_and_each_name_is_a_request_in_the_log() {
    let log = std::env::temp_dir().join(format!("calls-{}.jsonl", uuid::Uuid::now_v7().simple()));
    let options = AwsOptions {
        calls_log: Some(log.clone()),
        ..options("http://127.0.0.1:1")
    };
    let aws = AwsStandIn::start(&model("t"), options)
        .await
        .expect("started");
    let ssm = aws_sdk_ssm::Client::new(&function_config(&aws.url()));
    let out = ssm
        .get_parameters()
        .names("/api-tokens/cursor-keys")
        .names("/api-tokens/missing")
        .with_decryption(true)
        .send()
        .await
        .expect("GetParameters");
    let parameters = out.parameters();
    assert_eq!(parameters.len(), 1);
    assert_eq!(parameters[0].value(), Some("k1:secret"));
    assert_eq!(out.invalid_parameters(), ["/api-tokens/missing"]);

    let arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/api-tokens/";
    assert_eq!(
        aws.calls(),
        vec![
            call(
                "GetParameters",
                "ssm:GetParameters",
                &format!("{arn}cursor-keys"),
                json!({})
            ),
            call(
                "GetParameters",
                "ssm:GetParameters",
                &format!("{arn}missing"),
                json!({})
            ),
        ]
    );
    let text = std::fs::read_to_string(&log).expect("the calls log");
    let logged: Vec<Call> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a call per line"))
        .collect();
    assert_eq!(logged, aws.calls());
    assert!(!text.contains("k1:secret"), "no parameter value in the log");
    let _ = std::fs::remove_file(log);
}

#[tokio::test]
async fn events_and_messages_are_kept_and_recorded_without_their_content() {
    let model = model("t");
    let aws = stand_in(&model, "http://127.0.0.1:1").await;
    let config = function_config(&aws.url());
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name("tokens-bus")
        .source("api-tokens")
        .detail_type("TokenCreated")
        .detail(r#"{"token_id":"secret-detail"}"#)
        .build();
    let out = aws_sdk_eventbridge::Client::new(&config)
        .put_events()
        .entries(entry)
        .send()
        .await
        .expect("PutEvents");
    assert_eq!(out.failed_entry_count(), 0);
    assert_eq!(out.entries().len(), 1);
    assert_eq!(aws.events()[0]["DetailType"], "TokenCreated");

    let queue = &model.queues["RevocationQueue"];
    let sent = aws_sdk_sqs::Client::new(&config)
        .send_message()
        .queue_url(&queue.url)
        .message_body("abc")
        .send()
        .await
        .expect("SendMessage");
    assert_eq!(
        sent.md5_of_message_body(),
        Some("900150983cd24fb0d6963f7d28e17f72")
    );
    assert_eq!(aws.sqs_messages(), [(queue.url.clone(), "abc".to_owned())]);

    let bus = &model.event_buses["TokensEventBus"].arn;
    assert_eq!(
        aws.calls(),
        vec![
            call(
                "PutEvents",
                "events:PutEvents",
                bus,
                json!({
                "events:source": ["api-tokens"], "events:detail-type": ["TokenCreated"]})
            ),
            call("SendMessage", "sqs:SendMessage", &queue.arn, json!({})),
        ]
    );
    assert!(!format!("{:?}", aws.calls()).contains("secret-detail"));
}

#[tokio::test]
async fn an_unknown_operation_is_refused_and_recorded() {
    let aws = stand_in(&model("t"), "http://127.0.0.1:1").await;
    let ssm = aws_sdk_ssm::Client::new(&function_config(&aws.url()));
    let error = ssm
        .get_parameter()
        .name("/x")
        .send()
        .await
        .expect_err("not implemented");
    assert_eq!(
        aws_sdk_ssm::error::ProvideErrorMetadata::code(&error),
        Some("UnknownOperationException")
    );
    let calls = aws.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].action.as_str(), calls[0].status),
        ("ssm:GetParameter", 400)
    );
}
