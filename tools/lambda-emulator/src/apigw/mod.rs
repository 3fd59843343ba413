//! Local stand-ins for Amazon API Gateway in front of Lambda functions, invoking them through
//! [`crate::invoke::Invoke`].
//!
//! | module | what it reproduces |
//! | --- | --- |
//! | [`http`] | HTTP APIs from the model: route selection, payload format 2.0 events and answers, Lambda authorizers (simple or IAM policy answers) and their result cache |
//! | [`rest`] | REST APIs for consumer APIs, configured in code: TOKEN and REQUEST Lambda authorizers, their cache of policies, REST's gateway responses, a mock echo integration |
//! | [`policy`] | the IAM policy an authorizer returns, evaluated against a method or route ARN |
//! | [`route`] | most-specific route and resource selection |
//! | [`cache`] | the authorizer result cache, keyed by identity-source values only |
//!
//! Each API listens on 127.0.0.1 at a free port. The client's TCP peer address is its
//! `sourceIp` (API Gateway's `$context.identity.sourceIp`): no header can set it, so tests
//! that need several clients bind them to 127.0.0.2, 127.0.0.3, ...
//!
//! Not reproduced: payload format 1.0 (integrations and authorizers; serving an API that
//! uses it is an error), JWT and IAM authorization, CORS, throttling and usage plans, custom
//! domains, customized gateway responses, `Condition` blocks in authorizer policies, and the
//! client's header-name case in REST events (names arrive lower-cased).

pub mod cache;
pub mod error;
pub mod gateway;
pub mod http;
pub mod ids;
pub mod policy;
pub mod request;
pub mod rest;
pub mod route;
pub mod server;

pub use error::ApigwError;
pub use http::{serve_http_api, serve_http_api_with, HttpApiOptions, HttpApiServer};
pub use rest::{serve_rest_api, RestApiConfig, RestApiServer, RestAuthorizer, RestAuthorizerKind};
