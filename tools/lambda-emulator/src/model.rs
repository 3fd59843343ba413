//! The deployment as `scripts/deployment-model` expands it from `template.yaml` with the SAM
//! translator: every intrinsic resolved, parameters at their defaults unless overridden, and
//! physical names derived from the stack name. The format is described in that script.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// Why a model could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read.
    #[error("cannot read the deployment model {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a deployment model.
    #[error("the deployment model {path} is not valid: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
}

/// One stack, as deployed.
#[derive(Debug, Clone, Deserialize)]
pub struct Deployment {
    /// The stack's name; physical names derive from it.
    pub stack_name: String,
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::AccountId`.
    pub account: String,
    /// `AWS::Partition`.
    #[serde(default = "aws")]
    pub partition: String,
    /// Every template parameter's value.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Functions by logical id.
    pub functions: BTreeMap<String, Function>,
    /// HTTP APIs by logical id.
    #[serde(default)]
    pub http_apis: BTreeMap<String, HttpApi>,
    /// DynamoDB tables by logical id.
    #[serde(default)]
    pub tables: BTreeMap<String, Table>,
    /// SQS queues by logical id.
    #[serde(default)]
    pub queues: BTreeMap<String, Queue>,
    /// EventBridge buses by logical id.
    #[serde(default)]
    pub event_buses: BTreeMap<String, EventBus>,
    /// REST APIs (`AWS::Serverless::Api`) by logical id.
    #[serde(default)]
    pub rest_apis: BTreeMap<String, RestApi>,
    /// The `AWS::SSM::Parameter`s the stack creates: name → value (String parameters).
    #[serde(default)]
    pub ssm_parameters: BTreeMap<String, String>,
    /// The outputs' exports: export name → value (what other stacks' `Fn::ImportValue` get).
    #[serde(default)]
    pub exports: BTreeMap<String, String>,
}

fn aws() -> String {
    "aws".into()
}

impl Deployment {
    /// Reads a model written by `scripts/deployment-model`.
    pub fn read(path: &Path) -> Result<Self, ModelError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read {
            path: shown.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ModelError::Parse {
            path: shown,
            source,
        })
    }
}

/// One `AWS::Lambda::Function`.
#[derive(Debug, Clone, Deserialize)]
pub struct Function {
    /// Physical name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// The cargo binary whose `bootstrap` it runs.
    pub binary: String,
    /// Memory in MB.
    pub memory_mb: u32,
    /// Timeout in seconds.
    pub timeout_seconds: u32,
    /// Reserved concurrency, if any.
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    /// The environment variables the template gives it.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Log format, level and group.
    #[serde(default)]
    pub logging: Logging,
    /// Logical id of its execution role.
    #[serde(default)]
    pub role: String,
    /// Every policy of its role, resolved.
    #[serde(default)]
    pub policies: Vec<Policy>,
    /// What invokes it besides API Gateway routes.
    #[serde(default)]
    pub event_sources: Vec<Value>,
    /// Its aliases' names (`AutoPublishAlias`: `live`).
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A function's `LoggingConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Logging {
    /// `Text` or `JSON`.
    #[serde(default)]
    pub log_format: Option<String>,
    /// `TRACE` .. `FATAL`, JSON format only.
    #[serde(default)]
    pub application_log_level: Option<String>,
    /// The log group's name.
    #[serde(default)]
    pub log_group: Option<String>,
}

/// One policy attached to a role.
#[derive(Debug, Clone, Deserialize)]
pub struct Policy {
    /// `inline:<name>` or `managed:<arn or logical id>`.
    pub source: String,
    /// The IAM policy document.
    pub document: Value,
}

/// One HTTP API (`AWS::Serverless::HttpApi`).
#[derive(Debug, Clone, Deserialize)]
pub struct HttpApi {
    /// The API id in ARNs and URLs.
    pub id: String,
    /// The stage (`$default`).
    #[serde(default = "default_stage")]
    pub stage: String,
    /// Its routes.
    pub routes: Vec<Route>,
    /// Its authorizers by name.
    #[serde(default)]
    pub authorizers: BTreeMap<String, HttpAuthorizer>,
}

fn default_stage() -> String {
    "$default".into()
}

/// One route of an HTTP API.
#[derive(Debug, Clone, Deserialize)]
pub struct Route {
    /// `GET /tokens/{id}`, or `$default`.
    pub route_key: String,
    /// Logical id of the integration's function.
    pub function: String,
    /// Name of the route's authorizer, if any.
    #[serde(default)]
    pub authorizer: Option<String>,
    /// `1.0` or `2.0`.
    #[serde(default = "two")]
    pub payload_format: String,
}

fn two() -> String {
    "2.0".into()
}

/// A Lambda authorizer of an HTTP API.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpAuthorizer {
    /// Logical id of its function; empty when it is another stack's (see `function_arn`).
    #[serde(default)]
    pub function: String,
    /// The function ARN the authorizer names (an alias's, or an imported one).
    #[serde(default)]
    pub function_arn: Option<String>,
    /// Identity sources as API Gateway has them (`$request.header.Authorization`).
    pub identity_sources: Vec<String>,
    /// Seconds a result is cached (0: no cache).
    #[serde(default)]
    pub result_ttl_seconds: u32,
    /// Whether the answer is `{"isAuthorized": ..}` rather than an IAM policy.
    #[serde(default)]
    pub enable_simple_responses: bool,
    /// `1.0` or `2.0`.
    #[serde(default = "two")]
    pub payload_format: String,
}

impl HttpAuthorizer {
    /// What to invoke: the logical id, else the function ARN.
    pub fn target(&self) -> &str {
        match &self.function_arn {
            Some(arn) if self.function.is_empty() => arn,
            _ => &self.function,
        }
    }
}

/// One REST API (`AWS::Serverless::Api`), from its Swagger body.
#[derive(Debug, Clone, Deserialize)]
pub struct RestApi {
    /// The API id in ARNs and URLs.
    pub id: String,
    /// The stage, the first segment of every path.
    pub stage: String,
    /// Its methods.
    #[serde(default)]
    pub routes: Vec<RestRoute>,
    /// Its Lambda authorizers by name.
    #[serde(default)]
    pub authorizers: BTreeMap<String, RestAuthorizerModel>,
}

/// One method of a REST API.
#[derive(Debug, Clone, Deserialize)]
pub struct RestRoute {
    /// `GET`, or `ANY`.
    pub method: String,
    /// The resource path (`/orders/{id}`).
    pub path: String,
    /// Logical id of the integration's function.
    pub function: String,
    /// Name of the method's authorizer, if any.
    #[serde(default)]
    pub authorizer: Option<String>,
}

/// A Lambda authorizer of a REST API.
#[derive(Debug, Clone, Deserialize)]
pub struct RestAuthorizerModel {
    /// Logical id of its function; empty when it is another stack's.
    #[serde(default)]
    pub function: String,
    /// The function ARN the authorizer names.
    pub function_arn: String,
    /// `TOKEN` or `REQUEST`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `method.request.header.Authorization`, `context.identity.sourceIp`, ...
    #[serde(default)]
    pub identity_sources: Vec<String>,
    /// Seconds a policy is cached (0: no cache).
    #[serde(default)]
    pub result_ttl_seconds: u32,
    /// A TOKEN authorizer's validation expression.
    #[serde(default)]
    pub validation_expression: Option<String>,
}

/// A DynamoDB table.
#[derive(Debug, Clone, Deserialize)]
pub struct Table {
    /// Physical name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Its stream's ARN, if any.
    #[serde(default)]
    pub stream_arn: Option<String>,
    /// Partition key attribute.
    pub partition_key: String,
    /// Sort key attribute, if any.
    #[serde(default)]
    pub sort_key: Option<String>,
    /// Global secondary indexes by name.
    #[serde(default)]
    pub indexes: BTreeMap<String, Index>,
    /// Key attributes' types (`S`, `N`, `B`) by name.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// A global secondary index's key.
#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    /// Partition key attribute.
    pub partition_key: String,
    /// Sort key attribute, if any.
    #[serde(default)]
    pub sort_key: Option<String>,
}

/// An SQS queue.
#[derive(Debug, Clone, Deserialize)]
pub struct Queue {
    /// Physical name.
    pub name: String,
    /// URL.
    pub url: String,
    /// ARN.
    pub arn: String,
}

/// An EventBridge bus.
#[derive(Debug, Clone, Deserialize)]
pub struct EventBus {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authorizer_of_another_stack_is_invoked_by_its_arn() {
        let read = |v: Value| serde_json::from_value::<HttpAuthorizer>(v).expect("authorizer");
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:tokens-Authorizer:live";
        let own = read(
            serde_json::json!({"function": "Authorizer", "function_arn": arn,
            "identity_sources": []}),
        );
        assert_eq!(own.target(), "Authorizer");
        let imported = read(serde_json::json!({"function": "", "function_arn": arn,
            "identity_sources": []}));
        assert_eq!(imported.target(), arn);
        let older = read(serde_json::json!({"function": "Authorizer", "identity_sources": []}));
        assert_eq!(older.target(), "Authorizer");
    }
}
