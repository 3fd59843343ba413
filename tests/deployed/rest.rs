//! The authorizer binary in front of a consumer's REST API (TOKEN and REQUEST authorizers):
//! an accepted token is allowed, a refused one is denied with API Gateway's 403, and neither
//! is a function error (the errors alarm counts failures only).

use std::sync::Arc;

use hyper::Method;
use lambda_emulator::apigw::{serve_rest_api, RestApiConfig, RestAuthorizer, RestAuthorizerKind};
use lambda_emulator::invoke::Invoke;
use serde_json::json;

use crate::stack::{request, Stack, Template, LOCALHOST};

fn config(kind: RestAuthorizerKind) -> RestApiConfig {
    RestApiConfig {
        id: "orders1234".into(),
        stage: "prod".into(),
        resources: vec![("GET".into(), "/orders".into())],
        authorizer: RestAuthorizer {
            function: "TokensAuthorizerFunction".into(),
            kind,
            result_ttl_seconds: 0,
        },
    }
}

#[tokio::test]
async fn a_rest_api_allows_good_tokens_and_denies_others_without_a_function_error() {
    // The consumer API declares no route scopes of its own: any valid token may call it.
    let stack = Stack::start_with(Template::Default, |d| {
        d.ssm_parameters.insert(
            "/api-tokens/routes/orders1234".into(),
            r#"{"version": 1, "default": "authenticated", "routes": {}}"#.into(),
        );
    })
    .await;
    let token = stack.mint("deployed-rest", "alice", &["tokens:read"]).await;
    // Without the header: a TOKEN authorizer is not invoked (API Gateway's 401); an uncached
    // REQUEST authorizer is, and the authorizer denies (403).
    let kinds = [
        (
            RestAuthorizerKind::Token {
                header: "Authorization".into(),
                validation_regex: None,
            },
            401,
        ),
        (
            RestAuthorizerKind::Request {
                identity_sources: vec![
                    "method.request.header.Authorization".into(),
                    "context.identity.sourceIp".into(),
                ],
            },
            403,
        ),
    ];
    for (kind, without_header) in kinds {
        let invoker: Arc<dyn Invoke> = Arc::new(stack.lambda.clone());
        let api = serve_rest_api(config(kind), &stack.deployment, invoker)
            .await
            .expect("the REST API");
        let ok = request(
            api.addr(),
            LOCALHOST,
            Method::GET,
            "/prod/orders",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(ok.json["principalId"], "alice");
        assert_eq!(ok.json["authorizer"]["tenant_id"], "deployed-rest");

        let denied = request(
            api.addr(),
            LOCALHOST,
            Method::GET,
            "/prod/orders",
            Some("tkn_junk"),
            None,
        )
        .await;
        assert_eq!(denied.status, 403, "{}", denied.text);
        assert_eq!(
            denied.json,
            json!({"Message": "User is not authorized to access this resource with an explicit deny"})
        );
        let missing = request(
            api.addr(),
            LOCALHOST,
            Method::GET,
            "/prod/orders",
            None,
            None,
        )
        .await;
        assert_eq!(missing.status, without_header, "{}", missing.text);
    }
    // Every refusal above was an answer: the authorizer reported no function error.
    let stats = stack.lambda.stats("TokensAuthorizerFunction");
    assert!(stats.invocations >= 4, "{stats:?}");
    assert_eq!(stats.errors, 0, "{stats:?}");
}
