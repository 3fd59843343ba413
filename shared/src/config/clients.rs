//! The AWS SDK's clients, built once per cold start: the functions' ([`lambda_sdk_config`],
//! from Lambda's variables only, with the function's time [`Budget`]) and the tools'
//! ([`sdk_config`], the full default chain), both on one HTTP stack ([`http_client`]).

use std::env;

use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::config::budget::Budget;
use crate::config::error::ConfigError;

/// The dev server's DynamoDB client: region, credentials and endpoint from the standard AWS
/// chain ([`sdk_config`]), on the API functions' time budget ([`Budget::API`]), so a hung
/// DynamoDB Local gets the same 503 as a hung DynamoDB.
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let budget = Budget::API.in_effect();
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk_config().await)
        .timeout_config(budget.timeout_config())
        .retry_config(budget.retry_config())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// What the functions' AWS clients are built from, as Lambda runs them: region and
/// credentials from the variables Lambda sets (`AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), endpoint overrides from
/// `AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL`, [`http_client`], and the timeouts and
/// retries of `budget`.
///
/// Unlike [`sdk_config`], nothing else is looked at (no profile files, SSO, IMDS or STS),
/// so the default credential chain is not linked into the functions (its size is in
/// docs/benchmarks.md). Sends no request.
pub fn lambda_sdk_config(budget: Budget) -> Result<aws_config::SdkConfig, ConfigError> {
    lambda_sdk_config_from(|k| env::var(k).ok(), budget)
}

/// [`lambda_sdk_config`] with the environment read through `get`.
pub fn lambda_sdk_config_from(
    get: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    budget: Budget,
) -> Result<aws_config::SdkConfig, ConfigError> {
    let budget = budget.in_effect();
    use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
    let set = |var: &'static str| {
        get(var).filter(|v| !v.is_empty()).ok_or(ConfigError {
            var,
            problem: "is required (Lambda sets it)".into(),
        })
    };
    let region = get("AWS_REGION")
        .filter(|v| !v.is_empty())
        .or_else(|| get("AWS_DEFAULT_REGION"))
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError {
            var: "AWS_REGION",
            problem: "is required (Lambda sets it)".into(),
        })?;
    let credentials = Credentials::new(
        set("AWS_ACCESS_KEY_ID")?,
        set("AWS_SECRET_ACCESS_KEY")?,
        get("AWS_SESSION_TOKEN").filter(|v| !v.is_empty()),
        None,
        "lambda-environment",
    );
    Ok(aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http_client())
        .timeout_config(budget.timeout_config())
        .retry_config(budget.retry_config())
        .service_config(EndpointsFromEnv(Box::new(get)))
        .build())
}

/// `AWS_ENDPOINT_URL_<SERVICE>` (the service id upper-cased, spaces as `_`: `DYNAMODB`,
/// `SSM`, `EVENTBRIDGE`), then `AWS_ENDPOINT_URL`: the environment half of what
/// `aws_config` reads for the same keys.
struct EndpointsFromEnv(Box<Lookup>);

/// Reads one environment variable.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl std::fmt::Debug for EndpointsFromEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EndpointsFromEnv")
    }
}

impl aws_types::service_config::LoadServiceConfig for EndpointsFromEnv {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        let service = key
            .service_id()
            .to_ascii_uppercase()
            .replace([' ', '-'], "_");
        let specific = format!("{}_{service}", key.env());
        let read = |var: &str| (self.0)(var).filter(|v| !v.is_empty());
        read(&specific).or_else(|| read(key.env()))
    }
}

/// What the operator's and developer's tools build their AWS clients from: the full default
/// chain of `aws_config` (environment, profiles, SSO, web identity, IMDS) and
/// [`http_client`].
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}

/// The SDK's HTTP client: hyper with rustls on *ring*; also speaks plain HTTP to DynamoDB
/// Local.
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
