//! A local AWS Lambda and API Gateway for the functions' release binaries.
//!
//! | module | what it stands in for |
//! | --- | --- |
//! | [`model`] | the deployment `scripts/deployment-model` expands from `template.yaml` |
//! | [`invoke`] | what one invocation returns, and the [`invoke::Invoke`] seam API Gateway calls |
//! | `lambda` | the Lambda service: runtime API, environments, freezing, cold starts |
//! | `aws` | DynamoDB (forwarded to DynamoDB Local), SSM, EventBridge and SQS, every call recorded |
//! | `apigw` | API Gateway: HTTP APIs from the model, REST APIs for consumers, authorizers and their cache |

pub mod apigw;
pub mod aws;
pub mod invoke;
pub mod lambda;
pub mod model;
