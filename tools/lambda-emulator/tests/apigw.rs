//! The API Gateway stand-ins in front of a fake Lambda that answers from closures: what
//! reaches the functions, what clients get back, and when the authorizer is (not) invoked.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda_emulator::apigw::{
    serve_http_api, serve_http_api_with, serve_rest_api, HttpApiOptions, RestApiConfig,
    RestAuthorizer, RestAuthorizerKind,
};
use lambda_emulator::invoke::{FunctionError, Invocation, Invoke, InvokeFuture};
use lambda_emulator::model::Deployment;
use serde_json::{json, Value};

type Reply = Result<Value, FunctionError>;
type Behaviour = Box<dyn Fn(&Value) -> Reply + Send + Sync>;

/// A Lambda service whose functions are closures; it records every event.
#[derive(Default)]
struct FakeLambda {
    functions: HashMap<String, (Duration, Behaviour)>,
    calls: Mutex<Vec<(String, Value)>>,
}

impl FakeLambda {
    fn on(
        mut self,
        function: &str,
        reply: impl Fn(&Value) -> Reply + Send + Sync + 'static,
    ) -> Self {
        self.functions
            .insert(function.into(), (Duration::ZERO, Box::new(reply)));
        self
    }

    fn on_slow(
        mut self,
        function: &str,
        delay: Duration,
        reply: impl Fn(&Value) -> Reply + Send + Sync + 'static,
    ) -> Self {
        self.functions
            .insert(function.into(), (delay, Box::new(reply)));
        self
    }

    /// The events `function` got, in order.
    fn events(&self, function: &str) -> Vec<Value> {
        let calls = self.calls.lock().expect("calls");
        calls
            .iter()
            .filter(|(f, _)| f == function)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

impl Invoke for FakeLambda {
    fn invoke<'a>(&'a self, function: &'a str, payload: Value) -> InvokeFuture<'a> {
        Box::pin(async move {
            self.calls
                .lock()
                .expect("calls")
                .push((function.to_owned(), payload.clone()));
            let (delay, reply) = match self.functions.get(function) {
                Some((delay, behaviour)) => (*delay, behaviour(&payload)),
                None => (
                    Duration::ZERO,
                    Err(FunctionError::Runtime(format!("no function {function}"))),
                ),
            };
            tokio::time::sleep(delay).await;
            Invocation {
                result: reply.map(|v| v.to_string().into_bytes()),
                environment: 1,
                init: None,
                duration: delay,
            }
        })
    }
}

fn deployment(authorizer: Value) -> Deployment {
    let model = json!({
        "stack_name": "api-tokens-emulated", "region": "us-east-1", "account": "123456789012",
        "functions": {},
        "http_apis": {"TokensApi": {
            "id": "abcdef1234", "stage": "$default",
            "routes": [
                {"route_key": "GET /tokens", "function": "ListFunction", "authorizer": "TokenAuthorizer"},
                {"route_key": "GET /tokens/{id}", "function": "ListFunction", "authorizer": "TokenAuthorizer"},
                {"route_key": "POST /tokens/{id}/rotate", "function": "RotateFunction", "authorizer": "TokenAuthorizer"},
                {"route_key": "GET /health", "function": "HealthFunction"},
                {"route_key": "GET /slow", "function": "SlowFunction"}
            ],
            "authorizers": {"TokenAuthorizer": authorizer}
        }}
    });
    serde_json::from_value(model).expect("a valid model")
}

fn simple_authorizer(ttl: u32) -> Value {
    json!({"function": "AuthorizerFunction", "identity_sources": ["$request.header.Authorization"],
           "result_ttl_seconds": ttl, "enable_simple_responses": true, "payload_format": "2.0"})
}

/// Allows `Bearer good*` with the token's owner in the context, denies anything else.
fn simple_answers(event: &Value) -> Reply {
    let token = event["identitySource"][0].as_str().unwrap_or_default();
    Ok(match token.strip_prefix("Bearer good") {
        Some(owner) => {
            json!({"isAuthorized": true, "context": {"owner": format!("o{owner}"), "scopes": ["read"]}})
        }
        None => json!({"isAuthorized": false}),
    })
}

fn echo(event: &Value) -> Reply {
    Ok(
        json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": event.to_string()}),
    )
}

struct Answer {
    status: u16,
    headers: hyper::HeaderMap,
    body: Value,
}

/// Sends a request from `source` (127.0.0.x).
async fn send(source: [u8; 4], method: &str, url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut connector = HttpConnector::new();
    connector.set_local_address(Some(IpAddr::from(source)));
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut request = hyper::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::new())).expect("a request");
    let response = client.request(request).await.expect("an answer");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("a body").to_bytes();
    let body =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)));
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

const A: [u8; 4] = [127, 0, 0, 2];
const B: [u8; 4] = [127, 0, 0, 3];

fn lambda() -> FakeLambda {
    FakeLambda::default()
        .on("AuthorizerFunction", simple_answers)
        .on("ListFunction", echo)
        .on("RotateFunction", |_| {
            Err(FunctionError::Handled {
                error_type: "Boom".into(),
                message: "boom".into(),
            })
        })
        .on("HealthFunction", |_| Ok(json!({"ok": true})))
        .on_slow("SlowFunction", Duration::from_millis(500), |_| {
            Ok(json!({"late": true}))
        })
}

#[tokio::test]
async fn a_missing_identity_source_is_401_without_invoking_anything() {
    let fake = Arc::new(lambda());
    let model = deployment(simple_authorizer(0));
    let server = serve_http_api(&model.http_apis["TokensApi"], &model, fake.clone())
        .await
        .expect("served");
    for headers in [&[][..], &[("Authorization", "")][..]] {
        let answer = send(A, "GET", &format!("{}/tokens", server.url()), headers).await;
        assert_eq!(
            (answer.status, answer.body),
            (401, json!({"message": "Unauthorized"}))
        );
        assert!(answer.headers.contains_key("apigw-requestid"));
    }
    assert_eq!(server.authorizer_invocations(), 0);
    assert!(fake.calls.lock().expect("calls").is_empty());
}

#[tokio::test]
async fn is_authorized_false_is_403_and_the_integration_is_not_invoked() {
    let fake = Arc::new(lambda());
    let model = deployment(simple_authorizer(0));
    let server = serve_http_api(&model.http_apis["TokensApi"], &model, fake.clone())
        .await
        .expect("served");
    let answer = send(
        A,
        "GET",
        &format!("{}/tokens", server.url()),
        &[("Authorization", "Bearer bad")],
    )
    .await;
    assert_eq!(
        (answer.status, answer.body),
        (403, json!({"message": "Forbidden"}))
    );
    assert_eq!(server.authorizer_invocations(), 1);
    assert!(fake.events("ListFunction").is_empty());
}

#[tokio::test]
async fn an_allow_passes_its_context_to_the_integration_event() {
    let fake = Arc::new(lambda());
    let model = deployment(simple_authorizer(0));
    let server = serve_http_api(&model.http_apis["TokensApi"], &model, fake.clone())
        .await
        .expect("served");
    let url = format!("{}/tokens/tok_1?x=1&x=2", server.url());
    let answer = send(
        A,
        "GET",
        &url,
        &[
            ("Authorization", "Bearer good1"),
            ("X-Forwarded-For", "10.9.9.9"),
        ],
    )
    .await;
    assert_eq!(answer.status, 200);
    let event = answer.body;
    assert_eq!(
        event["requestContext"]["authorizer"],
        json!({"lambda": {"owner": "o1", "scopes": ["read"]}})
    );
    assert_eq!(
        event["requestContext"]["http"]["sourceIp"],
        json!("127.0.0.2")
    );
    assert_eq!(event["routeKey"], json!("GET /tokens/{id}"));
    assert_eq!(event["pathParameters"], json!({"id": "tok_1"}));
    assert_eq!(event["queryStringParameters"], json!({"x": "1,2"}));
    assert_eq!(
        event["headers"]["x-forwarded-for"],
        json!("10.9.9.9, 127.0.0.2")
    );
    let request_id = answer.headers["apigw-requestid"].to_str().expect("text");
    assert_eq!(event["requestContext"]["requestId"], json!(request_id));

    let authorizer_event = &fake.events("AuthorizerFunction")[0];
    assert_eq!(authorizer_event["type"], json!("REQUEST"));
    assert_eq!(authorizer_event["identitySource"], json!(["Bearer good1"]));
    assert_eq!(
        authorizer_event["routeArn"],
        json!("arn:aws:execute-api:us-east-1:123456789012:abcdef1234/$default/GET/tokens/tok_1")
    );
}

#[tokio::test]
async fn a_cached_decision_is_replayed_for_the_same_values_from_another_address() {
    let fake = Arc::new(lambda());
    let model = deployment(simple_authorizer(300));
    let server = serve_http_api(&model.http_apis["TokensApi"], &model, fake.clone())
        .await
        .expect("served");
    let url = format!("{}/tokens", server.url());

    let first = send(A, "GET", &url, &[("Authorization", "Bearer good1")]).await;
    let replayed = send(B, "GET", &url, &[("Authorization", "Bearer good1")]).await;
    assert_eq!(
        (
            first.status,
            replayed.status,
            server.authorizer_invocations()
        ),
        (200, 200, 1)
    );
    assert_eq!(
        replayed.body["requestContext"]["http"]["sourceIp"],
        json!("127.0.0.3")
    );
    assert_eq!(
        replayed.body["requestContext"]["authorizer"]["lambda"]["owner"],
        json!("o1")
    );

    let other = send(B, "GET", &url, &[("Authorization", "Bearer good2")]).await;
    assert_eq!((other.status, server.authorizer_invocations()), (200, 2));
    assert_eq!(
        other.body["requestContext"]["authorizer"]["lambda"]["owner"],
        json!("o2")
    );

    let denied = send(A, "GET", &url, &[("Authorization", "Bearer bad")]).await;
    let denied_again = send(B, "GET", &url, &[("Authorization", "Bearer bad")]).await;
    assert_eq!(
        (
            denied.status,
            denied_again.status,
            server.authorizer_invocations()
        ),
        (403, 403, 3)
    );
}

#[tokio::test]
async fn without_a_ttl_every_request_invokes_the_authorizer() {
    let fake = Arc::new(lambda());
    let model = deployment(simple_authorizer(0));
    let server = serve_http_api(&model.http_apis["TokensApi"], &model, fake.clone())
        .await
        .expect("served");
    for _ in 0..3 {
        send(
            A,
            "GET",
            &format!("{}/tokens", server.url()),
            &[("Authorization", "Bearer good1")],
        )
        .await;
    }
    assert_eq!(server.authorizer_invocations(), 3);
}

#[tokio::test]
async fn a_cached_iam_policy_is_evaluated_against_each_route_arn() {
    let fake = Arc::new(lambda().on("AuthorizerFunction", |event| {
        let statement = json!({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": event["routeArn"]});
        Ok(json!({"principalId": "p", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                  "context": {"owner": "o1"}}))
    }));
    let mut authorizer = simple_authorizer(300);
    authorizer["enable_simple_responses"] = json!(false);
    let model = deployment(authorizer);
    let server = serve_http_api(&model.http_apis["TokensApi"], &model, fake.clone())
        .await
        .expect("served");
    let token = [("Authorization", "Bearer any")];
    let first = send(A, "GET", &format!("{}/tokens/t1", server.url()), &token).await;
    assert_eq!(
        first.body["requestContext"]["authorizer"],
        json!({"lambda": {"owner": "o1"}})
    );
    let other = send(A, "GET", &format!("{}/tokens/t2", server.url()), &token).await;
    assert_eq!(
        (first.status, other.status, server.authorizer_invocations()),
        (200, 403, 1)
    );
    assert_eq!(other.body, json!({"message": "Forbidden"}));
}

#[tokio::test]
async fn api_gateways_own_answers() {
    let fake = Arc::new(lambda().on("AuthorizerFunction", |_| Ok(json!({"isAuthorized": "yes"}))));
    let model = deployment(simple_authorizer(0));
    let options = HttpApiOptions {
        integration_timeout: Duration::from_millis(200),
        ..HttpApiOptions::default()
    };
    let api = &model.http_apis["TokensApi"];
    let server = serve_http_api_with(api, &model, fake.clone(), options)
        .await
        .expect("served");
    let url = server.url();
    let cases = [
        ("GET", "/nowhere", 404, json!({"message": "Not Found"})),
        ("DELETE", "/tokens", 404, json!({"message": "Not Found"})),
        (
            "GET",
            "/tokens",
            500,
            json!({"message": "Internal Server Error"}),
        ),
        (
            "GET",
            "/slow",
            503,
            json!({"message": "Service Unavailable"}),
        ),
        ("GET", "/health", 200, json!({"ok": true})),
    ];
    for (method, path, status, body) in cases {
        let answer = send(
            A,
            method,
            &format!("{url}{path}"),
            &[("Authorization", "Bearer good1")],
        )
        .await;
        assert_eq!(
            (answer.status, answer.body),
            (status, body),
            "{method} {path}"
        );
        assert!(answer.headers.contains_key("apigw-requestid"));
    }
}

#[tokio::test]
async fn a_function_error_is_500() {
    let fake = Arc::new(lambda());
    let model = deployment(simple_authorizer(0));
    let server = serve_http_api(&model.http_apis["TokensApi"], &model, fake.clone())
        .await
        .expect("served");
    let url = format!("{}/tokens/t1/rotate", server.url());
    let answer = send(A, "POST", &url, &[("Authorization", "Bearer good1")]).await;
    assert_eq!(
        (answer.status, answer.body),
        (500, json!({"message": "Internal Server Error"}))
    );
    assert_eq!(fake.events("RotateFunction").len(), 1);
}

#[tokio::test]
async fn an_authorizer_failure_is_500_and_is_not_cached() {
    let failures = [
        FunctionError::Handled {
            error_type: "Error".into(),
            message: "Unauthorized".into(),
        },
        FunctionError::Timeout(Duration::from_secs(3)),
        FunctionError::Throttled,
    ];
    for failure in failures {
        let fake = Arc::new(lambda().on("AuthorizerFunction", move |_| Err(failure.clone())));
        let model = deployment(simple_authorizer(300));
        let server = serve_http_api(&model.http_apis["TokensApi"], &model, fake.clone())
            .await
            .expect("served");
        for _ in 0..2 {
            let answer = send(
                A,
                "GET",
                &format!("{}/tokens", server.url()),
                &[("Authorization", "Bearer good1")],
            )
            .await;
            assert_eq!(
                (answer.status, answer.body),
                (500, json!({"message": "Internal Server Error"}))
            );
        }
        assert_eq!(server.authorizer_invocations(), 2);
        assert!(fake.events("ListFunction").is_empty());
    }
}

fn rest_config(authorizer: RestAuthorizer) -> RestApiConfig {
    RestApiConfig {
        id: "rest123456".into(),
        stage: "prod".into(),
        resources: vec![
            ("GET".into(), "/orders".into()),
            ("ANY".into(), "/orders/{id}".into()),
        ],
        authorizer,
    }
}

/// `allow` (this method only), `deny`, `nothing` (a policy for another API), `unauthorized`,
/// and `broken` (a context with a map).
fn token_answers(event: &Value) -> Reply {
    let arn = event["methodArn"].clone();
    let policy = |effect: &str, resource: Value| json!({"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource}]});
    match event["authorizationToken"].as_str().unwrap_or_default() {
        "allow" => Ok(
            json!({"principalId": "user-1", "policyDocument": policy("Allow", arn),
                             "context": {"owner": "o1", "n": 7, "admin": false}}),
        ),
        "deny" => Ok(json!({"principalId": "user-1", "policyDocument": policy("Deny", arn)})),
        "nothing" => Ok(
            json!({"principalId": "user-1", "policyDocument": policy("Allow", json!("arn:aws:execute-api:*:*:other/*"))}),
        ),
        "broken" => Ok(
            json!({"principalId": "user-1", "policyDocument": policy("Allow", arn), "context": {"m": {}}}),
        ),
        _ => Err(FunctionError::Handled {
            error_type: "Error".into(),
            message: "Unauthorized".into(),
        }),
    }
}

#[tokio::test]
async fn rest_token_authorizer_answers() {
    let fake = Arc::new(FakeLambda::default().on("RestAuthorizer", token_answers));
    let model = deployment(simple_authorizer(0));
    let config = rest_config(RestAuthorizer::token("RestAuthorizer", "Authorization"));
    let server = serve_rest_api(config, &model, fake.clone())
        .await
        .expect("served");
    let url = format!("{}/orders/42", server.url());
    let explicit =
        json!({"Message": "User is not authorized to access this resource with an explicit deny"});
    let cases = [
        ("deny", 403, explicit),
        (
            "nothing",
            403,
            json!({"Message": "User is not authorized to access this resource"}),
        ),
        ("unauthorized", 401, json!({"message": "Unauthorized"})),
        ("broken", 500, json!({"message": null})),
    ];
    for (token, status, body) in cases {
        let answer = send(A, "GET", &url, &[("Authorization", token)]).await;
        assert_eq!((answer.status, answer.body), (status, body), "{token}");
        assert!(answer.headers.contains_key("x-amzn-requestid"));
    }
    let allowed = send(A, "GET", &url, &[("Authorization", "allow")]).await;
    let echo = json!({"method": "GET", "path": "/orders/42", "resource": "/orders/{id}", "principalId": "user-1",
                      "authorizer": {"owner": "o1", "n": "7", "admin": "false", "principalId": "user-1"}});
    assert_eq!((allowed.status, allowed.body), (200, echo));
    let event = &fake.events("RestAuthorizer")[0];
    let arn = "arn:aws:execute-api:us-east-1:123456789012:rest123456/prod/GET/orders/42";
    assert_eq!(
        *event,
        json!({"type": "TOKEN", "authorizationToken": "deny", "methodArn": arn})
    );

    let missing = send(A, "GET", &url, &[]).await;
    assert_eq!(
        (missing.status, missing.body),
        (401, json!({"message": "Unauthorized"}))
    );
    assert_eq!(server.authorizer_invocations(), 5);
}

#[tokio::test]
async fn rest_cached_policy_refuses_a_method_it_did_not_name() {
    let fake = Arc::new(FakeLambda::default().on("RestAuthorizer", token_answers));
    let model = deployment(simple_authorizer(0));
    let config = rest_config(RestAuthorizer::token("RestAuthorizer", "Authorization"));
    let server = serve_rest_api(config, &model, fake.clone())
        .await
        .expect("served");
    let url = format!("{}/orders/42", server.url());
    let token = [("Authorization", "allow")];
    let first = send(A, "GET", &url, &token).await;
    let second = send(B, "DELETE", &url, &token).await;
    let again = send(B, "GET", &url, &token).await;
    assert_eq!((first.status, second.status, again.status), (200, 403, 200));
    assert_eq!(
        second.body,
        json!({"Message": "User is not authorized to access this resource"})
    );
    assert_eq!(server.authorizer_invocations(), 1);
}

#[tokio::test]
async fn rest_token_validation_and_unknown_resources() {
    let fake = Arc::new(FakeLambda::default().on("RestAuthorizer", token_answers));
    let model = deployment(simple_authorizer(0));
    let mut authorizer = RestAuthorizer::token("RestAuthorizer", "Authorization");
    authorizer.kind = RestAuthorizerKind::Token {
        header: "Authorization".into(),
        validation_regex: Some("allow|deny".into()),
    };
    let server = serve_rest_api(rest_config(authorizer), &model, fake.clone())
        .await
        .expect("served");
    let not_valid = send(
        A,
        "GET",
        &format!("{}/orders", server.url()),
        &[("Authorization", "allowed")],
    )
    .await;
    assert_eq!(
        (not_valid.status, server.authorizer_invocations()),
        (401, 0)
    );
    let unknown = send(
        A,
        "POST",
        &format!("{}/orders", server.url()),
        &[("Authorization", "allow")],
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.body),
        (403, json!({"message": "Missing Authentication Token"}))
    );
    let base = server.url().replace("/prod", "/dev");
    let other_stage = send(
        A,
        "GET",
        &format!("{base}/orders"),
        &[("Authorization", "allow")],
    )
    .await;
    assert_eq!(
        (other_stage.status, other_stage.body),
        (403, json!({"message": "Forbidden"}))
    );
}

#[tokio::test]
async fn rest_request_authorizer_keys_its_cache_by_every_identity_source() {
    let fake = Arc::new(FakeLambda::default().on("RestAuthorizer", |event| {
        let mut token_event = event.clone();
        token_event["authorizationToken"] = event["headers"]["authorization"].clone();
        token_answers(&token_event)
    }));
    let model = deployment(simple_authorizer(0));
    let sources = [
        "method.request.header.Authorization",
        "context.identity.sourceIp",
    ];
    let config = rest_config(RestAuthorizer::request("RestAuthorizer", &sources));
    let server = serve_rest_api(config, &model, fake.clone())
        .await
        .expect("served");
    let url = format!("{}/orders/42?x=1&x=2", server.url());
    let missing = send(A, "GET", &url, &[]).await;
    assert_eq!((missing.status, server.authorizer_invocations()), (401, 0));
    for source in [A, B, A] {
        let answer = send(source, "GET", &url, &[("Authorization", "allow")]).await;
        assert_eq!(answer.status, 200);
    }
    assert_eq!(server.authorizer_invocations(), 2);
    let event = &fake.events("RestAuthorizer")[1];
    assert_eq!(event["type"], json!("REQUEST"));
    assert_eq!(
        event["requestContext"]["identity"]["sourceIp"],
        json!("127.0.0.3")
    );
    assert_eq!(
        event["multiValueQueryStringParameters"],
        json!({"x": ["1", "2"]})
    );
    assert_eq!(event["pathParameters"], json!({"id": "42"}));
    assert_eq!(event["resource"], json!("/orders/{id}"));
}
