//! The functions under test, the event each is handed, and how its answer shows that it
//! did the work.

use api_tokens::service::CreateInput;
use api_tokens::{DynamoStore, TokenService};
use integration_tests::{fixture, sqs_batch};
use serde_json::{json, Value};

pub const TENANT: &str = "bench";
pub const USER: &str = "alice";

/// How a function's answer shows that it did the work.
#[derive(Clone, Copy)]
pub enum Expect {
    /// An API Gateway response with a 2xx status.
    Http,
    /// `{"isAuthorized": true}`.
    Authorized,
    /// `{"moved": n}`.
    Swept,
    /// `{"batchItemFailures": []}`.
    NoFailures,
    /// `{"batchItemFailures": []}` after at least one `PutEvents`.
    Published,
}

pub struct Function {
    pub bin: &'static str,
    pub expect: Expect,
}

pub const FUNCTIONS: [Function; 7] = [
    Function {
        bin: "tokens-list",
        expect: Expect::Http,
    },
    Function {
        bin: "tokens-create",
        expect: Expect::Http,
    },
    Function {
        bin: "tokens-revoke",
        expect: Expect::Http,
    },
    Function {
        bin: "tokens-authorizer",
        expect: Expect::Authorized,
    },
    Function {
        bin: "tokens-expire",
        expect: Expect::Swept,
    },
    Function {
        bin: "tokens-revoke-events",
        expect: Expect::NoFailures,
    },
    Function {
        bin: "tokens-publish-events",
        expect: Expect::Published,
    },
];

/// An API Gateway HTTP API (payload 2.0) request from `alice`, through the authorizer,
/// shaped like `tests/fixtures/http-api-get-token.json`.
fn http_event(method: &str, route: &str, path: &str, caller: &str, body: Option<Value>) -> Value {
    let mut e = fixture(
        "http-api-get-token.json",
        &[
            ("TOKEN_ID", ""),
            ("SECRET", "unused"),
            ("CALLER_TOKEN_ID", caller),
        ],
    );
    e["routeKey"] = json!(format!("{method} {route}"));
    e["requestContext"]["routeKey"] = e["routeKey"].clone();
    e["rawPath"] = json!(format!("/prod{path}"));
    e["requestContext"]["http"]["path"] = e["rawPath"].clone();
    e["requestContext"]["http"]["method"] = json!(method);
    e["requestContext"]["authorizer"]["lambda"]["tenant_id"] = json!(TENANT);
    e["requestContext"]["authorizer"]["lambda"]["user_id"] = json!(USER);
    // `/tokens/{id}/...`: the id is the path's third segment.
    e["pathParameters"] = match path.split('/').nth(2) {
        Some(id) if route.contains("{id}") => json!({ "id": id }),
        _ => json!({}),
    };
    if route == "GET /tokens" {
        e["rawQueryString"] = json!("limit=20");
    }
    if let Some(body) = body {
        e["body"] = json!(body.to_string());
        e["headers"]["content-type"] = json!("application/json");
    }
    e
}

/// The service that seeds what each event works on, and what every run is given.
pub struct Bench {
    pub service: TokenService<DynamoStore>,
    /// The keys, as SSM parameters (name, value).
    pub parameters: Vec<(String, String)>,
    pub env: Vec<(String, String)>,
    pub caller_token_id: String,
    pub secret: String,
}

impl Bench {
    /// A fresh token of the user, expiring at `expires_at`; its id.
    async fn token(&self, expires_at: Option<api_tokens::time::Timestamp>) -> String {
        let (item, _) = self
            .service
            .issue(
                TENANT,
                USER,
                USER,
                CreateInput {
                    name: "cold start".into(),
                    scopes: vec!["tokens:read".into()],
                    expires_at,
                    ..CreateInput::default()
                },
            )
            .await
            .expect("seed a token");
        item.id.to_string()
    }

    /// A fresh event for `bin` that does real work (seeding what it works on).
    pub async fn event(&self, bin: &str) -> Value {
        let caller = self.caller_token_id.as_str();
        match bin {
            "tokens-list" => http_event("GET", "/tokens", "/tokens", caller, None),
            "tokens-create" => http_event(
                "POST",
                "/tokens",
                "/tokens",
                caller,
                Some(
                    json!({"name": "cold start", "scopes": ["tokens:read"], "expires_in_days": 30}),
                ),
            ),
            "tokens-revoke" => {
                let id = self.token(None).await;
                http_event(
                    "POST",
                    "/tokens/{id}/revoke",
                    &format!("/tokens/{id}/revoke"),
                    caller,
                    Some(json!({"reason": "cold start"})),
                )
            }
            "tokens-authorizer" => json!({
                "version": "2.0", "type": "REQUEST",
                "routeArn": "arn:aws:execute-api:us-east-1:123456789012:abc123def4/$default/GET/tokens",
                "identitySource": [format!("Bearer {}", self.secret)],
                "routeKey": "GET /tokens", "rawPath": "/tokens", "rawQueryString": "",
                "headers": {"authorization": format!("Bearer {}", self.secret)},
                "requestContext": {"http": {"method": "GET", "path": "/tokens", "sourceIp": "203.0.113.7"}}
            }),
            "tokens-expire" => {
                let past = api_tokens::time::now() - chrono::Duration::minutes(1);
                self.token(Some(past)).await;
                json!({
                    "version": "0", "id": uuid::Uuid::now_v7().to_string(),
                    "detail-type": "Scheduled Event", "source": "aws.events",
                    "account": "123456789012", "time": "2026-11-23T10:00:00Z",
                    "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/tokens-expire"],
                    "detail": {}
                })
            }
            "tokens-revoke-events" => {
                let id = self.token(None).await;
                sqs_batch(&[(
                    uuid::Uuid::now_v7().to_string(),
                    json!({"tenant_id": TENANT, "token_id": id, "reason": "cold start"})
                        .to_string(),
                )])
            }
            "tokens-publish-events" => fixture("streams-token-lifecycle.json", &[]),
            other => panic!("no event for {other}"),
        }
    }
}
