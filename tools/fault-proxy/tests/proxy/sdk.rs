//! The real AWS SDK through the proxy to DynamoDB Local (`DYNAMODB_ENDPOINT`, for example
//! `http://127.0.0.1:8000`); skipped when it is not set.

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::Client;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use fault_proxy::{Fault, FaultProxy, Rule};

fn client(endpoint: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .http_client(http)
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn the_sdk_works_through_the_proxy_and_sees_a_throttle_as_dynamodbs() {
    let Ok(dynamodb) = std::env::var("DYNAMODB_ENDPOINT") else {
        eprintln!(
            "skipped: DYNAMODB_ENDPOINT is not set (DynamoDB Local's http://127.0.0.1:<port>)"
        );
        return;
    };
    let proxy = FaultProxy::start(&dynamodb).await.unwrap();
    let client = client(&proxy.endpoint());

    client
        .list_tables()
        .send()
        .await
        .expect("ListTables through the proxy");

    proxy.set(vec![Rule::new(Fault::Throttle).target("ListTables")]);
    let error = client.list_tables().send().await.expect_err("throttled");
    assert_eq!(error.code(), Some("ThrottlingException"), "{error:?}");

    proxy.clear();
    client
        .list_tables()
        .send()
        .await
        .expect("ListTables after clear");
    let stats = proxy.stats();
    assert_eq!(
        (
            stats.target("ListTables"),
            stats.forwarded,
            stats.applied("throttle")
        ),
        (3, 2, 1)
    );
}
