//! A running REST API: `/<stage>/...` paths, resource selection, the Lambda authorizer on
//! every method, then a mock integration that echoes 200
//! `{"method","path","resource","principalId","authorizer"}`.
//!
//! REST's own answers reproduced: 403 `{"message":"Forbidden"}` for a path outside the
//! stage, 403 `{"message":"Missing Authentication Token"}` for a resource or method the API
//! does not have, 413 `{"message":"Request Too Long"}` over 10 MB, the authorizer's 401 / 403
//! / 500 (see [`super::authorizer`]); each with its `x-amzn-ErrorType`, and
//! `x-amzn-RequestId` on every answer.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use hyper::body::Incoming;
use serde_json::{json, Value};

use super::authorizer::{Authorizer, Outcome};
use super::config::RestApiConfig;
use super::event::{MethodMatch, RestContext};
use crate::apigw::error::ApigwError;
use crate::apigw::gateway::{self, Answer};
use crate::apigw::http::event::add_gateway_headers;
use crate::apigw::ids;
use crate::apigw::request::{ApiRequest, ReadError};
use crate::apigw::route::{self, PathTemplate, RouteKey};
use crate::apigw::server::{Handler, Listener};
use crate::invoke::Invoke;
use crate::model::Deployment;

/// A running REST API; stops on drop or [`RestApiServer::shutdown`].
#[derive(Debug)]
pub struct RestApiServer {
    listener: Listener,
    state: Arc<State>,
}

struct State {
    api: RestContext,
    keys: Vec<RouteKey>,
    resources: Vec<String>,
    authorizer: Authorizer,
    invoker: Arc<dyn Invoke>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// Serves `config` on 127.0.0.1 at a free port, in `deployment`'s account and region.
pub async fn serve_rest_api(
    config: RestApiConfig,
    deployment: &Deployment,
    invoker: Arc<dyn Invoke>,
) -> Result<RestApiServer, ApigwError> {
    let mut keys = Vec::new();
    let mut resources = Vec::new();
    for (method, path) in &config.resources {
        PathTemplate::parse(path)?;
        keys.push(RouteKey::parse(&format!(
            "{} {}",
            method.to_ascii_uppercase(),
            path
        ))?);
        resources.push(path.clone());
    }
    let state = Arc::new(State {
        api: RestContext {
            api_id: config.id.clone(),
            stage: config.stage.clone(),
            account: deployment.account.clone(),
            region: deployment.region.clone(),
            partition: deployment.partition.clone(),
        },
        keys,
        resources,
        authorizer: Authorizer::new(&config.authorizer)?,
        invoker,
    });
    let handler_state = state.clone();
    let handler: Handler = Arc::new(move |request, peer| {
        let state = handler_state.clone();
        Box::pin(async move { state.answer(request, peer).await })
    });
    let listener = Listener::bind(handler).await?;
    Ok(RestApiServer { listener, state })
}

impl RestApiServer {
    /// The invoke URL: `http://127.0.0.1:<port>/<stage>`.
    pub fn url(&self) -> String {
        format!("{}/{}", self.listener.url(), self.state.api.stage)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// How many times the authorizer's function was invoked (cache hits are not).
    pub fn authorizer_invocations(&self) -> u64 {
        self.state.authorizer.invocations.load(Ordering::SeqCst)
    }

    /// Stops listening and closes every connection.
    pub async fn shutdown(self) {
        self.listener.shutdown().await;
    }
}

impl State {
    async fn answer(&self, request: hyper::Request<Incoming>, peer: SocketAddr) -> Answer {
        let request_id = ids::rest_request_id();
        let answer = match ApiRequest::read(request, peer.ip()).await {
            Ok(request) => self.method(request, &request_id).await,
            Err(ReadError::TooLarge) => error(
                413,
                "message",
                json!("Request Too Long"),
                "RequestTooLargeException",
            ),
            Err(ReadError::Body(_)) => {
                error(400, "message", json!("Bad Request"), "BadRequestException")
            }
        };
        gateway::with_header(answer, "x-amzn-requestid", &request_id)
    }

    async fn method(&self, mut request: ApiRequest, request_id: &str) -> Answer {
        let stage_prefix = format!("/{}", self.api.stage);
        let path = match request.raw_path.strip_prefix(&stage_prefix) {
            Some("") => "/".to_owned(),
            Some(p) if p.starts_with('/') => p.to_owned(),
            _ => return error(403, "message", json!("Forbidden"), "ForbiddenException"),
        };
        let Some(selected) = route::select(&self.keys, &request.method, &path) else {
            let missing = json!("Missing Authentication Token");
            return error(
                403,
                "message",
                missing,
                "MissingAuthenticationTokenException",
            );
        };
        add_gateway_headers(&mut request, 443, &ids::trace_id());
        let method = MethodMatch {
            request_id: request_id.to_owned(),
            resource: self.resources[selected.index].clone(),
            path,
            path_params: selected.params,
        };
        let outcome =
            self.authorizer
                .authorize(self.invoker.as_ref(), &request, &self.api, &method);
        match outcome.await {
            Outcome::Allow(context) => {
                let principal = context.get("principalId").cloned().unwrap_or(Value::Null);
                let echo = json!({
                    "method": request.method,
                    "path": method.path,
                    "resource": method.resource,
                    "principalId": principal,
                    "authorizer": context,
                });
                gateway::json(200, &echo, &[])
            }
            Outcome::Unauthorized => error(
                401,
                "message",
                json!("Unauthorized"),
                "UnauthorizedException",
            ),
            Outcome::ExplicitDeny => {
                let text =
                    json!("User is not authorized to access this resource with an explicit deny");
                error(403, "Message", text, "AccessDeniedException")
            }
            Outcome::NotAllowed => {
                let text = json!("User is not authorized to access this resource");
                error(403, "Message", text, "AccessDeniedException")
            }
            Outcome::Failed => error(
                500,
                "message",
                Value::Null,
                "AuthorizerConfigurationException",
            ),
        }
    }
}

/// A REST gateway response: `{<field>: <message>}` with its `x-amzn-ErrorType`.
fn error(status: u16, field: &str, message: Value, error_type: &str) -> Answer {
    let mut body = serde_json::Map::new();
    body.insert(field.into(), message);
    gateway::json(
        status,
        &Value::Object(body),
        &[("x-amzn-errortype", error_type)],
    )
}
