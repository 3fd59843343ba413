//! The consumer example (`examples/orders/`) deployed beside the token stack: its HTTP API
//! and REST API behind the token stack's authorizer, imported by its alias ARN, with the
//! route scopes its own stack declares in SSM. What a team adopting the tokens gets: a read
//! token reads and is refused at the edge for a write (the orders function never runs), a
//! revoked token is refused, tenants see only their own orders, and a REST policy cached for
//! one method is right for the next.

use hyper::Method;
use lambda_emulator::apigw::{serve_rest_api, RestApiServer};
use serde_json::json;

use crate::consumer::Consumer;
use crate::stack::{request, Reply, LOCALHOST};

const MODEL: &str = "orders-model.json";
const HTTP_API: &str = "OrdersApi";
const REST_API: &str = "OrdersRestApi";
const FUNCTION: &str = "OrdersFunction";
const READ: &str = "orders:read";
const WRITE: &str = "orders:write";
const ADMIN: &[&str] = &[
    "tokens:read",
    "tokens:write",
    "tokens:admin",
    "orders:read",
    "orders:write",
];

/// An order nobody else has: its `item` is unique.
fn order() -> (String, serde_json::Value) {
    let item = format!("widget-{}", uuid::Uuid::now_v7());
    (item.clone(), json!({"item": item, "quantity": 2}))
}

#[tokio::test]
async fn the_imported_authorizer_is_the_token_stacks_alias_and_the_declarations_are_served() {
    let stack = Consumer::start(MODEL, HTTP_API).await;
    let exports = &stack.tokens.deployment.exports;
    let authorizer_arn = exports
        .iter()
        .find(|(name, _)| name.ends_with("-AuthorizerFunctionArn"))
        .map(|(_, arn)| arn.clone())
        .expect("the token stack exports its authorizer");
    assert!(authorizer_arn.ends_with(":live"), "{authorizer_arn}");
    for authorizer in stack.deployment.http_apis[HTTP_API].authorizers.values() {
        assert_eq!(authorizer.target(), authorizer_arn);
        let resolved = stack.router.resolve(authorizer.target()).map(|(_, id)| id);
        assert_eq!(resolved.as_deref(), Some("TokensAuthorizerFunction"));
    }
    // Each of the consumer's APIs has its declaration, under the token stack's prefix.
    let prefix = exports
        .iter()
        .find(|(name, _)| name.ends_with("-RouteScopesParameterPrefix"))
        .map(|(_, prefix)| prefix.clone())
        .expect("the token stack exports its declarations' prefix");
    let ids = [
        &stack.deployment.http_apis[HTTP_API].id,
        &stack.deployment.rest_apis[REST_API].id,
    ];
    for id in ids {
        let declared = &stack.tokens.deployment.ssm_parameters[&format!("{prefix}{id}")];
        let value: serde_json::Value = serde_json::from_str(declared).expect("JSON");
        assert_eq!(value["version"], 1, "{declared}");
    }
}

#[tokio::test]
async fn a_read_token_reads_and_its_write_is_refused_at_the_edge_without_running_the_function() {
    let stack = Consumer::start(MODEL, HTTP_API).await;
    let tenant = "orders-e2e-edge";
    let reader = stack.tokens.mint(tenant, "ann", &[READ]).await;
    let writer = stack.tokens.mint(tenant, "bob", &[WRITE]).await;

    let (item, body) = order();
    let created = stack
        .call(Method::POST, "/orders", &writer, Some(body))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = order_id(&created);

    let listed = stack.call(Method::GET, "/orders", &reader, None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(listed.text.contains(&item), "{}", listed.text);
    if has_route(&stack, "GET /orders/{id}") {
        let one = stack
            .call(Method::GET, &format!("/orders/{id}"), &reader, None)
            .await;
        assert_eq!(one.status, 200, "{}", one.text);
        assert_eq!(one.json["item"], item.as_str());
    }

    let before = stack.lambda.stats(FUNCTION).invocations;
    let (_, body) = order();
    let refused = stack
        .call(Method::POST, "/orders", &reader, Some(body))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.json, json!({"message": "Forbidden"}));
    assert_eq!(stack.lambda.stats(FUNCTION).invocations, before);
    // The write token cannot read: its list is refused at the edge too.
    let blind = stack.call(Method::GET, "/orders", &writer, None).await;
    assert_eq!(blind.status, 403, "{}", blind.text);
    assert_eq!(stack.lambda.stats(FUNCTION).invocations, before);
    let errors = stack.tokens.lambda.stats("TokensAuthorizerFunction").errors;
    assert_eq!(errors, 0, "a refusal is an answer, not a function error");
    // The orders function's calls reach its own stack's stand-in (and its IAM check), each
    // one on its own table.
    let tables: Vec<&str> = stack
        .deployment
        .tables
        .values()
        .map(|t| t.arn.as_str())
        .collect();
    let calls = stack.aws.calls();
    assert!(!calls.is_empty());
    for call in calls {
        assert_eq!(
            (call.function.as_str(), call.service.as_str()),
            (FUNCTION, "dynamodb")
        );
        assert!(
            tables.iter().any(|t| call.resource.starts_with(t)),
            "{call:?}"
        );
    }
}

#[tokio::test]
async fn a_token_minted_through_the_api_with_the_consumers_scope_works_until_revoked() {
    let stack = Consumer::start(MODEL, HTTP_API).await;
    let tenant = "orders-e2e-revoke";
    let admin = stack.tokens.mint(tenant, "ops", ADMIN).await;
    // The consumer's scopes exist in this deployment (EXTRA_SCOPES): the create binary mints.
    let minted = stack
        .tokens
        .call(
            Method::POST,
            "/tokens",
            &admin,
            Some(json!({"name": "orders reader", "scopes": [READ]})),
        )
        .await;
    assert_eq!(minted.status, 201, "{}", minted.text);
    let id = minted.json["id"].as_str().unwrap().to_owned();
    let secret = minted.json["secret"].as_str().unwrap().to_owned();
    // With an API Gateway result cache, a cached allow outlives a revocation by up to its TTL
    // (documented): then only a token not used before the revocation is checked here.
    let cached = stack.deployment.http_apis[HTTP_API]
        .authorizers
        .values()
        .any(|a| a.result_ttl_seconds > 0);
    if !cached {
        let ok = stack.call(Method::GET, "/orders", &secret, None).await;
        assert_eq!(ok.status, 200, "{}", ok.text);
    }
    let revoked = stack
        .tokens
        .call(Method::POST, &format!("/tokens/{id}/revoke"), &admin, None)
        .await;
    assert!(matches!(revoked.status, 200 | 204), "{}", revoked.text);

    let before = stack.lambda.stats(FUNCTION).invocations;
    let refused = stack.call(Method::GET, "/orders", &secret, None).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.json, json!({"message": "Forbidden"}));
    assert_eq!(stack.lambda.stats(FUNCTION).invocations, before);
}

#[tokio::test]
async fn another_tenants_token_sees_none_of_this_tenants_orders() {
    let stack = Consumer::start(MODEL, HTTP_API).await;
    let ours = stack
        .tokens
        .mint("orders-e2e-ours", "ann", &[READ, WRITE])
        .await;
    let theirs = stack
        .tokens
        .mint("orders-e2e-theirs", "eve", &[READ, WRITE])
        .await;
    let (our_item, body) = order();
    let created = stack.call(Method::POST, "/orders", &ours, Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let our_id = order_id(&created);
    let (their_item, body) = order();
    let other = stack
        .call(Method::POST, "/orders", &theirs, Some(body))
        .await;
    assert_eq!(other.status, 201, "{}", other.text);

    let theirs_listed = stack.call(Method::GET, "/orders", &theirs, None).await;
    assert_eq!(theirs_listed.status, 200, "{}", theirs_listed.text);
    assert!(theirs_listed.text.contains(&their_item));
    assert!(!theirs_listed.text.contains(&our_item) && !theirs_listed.text.contains(&our_id));
    let ours_listed = stack.call(Method::GET, "/orders", &ours, None).await;
    assert!(ours_listed.text.contains(&our_item), "{}", ours_listed.text);
    assert!(!ours_listed.text.contains(&their_item));
    if has_route(&stack, "GET /orders/{id}") {
        let peek = stack
            .call(Method::GET, &format!("/orders/{our_id}"), &theirs, None)
            .await;
        assert_eq!(peek.status, 404, "{}", peek.text);
        assert!(!peek.text.contains(&our_item));
    }
}

#[tokio::test]
async fn a_rest_policy_cached_for_one_method_is_right_for_the_next() {
    let stack = Consumer::start(MODEL, HTTP_API).await;
    let config = stack.rest_config(REST_API);
    assert_eq!(config.authorizer.result_ttl_seconds, 300, "REST's cache on");
    let stage = format!("/{}/orders", config.stage);
    let api = serve_rest_api(config, &stack.deployment, stack.invoker())
        .await
        .expect("the REST API");
    let tenant = "orders-e2e-rest";
    let both = stack.tokens.mint(tenant, "ann", &[READ, WRITE]).await;
    let reader = stack.tokens.mint(tenant, "bob", &[READ]).await;
    let read = rest_call(&api, &stage, Method::GET, &both).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json["authorizer"]["tenant_id"], tenant);
    let write = rest_call(&api, &stage, Method::POST, &both).await;
    assert_eq!(write.status, 200, "{}", write.text);
    assert_eq!(
        api.authorizer_invocations(),
        1,
        "the second method from the cache"
    );

    let read = rest_call(&api, &stage, Method::GET, &reader).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let write = rest_call(&api, &stage, Method::POST, &reader).await;
    assert_eq!(write.status, 403, "{}", write.text);
    assert_eq!(
        api.authorizer_invocations(),
        2,
        "refused by the cached policy"
    );
    let errors = stack.tokens.lambda.stats("TokensAuthorizerFunction").errors;
    assert_eq!(errors, 0);
}

/// A request to the REST API at `path` with `token` (a new order for a POST).
async fn rest_call(api: &RestApiServer, path: &str, method: Method, token: &str) -> Reply {
    let body = (method == Method::POST).then(|| order().1);
    request(api.addr(), LOCALHOST, method, path, Some(token), body).await
}

/// The id of the order a `POST /orders` created (`order_id`, or `id`).
fn order_id(created: &Reply) -> String {
    let json = &created.json;
    let id = json["order_id"].as_str().or(json["id"].as_str());
    id.unwrap_or_else(|| panic!("no order id in {}", created.text))
        .to_owned()
}

/// Whether the consumer's HTTP API has route `key`.
fn has_route(stack: &Consumer, key: &str) -> bool {
    let routes = &stack.deployment.http_apis[HTTP_API].routes;
    routes.iter().any(|r| r.route_key == key)
}
