//! The three routes. The authorizer has already refused a token without the route's declared
//! scope; each route checks it again (defence in depth: a route left out of the declarations,
//! or an API deployed without them, still answers `403`), and confines every read and write
//! to the caller's tenant.

use std::convert::Infallible;

use api_tokens_consumer::{Principal, Problem};
use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::json;

use crate::input::parse_new_order;
use crate::orders::{Orders, StoreError};

/// Reads the tenant's orders.
pub const READ: &str = "orders:read";
/// Creates orders.
pub const WRITE: &str = "orders:write";

/// Serves one request; every failure is a problem+json answer.
pub async fn handle(orders: &Orders, req: Request) -> Result<Response<Body>, Infallible> {
    Ok(match route(orders, &req).await {
        Ok(resp) => resp,
        Err(problem) => problem.at(req.uri().path()).into_response(),
    })
}

async fn route(orders: &Orders, req: &Request) -> Result<Response<Body>, Problem> {
    let caller = Principal::from_request(req)?;
    let id = req.path_parameters_ref().and_then(|p| p.first("id"));
    match (req.method(), id) {
        (&Method::GET, None) => {
            caller.require_scope(READ)?;
            let items = orders.list(&caller.tenant_id).await?;
            Ok(json(StatusCode::OK, &json!({ "items": items })))
        }
        (&Method::GET, Some(id)) => {
            caller.require_scope(READ)?;
            // Not a UUID: no such order, without asking DynamoDB.
            let found = match uuid::Uuid::parse_str(id) {
                Ok(_) => orders.get(&caller.tenant_id, id).await?,
                Err(_) => None,
            };
            let order = found.ok_or_else(|| {
                Problem::new(
                    404,
                    "order-not-found",
                    "Order not found",
                    "no order with this id",
                )
            })?;
            Ok(json(StatusCode::OK, &order))
        }
        (&Method::POST, None) => {
            caller.require_scope(WRITE)?;
            let new = parse_new_order(req.body().as_ref())?;
            let order = orders
                .create(&caller.tenant_id, &caller.user_id, new)
                .await?;
            Ok(json(StatusCode::CREATED, &order))
        }
        _ => Err(Problem::new(
            404,
            "route-not-found",
            "Not found",
            "no route for this path",
        )),
    }
}

impl From<StoreError> for Problem {
    fn from(_: StoreError) -> Self {
        Problem::internal()
    }
}

/// A JSON answer that no cache keeps.
fn json(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let mut resp = Response::new(Body::from(
        serde_json::to_string(body).unwrap_or_else(|_| "{}".into()),
    ));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use serde_json::Value;

    /// Orders whose table cannot be reached: a test that got as far as DynamoDB would
    /// answer 500.
    fn unreachable() -> Orders {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .build();
        Orders::new(aws_sdk_dynamodb::Client::from_conf(config), "orders".into())
    }

    /// An HTTP API request through the authorizer, by a token of acme with `scopes`.
    fn request(method: &str, path: &str, scopes: &str, body: Option<&str>) -> Request {
        let id = path.strip_prefix("/orders/");
        let route = match id {
            Some(_) => format!("{method} /orders/{{id}}"),
            None => format!("{method} {path}"),
        };
        let event = json!({
            "version": "2.0", "routeKey": route, "rawPath": path, "rawQueryString": "",
            "headers": {"content-type": "application/json"},
            "requestContext": {
                "apiId": "abc123defg", "routeKey": route, "stage": "$default",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "10.1.2.3"},
                "authorizer": {"lambda": {
                    "context_version": "1", "tenant_id": "acme", "user_id": "alice",
                    "token_id": "t1", "scopes": scopes, "route": route
                }}
            },
            "pathParameters": id.map(|id| json!({"id": id})),
            "body": body, "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    async fn answer(req: Request) -> (u16, Value) {
        let resp = handle(&unreachable(), req).await.unwrap();
        let body = serde_json::from_slice(resp.body().as_ref()).unwrap();
        (resp.status().as_u16(), body)
    }

    #[tokio::test]
    async fn a_token_without_the_routes_scope_gets_the_services_403() {
        let (status, body) = answer(request("POST", "/orders", "orders:read", Some("{}"))).await;
        assert_eq!(status, 403);
        assert_eq!(body["type"], "/problems/missing-scope");
        assert_eq!(
            body["detail"],
            "this request needs the `orders:write` scope"
        );
        assert_eq!(body["instance"], "/orders");
        for path in ["/orders", "/orders/0190a5c4-aaaa-7bbb-8ccc-000000000001"] {
            let (status, body) = answer(request("GET", path, "orders:write", None)).await;
            assert_eq!(status, 403, "{path}");
            assert_eq!(body["detail"], "this request needs the `orders:read` scope");
        }
    }

    #[tokio::test]
    async fn a_request_without_the_authorizers_context_is_a_401() {
        let mut req = request("GET", "/orders", "orders:read", None);
        let ctx = lambda_http::request::RequestContext::ApiGatewayV2(Default::default());
        req.extensions_mut().insert(ctx);
        let (status, body) = answer(req).await;
        assert_eq!(
            (status, body["type"].as_str()),
            (401, Some("/problems/unauthorized"))
        );
    }

    #[tokio::test]
    async fn an_invalid_order_is_a_422_before_anything_is_stored() {
        let body = r#"{"item": "", "quantity": 0}"#;
        let (status, body) = answer(request("POST", "/orders", "orders:write", Some(body))).await;
        assert_eq!(status, 422);
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(2));
        assert_eq!(body["instance"], "/orders");
    }

    #[tokio::test]
    async fn an_id_that_is_no_order_id_is_a_404() {
        let (status, body) = answer(request("GET", "/orders/nope", "orders:read", None)).await;
        assert_eq!(
            (status, body["type"].as_str()),
            (404, Some("/problems/order-not-found"))
        );
    }

    #[tokio::test]
    async fn a_store_failure_is_a_500_without_its_cause() {
        let (status, body) = answer(request("GET", "/orders", "orders:read", None)).await;
        assert_eq!(status, 500);
        assert_eq!(body["detail"], "internal error");
    }
}
