//! The environment variables a function's process gets, in Lambda's order: Lambda's own
//! (`provided.al2023`), the role's temporary credentials (here one made-up key per function),
//! the template's `Environment`, the emulator's extras, and last the endpoint of the AWS
//! stand-in, so nothing the template says can send a call to real AWS.

use std::collections::BTreeMap;
use std::path::Path;

use crate::aws::credentials::Credentials;
use crate::model::{Deployment, Function};

/// Lambda's `PATH` on `provided.al2023`.
const PATH: &str = "/usr/local/bin:/usr/bin/:/bin:/opt/bin";

/// What [`variables`] needs besides the model.
pub(super) struct Extras<'a> {
    /// Applied after the template's variables.
    pub extra_env: &'a BTreeMap<String, String>,
    /// `AWS_ENDPOINT_URL`.
    pub aws_endpoint: &'a str,
    /// The binary's directory (`LAMBDA_TASK_ROOT`).
    pub task_root: &'a Path,
}

/// Every variable but `AWS_LAMBDA_RUNTIME_API` and `AWS_LAMBDA_LOG_STREAM_NAME` (both per
/// environment), later ones overriding earlier ones.
pub(super) fn variables(
    deployment: &Deployment,
    logical_id: &str,
    function: &Function,
    extras: &Extras<'_>,
) -> Vec<(String, String)> {
    let root = extras.task_root.display().to_string();
    let credentials = Credentials::for_function(logical_id);
    let log_group = function
        .logging
        .log_group
        .clone()
        .unwrap_or_else(|| format!("/aws/lambda/{}", function.name));
    let mut vars: Vec<(String, String)> = [
        ("AWS_LAMBDA_FUNCTION_NAME", function.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            function.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_LOG_GROUP_NAME", log_group),
        ("AWS_REGION", deployment.region.clone()),
        ("AWS_DEFAULT_REGION", deployment.region.clone()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("_HANDLER", "bootstrap".into()),
        ("LAMBDA_TASK_ROOT", root.clone()),
        ("LAMBDA_RUNTIME_DIR", root),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", PATH.into()),
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key),
        ("AWS_SESSION_TOKEN", credentials.session_token),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(format) = &function.logging.log_format {
        vars.push(("AWS_LAMBDA_LOG_FORMAT".into(), format.clone()));
    }
    if let Some(level) = &function.logging.application_log_level {
        vars.push(("AWS_LAMBDA_LOG_LEVEL".into(), level.clone()));
    }
    vars.extend(function.environment.clone());
    vars.extend(extras.extra_env.clone());
    vars.push(("AWS_ENDPOINT_URL".into(), extras.aws_endpoint.to_owned()));
    vars
}
