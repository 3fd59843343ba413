//! DynamoDB Local clients: fixed dummy credentials, and interceptors that count or meter
//! their requests.

use std::sync::Arc;

use api_tokens::config;
use aws_sdk_dynamodb::config::{Credentials, Region};

use crate::capture;

/// The DynamoDB Local endpoint. `scripts/test` sets `DYNAMODB_ENDPOINT`.
pub fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT is not set: run the suite with ./scripts/test, which starts DynamoDB Local",
    )
}

/// Counts every DynamoDB request a client sends (an SDK interceptor, so retries of one
/// operation count once and nothing is faked).
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<std::sync::atomic::AtomicUsize>);

impl RequestCounter {
    /// Requests sent so far.
    pub fn get(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl aws_sdk_dynamodb::config::Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_execution(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// A DynamoDB client for DynamoDB Local with fixed dummy credentials.
pub fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    dynamodb_counted(endpoint, RequestCounter::default())
}

/// [`dynamodb`], counting its requests in `counter`.
pub fn dynamodb_counted(endpoint: &str, counter: RequestCounter) -> aws_sdk_dynamodb::Client {
    capture::install_log_capture();
    dynamodb_with(endpoint, counter)
}

/// The service's own client: [`dynamodb_counted`] on the time budget the API's functions run
/// on (`Budget::API`: per-attempt and per-operation timeouts, retries with jitter).
pub fn dynamodb_for_service(endpoint: &str, counter: RequestCounter) -> aws_sdk_dynamodb::Client {
    capture::install_log_capture();
    let budget = api_tokens::Budget::API.in_effect();
    let conf = builder(endpoint, counter)
        .timeout_config(budget.timeout_config())
        .retry_config(budget.retry_config())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// A DynamoDB Local client with fixed dummy credentials and `interceptor` on it (request
/// counters, capacity meters).
pub fn dynamodb_with(
    endpoint: &str,
    interceptor: impl aws_sdk_dynamodb::config::Intercept + 'static,
) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(builder(endpoint, interceptor).build())
}

fn builder(
    endpoint: &str,
    interceptor: impl aws_sdk_dynamodb::config::Intercept + 'static,
) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .interceptor(interceptor)
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .endpoint_url(endpoint)
        .http_client(config::http_client())
        .timeout_config(harness_timeouts())
}

/// The tests' own requests (seeding, reading tables back) wait long, but not forever: an
/// answer DynamoDB Local never sends (seen once in a full run, four tests stalled for 16
/// minutes) becomes a retry, then a failure that names the request.
fn harness_timeouts() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(std::time::Duration::from_secs(30))
        .operation_timeout(std::time::Duration::from_secs(100))
        .build()
}
