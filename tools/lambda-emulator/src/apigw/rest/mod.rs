//! REST APIs for consumer APIs, configured in code: TOKEN and REQUEST Lambda authorizers,
//! their policy cache, REST's gateway responses, and a mock echo integration.

pub mod authorizer;
pub mod config;
pub mod event;
pub mod server;

pub use config::{RestApiConfig, RestAuthorizer, RestAuthorizerKind, DEFAULT_TTL_SECONDS};
pub use server::{serve_rest_api, RestApiServer};
