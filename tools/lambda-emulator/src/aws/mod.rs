//! Stand-ins for the AWS services the functions call, behind one endpoint
//! (`AWS_ENDPOINT_URL`): DynamoDB forwarded to DynamoDB Local, SSM parameters, EventBridge
//! and SQS kept in memory, and every call recorded as the IAM requests it is.

mod call;
pub mod credentials;
mod dynamodb;
mod expression;
mod md5;
mod server;
mod services;

pub use call::Call;
pub use server::{AwsOptions, AwsStandIn};
