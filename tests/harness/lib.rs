//! Test harness: a fresh table on the DynamoDB Local that `scripts/test` started, the dev
//! server on an ephemeral port in front of it, and a small HTTP client.
//!
//! Each [`App`] gets its own table, so tests run in parallel without sharing state.

mod app;
pub mod capture;
mod config;
mod dynamodb;
mod fixtures;
mod http;
mod table;
pub use table::{seed_tokens, Snapshot};

pub use app::{mint_token, App};
pub use config::{test_config, test_config_with};
pub use dynamodb::{
    dynamodb, dynamodb_counted, dynamodb_for_service, dynamodb_with, endpoint, RequestCounter,
};
pub use fixtures::{
    fixture, principal, revocation_options, sample_token, sleep_past, sqs_batch, EVENT_SOURCES,
};
pub use http::{HttpClient, Reply};
pub use hyper::Method;
