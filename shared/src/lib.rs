//! # api-tokens
//!
//! The library behind every function of the API-token service. Its folders are its layers;
//! each imports only from the layers above it in this table (`scripts/check-layers` enforces
//! it, and that no two modules import each other, in the test command):
//!
//! | layer | folder | what it holds |
//! | --- | --- | --- |
//! | leaves | [`support`] | time, CIDR blocks, cursor sealing, secrets, logging, metrics |
//! | domain | [`domain`] | the token record, scopes, the caller, limits, the error of every use case |
//! | store | [`store`] | the [`store::TokenStore`] port, its DynamoDB adapter, the table schema |
//! | config | [`config`] | the environment, SSM keys, SDK clients |
//! | use cases | [`service`] | create, rotate, revoke, verify, list: [`TokenService`] |
//! | adapters | [`http`], [`authorizer`], [`events`] | what a Lambda event becomes, and back |
//!
//! Lambda entry points are thin wrappers around [`http::serve`], [`authorizer::handle`] and
//! the handlers in [`events`].

pub mod authorizer;
pub mod config;
pub mod domain;
pub mod events;
pub mod http;
pub mod service;
pub mod store;
pub mod support;

// The vocabulary every function and test speaks, under short names.
pub use config::{Budget, Config, Keys};
pub use domain::error::ApiError;
pub use domain::principal::Principal;
pub use domain::{model, scope};
pub use service::{service_from_env, TokenService};
pub use store::{schema, DynamoStore};
pub use support::{cursor, logging, metrics, secret, time};
