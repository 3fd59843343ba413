//! HTTP APIs (`AWS::Serverless::HttpApi`) as the deployment model describes them: routes,
//! Lambda authorizers with their cache, and Lambda proxy integrations in payload format 2.0.

pub mod authorizer;
pub mod event;
pub mod response;
pub mod server;

pub use server::{serve_http_api, serve_http_api_with, HttpApiOptions, HttpApiServer};
