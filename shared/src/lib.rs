//! # api-tokens
//!
//! The library behind every function of the API-token service: the token model, the
//! DynamoDB store, secret generation and hashing, opaque cursors, request identity, and the
//! one mapping from errors to HTTP problem responses. Lambda entry points are thin wrappers
//! around [`api::serve`] and [`authorizer::handle`].

pub mod api;
pub mod authorizer;
pub mod bootstrap;
pub mod cidr;
pub mod config;
pub mod cursor;
pub mod error;
pub mod idempotency;
pub mod identity;
pub mod lifecycle;
pub mod listing;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod parameters;
mod record;
pub mod revocation;
pub mod schema;
pub mod scope;
pub mod secret;
pub mod service;
pub mod store;
pub mod time;
pub mod verify_cache;

pub use config::Config;
pub use error::ApiError;
pub use identity::Principal;
pub use service::TokenService;
pub use store::DynamoStore;

/// The service as every function runs it: configuration from the environment (keys from
/// SSM Parameter Store where named) and one DynamoDB client, built once per cold start.
pub async fn service_from_env() -> Result<TokenService<DynamoStore>, config::ConfigError> {
    let sdk = config::lambda_sdk_config()?;
    let config = Config::load(&sdk).await?;
    Ok(TokenService::new(
        DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_name.clone(),
        ),
        &config,
    ))
}
