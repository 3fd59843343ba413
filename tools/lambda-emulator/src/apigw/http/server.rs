//! A running HTTP API: stage, route selection, the route's Lambda authorizer, then the
//! Lambda proxy integration, with API Gateway's own answers where it gives them:
//! 404 `{"message":"Not Found"}` (no route, or a path outside a named stage), 413
//! `{"message":"Request Entity Too Large"}` (body over 10 MB), 503
//! `{"message":"Service Unavailable"}` (integration over 30 s), and `apigw-requestid` on
//! every answer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;

use super::authorizer::{Authorizer, Outcome};
use super::event::{add_gateway_headers, integration_event, ApiContext, RouteMatch};
use super::response::{integration_answer, internal_error};
use crate::apigw::error::ApigwError;
use crate::apigw::gateway::{self, Answer};
use crate::apigw::ids;
use crate::apigw::request::{ApiRequest, ReadError};
use crate::apigw::route::{self, RouteKey};
use crate::apigw::server::{Handler, Listener};
use crate::invoke::Invoke;
use crate::model::{Deployment, HttpApi};

/// API Gateway's integration timeout for HTTP APIs.
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// What the model does not say about a stage.
#[derive(Debug, Clone)]
pub struct HttpApiOptions {
    /// How long the integration may take before 503 (30 s in AWS).
    pub integration_timeout: Duration,
    /// The stage's variables (`$stageVariables.x`, `stageVariables`).
    pub stage_variables: BTreeMap<String, String>,
}

impl Default for HttpApiOptions {
    fn default() -> Self {
        Self {
            integration_timeout: INTEGRATION_TIMEOUT,
            stage_variables: BTreeMap::new(),
        }
    }
}

/// A running HTTP API; stops on drop or [`HttpApiServer::shutdown`].
#[derive(Debug)]
pub struct HttpApiServer {
    listener: Listener,
    state: Arc<State>,
}

struct State {
    api: ApiContext,
    keys: Vec<RouteKey>,
    routes: Vec<Target>,
    authorizers: BTreeMap<String, Authorizer>,
    invoker: Arc<dyn Invoke>,
    options: HttpApiOptions,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

struct Target {
    route_key: String,
    function: String,
    authorizer: Option<String>,
}

/// Serves `api` of `deployment` on 127.0.0.1 at a free port, invoking functions with `invoker`.
pub async fn serve_http_api(
    api: &HttpApi,
    deployment: &Deployment,
    invoker: Arc<dyn Invoke>,
) -> Result<HttpApiServer, ApigwError> {
    serve_http_api_with(api, deployment, invoker, HttpApiOptions::default()).await
}

/// [`serve_http_api`] with stage variables or a shorter integration timeout.
pub async fn serve_http_api_with(
    api: &HttpApi,
    deployment: &Deployment,
    invoker: Arc<dyn Invoke>,
    options: HttpApiOptions,
) -> Result<HttpApiServer, ApigwError> {
    let mut keys = Vec::new();
    let mut routes = Vec::new();
    for r in &api.routes {
        check_format(&r.payload_format, &r.route_key)?;
        if let Some(name) = r
            .authorizer
            .as_ref()
            .filter(|n| !api.authorizers.contains_key(*n))
        {
            return Err(ApigwError::UnknownAuthorizer {
                route: r.route_key.clone(),
                authorizer: name.clone(),
            });
        }
        keys.push(RouteKey::parse(&r.route_key)?);
        routes.push(Target {
            route_key: r.route_key.clone(),
            function: r.function.clone(),
            authorizer: r.authorizer.clone(),
        });
    }
    let mut authorizers = BTreeMap::new();
    for (name, config) in &api.authorizers {
        check_format(&config.payload_format, name)?;
        authorizers.insert(name.clone(), Authorizer::new(config));
    }
    let state = Arc::new(State {
        api: ApiContext {
            api_id: api.id.clone(),
            stage: api.stage.clone(),
            account: deployment.account.clone(),
            region: deployment.region.clone(),
            partition: deployment.partition.clone(),
            stage_variables: options.stage_variables.clone(),
        },
        keys,
        routes,
        authorizers,
        invoker,
        options,
    });
    let handler_state = state.clone();
    let handler: Handler = Arc::new(move |request, peer| {
        let state = handler_state.clone();
        Box::pin(async move { state.answer(request, peer).await })
    });
    let listener = Listener::bind(handler).await?;
    Ok(HttpApiServer { listener, state })
}

fn check_format(version: &str, what: &str) -> Result<(), ApigwError> {
    if version == "2.0" {
        return Ok(());
    }
    Err(ApigwError::PayloadFormat {
        what: what.into(),
        version: version.into(),
    })
}

impl HttpApiServer {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.listener.url()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// How many times any authorizer's function was invoked (cache hits are not).
    pub fn authorizer_invocations(&self) -> u64 {
        let all = self.state.authorizers.values();
        all.map(|a| a.invocations.load(Ordering::SeqCst)).sum()
    }

    /// How many times authorizer `name`'s function was invoked.
    pub fn authorizer_invocations_of(&self, name: &str) -> u64 {
        let authorizer = self.state.authorizers.get(name);
        authorizer.map_or(0, |a| a.invocations.load(Ordering::SeqCst))
    }

    /// Stops listening and closes every connection.
    pub async fn shutdown(self) {
        self.listener.shutdown().await;
    }
}

impl State {
    async fn answer(&self, request: hyper::Request<Incoming>, peer: SocketAddr) -> Answer {
        let request_id = ids::http_request_id();
        let answer = match ApiRequest::read(request, peer.ip()).await {
            Ok(request) => self.route(request, &request_id).await,
            Err(ReadError::TooLarge) => gateway::message(413, "Request Entity Too Large"),
            Err(ReadError::Body(_)) => gateway::message(400, "Bad Request"),
        };
        gateway::with_header(answer, "apigw-requestid", &request_id)
    }

    async fn route(&self, mut request: ApiRequest, request_id: &str) -> Answer {
        let Some(stage_path) = self.stage_path(&request.raw_path) else {
            return gateway::message(404, "Not Found");
        };
        let Some(selected) = route::select(&self.keys, &request.method, &stage_path) else {
            return gateway::message(404, "Not Found");
        };
        let target = &self.routes[selected.index];
        let port = local_port(&request);
        add_gateway_headers(&mut request, port, &ids::trace_id());
        let matched = RouteMatch {
            request_id: request_id.to_owned(),
            route_key: target.route_key.clone(),
            path_params: selected.params,
            stage_path,
        };
        let authorizer = target
            .authorizer
            .as_ref()
            .and_then(|n| self.authorizers.get(n));
        let context = match authorizer {
            None => None,
            Some(authorizer) => {
                let outcome =
                    authorizer.authorize(self.invoker.as_ref(), &request, &self.api, &matched);
                match outcome.await {
                    Outcome::Allow(context) => Some(context),
                    Outcome::Unauthorized => return gateway::message(401, "Unauthorized"),
                    Outcome::Forbidden => return gateway::message(403, "Forbidden"),
                    Outcome::Failed => return internal_error(),
                }
            }
        };
        let event = integration_event(&request, &self.api, &matched, context.as_ref());
        let invocation = self.invoker.invoke(&target.function, event);
        match tokio::time::timeout(self.options.integration_timeout, invocation).await {
            Ok(invocation) => integration_answer(&invocation.result),
            Err(_) => gateway::message(503, "Service Unavailable"),
        }
    }

    /// The path without the stage prefix; `None` when it is outside the stage.
    fn stage_path(&self, raw_path: &str) -> Option<String> {
        if self.api.stage == "$default" {
            return Some(raw_path.to_owned());
        }
        let rest = raw_path
            .strip_prefix('/')?
            .strip_prefix(self.api.stage.as_str())?;
        match rest {
            "" => Some("/".into()),
            r if r.starts_with('/') => Some(r.into()),
            _ => None,
        }
    }
}

/// The port the client connected to, from its `Host` header (API Gateway's is 443).
fn local_port(request: &ApiRequest) -> u16 {
    let host = request.joined_header("host").unwrap_or_default();
    host.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(80)
}
