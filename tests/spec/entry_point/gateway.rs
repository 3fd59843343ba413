//! API Gateway (HTTP API, payload 2.0) in front of the Lambdas' own code: the dev server's
//! [`dev_server::gateway`] on a generated request, each route served by the function it is
//! integrated with in `template.yaml` (`http::serve` with that function's operations).

use api_tokens::http::{self, Operation};
use api_tokens::{DynamoStore, TokenService};
pub(super) use dev_server::Answerer;
use dev_server::{gateway, header_map, GatewayRequest};
use lambda_http::http::Method;
use lambda_http::Body;

/// One HTTP request as a client sends it (placeholders filled).
#[derive(Debug, Clone)]
pub(super) struct Sent {
    pub(super) method: String,
    /// The raw path, percent-encoded as on the wire.
    pub(super) path: String,
    /// The raw query string, without `?`.
    pub(super) query: String,
    /// Header names and values, in order; names may repeat.
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

/// The answer, and who gave it.
pub(super) struct Answer {
    pub(super) by: Answerer,
    pub(super) response: lambda_http::Response<Body>,
}

/// Sends `sent` through API Gateway's route match, the authorizer and the route's own
/// function, as `tools/dev-server` does with a socket's requests. `Err` is what AWS answers
/// 500 for: the authorizer failing, or an event the function cannot read.
pub(super) async fn send(
    service: &TokenService<DynamoStore>,
    sent: &Sent,
) -> Result<Answer, String> {
    let method = Method::from_bytes(sent.method.as_bytes()).map_err(|e| e.to_string())?;
    let headers = sent.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()));
    let req = GatewayRequest {
        method: &method,
        path: &sent.path,
        raw_query: &sent.query,
        headers: header_map(headers),
        body: &sent.body,
        source_ip: "203.0.113.7".into(),
    };
    let (by, response) = gateway(service, &req, function_of)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Answer { by, response })
}

/// The operations of the Lambda function API Gateway integrates `operation`'s route with.
fn function_of(operation: Operation) -> &'static [Operation] {
    [
        http::LIST_FUNCTION,
        http::CREATE_FUNCTION,
        http::REVOKE_FUNCTION,
    ]
    .into_iter()
    .find(|ops| ops.contains(&operation))
    .unwrap_or(http::ALL_OPERATIONS)
}
