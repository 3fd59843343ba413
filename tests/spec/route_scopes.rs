//! Route scopes at the edge: each API's declarations (an SSM parameter, fed here through
//! an in-process source, and once through the SDK against the SSM stand-in) decide which
//! routes a token may call, for HTTP APIs (`routeKey`, `apiId`) and REST APIs (method ARN);
//! and the context contract, version 1.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use api_tokens::authorizer::declarations::{
    DeclarationSource, Declarations, SourceError, SsmSource,
};
use api_tokens::authorizer::{self, AuthorizerError};
use api_tokens::service::CreateInput;
use integration_tests::App;
use lambda_emulator::apigw::policy::{Decision, PolicyDocument};
use serde_json::{json, Value};

use crate::aws_stub::AwsStub;

const PREFIX: &str = "/api-tokens/routes/";
const REGION_ACCOUNT: &str = "arn:aws:execute-api:eu-west-1:123456789012";

/// The orders API's declarations: unlisted routes are refused.
fn orders() -> Value {
    json!({"version": 1, "default": "deny", "routes": {
        "GET /orders": {"any_of": ["orders:read", "orders:admin"]},
        "POST /orders": {"all_of": ["orders:write"]},
        "GET /orders/{id}": {"any_of": ["orders:read"]},
        "DELETE /orders/{id}": {"all_of": ["orders:read", "orders:write"]},
        "ANY /health": {}
    }})
}

/// Declarations by parameter name, counting reads.
#[derive(Default)]
pub(crate) struct Parameters {
    values: Mutex<HashMap<String, String>>,
    reads: AtomicUsize,
}

impl Parameters {
    fn with(apis: &[(&str, Value)]) -> Self {
        let p = Self::default();
        for (api, doc) in apis {
            p.set(api, doc);
        }
        p
    }

    fn set(&self, api: &str, doc: &Value) {
        let text = doc.as_str().map_or_else(|| doc.to_string(), str::to_string);
        self.values
            .lock()
            .unwrap()
            .insert(format!("{PREFIX}{api}"), text);
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

impl DeclarationSource for Parameters {
    async fn read(&self, name: &str) -> Result<Option<String>, SourceError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.values.lock().unwrap().get(name).cloned())
    }
}

/// The declarations an authorizer with `ROUTE_SCOPES_PARAMETER_PREFIX` set reads.
pub(crate) fn declarations(apis: &[(&str, Value)]) -> Declarations<Parameters> {
    Declarations::new(Parameters::with(apis), PREFIX, Duration::from_secs(60))
}

/// An HTTP API (payload 2.0) event for `route_key` of API `api` presenting `token`.
pub(crate) fn http_event(api: &str, route_key: &str, token: &str) -> Value {
    let path = route_key.split_once(' ').map_or("/", |(_, p)| p);
    json!({"version": "2.0", "type": "REQUEST",
           "routeArn": format!("{REGION_ACCOUNT}:{api}/$default/{}", route_key.replace(' ', "")),
           "identitySource": [format!("Bearer {token}")], "routeKey": route_key, "rawPath": path,
           "headers": {"authorization": format!("Bearer {token}")},
           "requestContext": {"apiId": api, "http": {"method": "GET", "path": path}}})
}

/// The method ARN of `method` and `path` (no leading `/`) on API `api`, stage `prod`.
pub(crate) fn method_arn(api: &str, method: &str, path: &str) -> String {
    format!("{REGION_ACCOUNT}:{api}/prod/{method}/{path}")
}

/// A REST `TOKEN` event for a method ARN.
pub(crate) fn rest_event(arn: &str, token: &str) -> Value {
    json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": arn})
}

pub(crate) async fn answer(app: &App, d: &Declarations<Parameters>, event: Value) -> Value {
    authorizer::handle_with(&app.service, Some(d), event)
        .await
        .unwrap()
}

async fn http_allows(
    app: &App,
    d: &Declarations<Parameters>,
    api: &str,
    route: &str,
    token: &str,
) -> bool {
    answer(app, d, http_event(api, route, token)).await["isAuthorized"] == true
}

/// Whether the REST answer for `arn` allows `arn` itself, evaluated as API Gateway does.
async fn rest_allows(app: &App, d: &Declarations<Parameters>, arn: &str, token: &str) -> bool {
    let a = answer(app, d, rest_event(arn, token)).await;
    let policy = PolicyDocument::parse(&a["policyDocument"]).unwrap();
    policy.evaluate_invoke(arn) == Decision::Allow
}

#[tokio::test]
async fn http_routes_are_allowed_by_their_declared_scopes_and_nothing_else() {
    let app = App::start().await;
    let d = declarations(&[("orders1", orders())]);
    let reader = app.mint("acme", "alice", &["orders:read"]).await;
    let writer = app.mint("acme", "bob", &["orders:write"]).await;
    let both = app
        .mint("acme", "carol", &["orders:read", "orders:write"])
        .await;
    for (token, route, allowed) in [
        (&reader, "GET /orders", true),
        (&writer, "GET /orders", false),
        (&reader, "POST /orders", false),
        (&writer, "POST /orders", true),
        (&reader, "GET /orders/{id}", true),
        (&reader, "DELETE /orders/{id}", false),
        (&writer, "DELETE /orders/{id}", false),
        (&both, "DELETE /orders/{id}", true),
        (&writer, "ANY /health", true),
        (&both, "GET /customers", false),
        (&both, "$default", false),
    ] {
        assert_eq!(
            http_allows(&app, &d, "orders1", route, token).await,
            allowed,
            "{route}"
        );
    }
    // An invalid token is refused on a declared route, as on any other.
    assert!(!http_allows(&app, &d, "orders1", "ANY /health", "tkn_nope").await);
    let ok = answer(&app, &d, http_event("orders1", "GET /orders", &reader)).await;
    assert_eq!(ok["context"]["route"], "GET /orders");
    assert_eq!(ok["context"]["required_scopes"], "orders:read orders:admin");
    assert_eq!(
        answer(&app, &d, http_event("orders1", "POST /orders", &reader)).await,
        json!({"isAuthorized": false, "context": {}})
    );
}

#[tokio::test]
async fn rest_method_arns_match_the_most_specific_declared_route() {
    let app = App::start().await;
    let d = declarations(&[("orders2", orders())]);
    let reader = app.mint("acme", "alice", &["orders:read"]).await;
    let both = app
        .mint("acme", "carol", &["orders:read", "orders:write"])
        .await;
    for (token, method, path, allowed) in [
        (&reader, "GET", "orders", true),
        (&reader, "GET", "orders/42", true),
        (&reader, "POST", "orders", false),
        (&reader, "DELETE", "orders/42", false),
        (&both, "DELETE", "orders/42", true),
        (&both, "POST", "orders", true),
        (&reader, "PATCH", "health", true),
        (&both, "GET", "orders/42/lines", false),
        (&both, "GET", "customers", false),
    ] {
        let arn = method_arn("orders2", method, path);
        assert_eq!(rest_allows(&app, &d, &arn, token).await, allowed, "{arn}");
    }
    let a = answer(
        &app,
        &d,
        rest_event(&method_arn("orders2", "GET", "orders/42"), &reader),
    )
    .await;
    assert_eq!(a["principalId"], "alice");
    assert_eq!(a["context"]["route"], "GET /orders/{id}");
    assert_eq!(a["context"]["required_scopes"], "orders:read");
    // A refusal is the API-and-stage deny, never a function error.
    let refused = answer(
        &app,
        &d,
        rest_event(&method_arn("orders2", "POST", "orders"), &reader),
    )
    .await;
    assert_eq!(refused["principalId"], "anonymous");
    assert_eq!(
        refused["policyDocument"]["Statement"][0]["Resource"],
        format!("{REGION_ACCOUNT}:orders2/prod/*")
    );
    assert!(refused.get("context").is_none());
}

#[tokio::test]
async fn a_cached_rest_policy_is_right_for_every_method_of_the_api() {
    let app = App::start().await;
    let open = json!({"version": 1, "default": "authenticated",
                      "routes": {"POST /orders": {"all_of": ["orders:write"]}}});
    let d = declarations(&[("orders3", orders()), ("open3", open)]);
    let reader = app.mint("acme", "alice", &["orders:read"]).await;
    // The answer for GET /orders, as API Gateway caches it, evaluated for other methods.
    let a = answer(
        &app,
        &d,
        rest_event(&method_arn("orders3", "GET", "orders"), &reader),
    )
    .await;
    let cached = PolicyDocument::parse(&a["policyDocument"]).unwrap();
    for (method, path, decision) in [
        ("GET", "orders", Decision::Allow),
        ("GET", "orders/7", Decision::Allow),
        ("HEAD", "health", Decision::Allow),
        ("POST", "orders", Decision::ImplicitDeny),
        ("DELETE", "orders/7", Decision::ImplicitDeny),
        ("GET", "customers", Decision::ImplicitDeny),
    ] {
        let arn = method_arn("orders3", method, path);
        assert_eq!(cached.evaluate_invoke(&arn), decision, "{arn}");
    }
    // Unlisted routes open to any valid token: the whole API, the unmet routes denied.
    let a = answer(
        &app,
        &d,
        rest_event(&method_arn("open3", "GET", "customers"), &reader),
    )
    .await;
    assert_eq!(a["context"]["route"], "");
    assert_eq!(a["context"]["required_scopes"], "");
    let cached = PolicyDocument::parse(&a["policyDocument"]).unwrap();
    for (method, path, decision) in [
        ("GET", "customers", Decision::Allow),
        ("PUT", "anything/at/all", Decision::Allow),
        ("POST", "orders", Decision::ExplicitDeny),
    ] {
        let arn = method_arn("open3", method, path);
        assert_eq!(cached.evaluate_invoke(&arn), decision, "{arn}");
    }
}

#[tokio::test]
async fn unlisted_routes_follow_the_declared_default() {
    let app = App::start().await;
    let open = json!({"version": 1, "default": "authenticated",
                      "routes": {"POST /orders": {"all_of": ["orders:write"]}}});
    let d = declarations(&[("open4", open), ("closed4", orders())]);
    let reader = app.mint("acme", "alice", &["orders:read"]).await;
    assert!(http_allows(&app, &d, "open4", "GET /customers", &reader).await);
    assert!(!http_allows(&app, &d, "open4", "POST /orders", &reader).await);
    assert!(!http_allows(&app, &d, "closed4", "GET /customers", &reader).await);
    let unlisted = answer(&app, &d, http_event("open4", "GET /customers", &reader)).await;
    assert_eq!(unlisted["context"]["route"], "");
    assert!(rest_allows(&app, &d, &method_arn("open4", "GET", "customers"), &reader).await);
    assert!(!rest_allows(&app, &d, &method_arn("open4", "POST", "orders"), &reader).await);
    assert!(
        !rest_allows(
            &app,
            &d,
            &method_arn("closed4", "GET", "customers"),
            &reader
        )
        .await
    );
}

#[tokio::test]
async fn an_api_without_declarations_or_with_a_bad_one_is_refused_entirely() {
    let app = App::start().await;
    let d = declarations(&[
        ("bad5", json!("{\"version\": 1, \"routes\": ")),
        ("v2", json!({"version": 2, "routes": {}})),
        (
            "scope5",
            json!({"version": 1, "routes": {"GET /a": {"any_of": ["not a scope"]}}}),
        ),
    ]);
    let admin = app.mint("acme", "root", crate::ADMIN).await;
    for api in ["none5", "bad5", "v2", "scope5"] {
        assert!(!http_allows(&app, &d, api, "GET /a", &admin).await, "{api}");
        assert!(
            !rest_allows(&app, &d, &method_arn(api, "GET", "a"), &admin).await,
            "{api}"
        );
    }
    // Each read once (negative answers are cached too).
    assert_eq!(d_reads(&d), 4);
}

fn d_reads(d: &Declarations<Parameters>) -> usize {
    d.source().reads()
}

#[tokio::test]
async fn declarations_are_read_once_per_api_per_refresh() {
    let app = App::start().await;
    // Within a refresh period (an hour here), one read per API whatever the requests.
    let d = Declarations::new(
        Parameters::with(&[("cache6", orders())]),
        PREFIX,
        Duration::from_secs(3600),
    );
    let reader = app.mint("acme", "alice", &["orders:read"]).await;
    assert!(http_allows(&app, &d, "cache6", "GET /orders", &reader).await);
    assert_eq!(d_reads(&d), 1);
    assert!(http_allows(&app, &d, "cache6", "GET /orders/{id}", &reader).await);
    assert!(rest_allows(&app, &d, &method_arn("cache6", "GET", "orders"), &reader).await);
    assert!(!http_allows(&app, &d, "other6", "GET /orders", &reader).await);
    assert_eq!(d_reads(&d), 2, "one read per API");

    // A change is seen after the refresh (3 s: wide enough for a slow machine), not before.
    let d = Declarations::new(
        Parameters::with(&[("cache6", orders())]),
        PREFIX,
        Duration::from_secs(3),
    );
    assert!(http_allows(&app, &d, "cache6", "GET /orders", &reader).await);
    d.source()
        .set("cache6", &json!({"version": 1, "routes": {}}));
    assert!(http_allows(&app, &d, "cache6", "GET /orders", &reader).await);
    assert_eq!(d_reads(&d), 1);
    tokio::time::sleep(Duration::from_millis(3300)).await;
    assert!(!http_allows(&app, &d, "cache6", "GET /orders", &reader).await);
    assert_eq!(d_reads(&d), 2);
}

#[tokio::test]
async fn the_context_is_version_1_for_both_api_types() {
    let app = App::start().await;
    let d = declarations(&[("ctx7", orders())]);
    let metadata = [("team".to_string(), "payments".to_string())].into();
    let (id, token) = app
        .mint_with(
            "acme",
            "alice",
            &["orders:read"],
            CreateInput {
                metadata,
                ..Default::default()
            },
        )
        .await;
    let expected = json!({
        "context_version": "1", "tenant_id": "acme", "user_id": "alice", "token_id": id,
        "scopes": "orders:read", "expires_at": "", "allowed_ips": "",
        "metadata": "{\"team\":\"payments\"}", "route": "GET /orders/{id}", "required_scopes": "orders:read",
        "rate_limit": "", "quota": ""});
    let http = answer(&app, &d, http_event("ctx7", "GET /orders/{id}", &token)).await;
    assert_eq!(http["context"], expected);
    let rest = answer(
        &app,
        &d,
        rest_event(&method_arn("ctx7", "GET", "orders/1"), &token),
    )
    .await;
    assert_eq!(rest["context"], expected);
    // Route checks off (no prefix): the same keys, no route.
    let plain = authorizer::handle(&app.service, http_event("ctx7", "GET /x", &token))
        .await
        .unwrap();
    assert_eq!(plain["context"]["route"], "");
    assert_eq!(plain["context"]["required_scopes"], "");
    assert_eq!(plain["context"]["metadata"], "{\"team\":\"payments\"}");
}

/// The `metadata` the authorizer (route checks off) hands on for `token`.
async fn metadata_in_context(app: &App, token: &str) -> Value {
    let event = http_event("any", "GET /tokens", token);
    authorizer::handle(&app.service, event).await.unwrap()["context"]["metadata"].clone()
}

#[tokio::test]
async fn metadata_follows_a_patch_and_an_older_credential_has_none() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", crate::ADMIN).await;
    let (id, token) = app
        .mint_with("acme", "root", crate::ADMIN, Default::default())
        .await;
    assert_eq!(metadata_in_context(&app, &token).await, "{}");
    let r = app
        .patch(
            &format!("/tokens/{id}"),
            &admin,
            json!({"metadata": {"env": "prod"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["metadata"], json!({"env": "prod"}));
    assert_eq!(
        metadata_in_context(&app, &token).await,
        "{\"env\":\"prod\"}"
    );
    // A name change alone leaves the credential as it is.
    let r = app
        .patch(&format!("/tokens/{id}"), &admin, json!({"name": "renamed"}))
        .await;
    assert_eq!(
        (r.status, &r.json["metadata"]),
        (200, &json!({"env": "prod"}))
    );
    assert_eq!(
        metadata_in_context(&app, &token).await,
        "{\"env\":\"prod\"}"
    );
    // A credential written before it carried metadata: `{}`.
    app.dynamodb
        .update_item()
        .table_name(&app.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CRED#{id}")),
        )
        .update_expression("REMOVE metadata")
        .send()
        .await
        .unwrap();
    assert_eq!(metadata_in_context(&app, &token).await, "{}");
    // A PATCH of a token out of reach changes nothing, credential included.
    let other = app.mint("acme", "bob", crate::USER).await;
    let r = app
        .patch(
            &format!("/tokens/{id}"),
            &other,
            json!({"metadata": {"x": "y"}}),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(metadata_in_context(&app, &token).await, "{}");
}

/// Whether the authorizer reading declarations through SSM allows `route` of `api`.
async fn ssm_allows(
    app: &App,
    d: &Declarations<SsmSource>,
    api: &str,
    route: &str,
    token: &str,
) -> Result<bool, AuthorizerError> {
    let event = http_event(api, route, token);
    let a = authorizer::handle_with(&app.service, Some(d), event).await?;
    Ok(a["isAuthorized"] == true)
}

#[tokio::test]
async fn declarations_are_read_through_ssm_get_parameters() {
    let app = App::start().await;
    let declared = format!("{PREFIX}ssm8");
    let text = orders().to_string();
    let stub = AwsStub::start(move |_, _, body| {
        let name = body["Names"][0].as_str().unwrap_or_default().to_string();
        if name.ends_with("down8") {
            return (400, json!({"__type": "AccessDeniedException", "message": "not allowed"}));
        }
        if name == declared {
            (200, json!({"Parameters": [{"Name": name, "Type": "String", "Value": text, "Version": 1}],
                         "InvalidParameters": []}))
        } else {
            (200, json!({"Parameters": [], "InvalidParameters": [name]}))
        }
    })
    .await;
    let ssm = SsmSource(aws_sdk_ssm::Client::new(&stub.sdk_config()));
    let d = Declarations::new(ssm, PREFIX, Duration::from_secs(60));
    let reader = app.mint("acme", "alice", &["orders:read"]).await;
    assert!(ssm_allows(&app, &d, "ssm8", "GET /orders", &reader)
        .await
        .unwrap());
    assert!(!ssm_allows(&app, &d, "ssm8", "POST /orders", &reader)
        .await
        .unwrap());
    assert!(!ssm_allows(&app, &d, "missing8", "GET /orders", &reader)
        .await
        .unwrap());
    assert!(!ssm_allows(&app, &d, "missing8", "GET /orders", &reader)
        .await
        .unwrap());
    // SSM failing with nothing cached: an error (API Gateway answers 500), not a refusal.
    assert!(matches!(
        ssm_allows(&app, &d, "down8", "GET /orders", &reader).await,
        Err(AuthorizerError::Declarations(_))
    ));
    let requests = stub.requests();
    let names: Vec<Value> = requests
        .iter()
        .map(|r| {
            assert_eq!(r.target, "AmazonSSM.GetParameters");
            serde_json::from_str::<Value>(&r.body).unwrap()["Names"].clone()
        })
        .collect();
    assert_eq!(names[0], json!([format!("{PREFIX}ssm8")]));
    assert_eq!(names[1], json!([format!("{PREFIX}missing8")]));
    assert_eq!(
        names.len()
            - names
                .iter()
                .filter(|n| n[0].as_str().unwrap().ends_with("down8"))
                .count(),
        2,
        "one GetParameters per API"
    );
}
