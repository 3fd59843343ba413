//! The routes the bench times, as requests to the local server.

use integration_tests::{App, Method, Reply};
use serde_json::{json, Value};

/// One route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    List,
    ListCounted,
    Own,
    Get,
    Create,
    Patch,
    Rotate,
    Revoke,
    Delete,
}

/// Which token a call works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// None: the path names no token.
    None,
    /// The same token every time (reads, renames).
    Fixed,
    /// A fresh active token per call, minted beforehand (the call revokes it).
    Minted,
    /// A token the create route made earlier in the same run (the owner deletes it).
    Created,
    /// The token the previous rotation made (each rotation retires its target).
    Chained,
}

impl Route {
    pub const ALL: [Route; 9] = [
        Route::List,
        Route::ListCounted,
        Route::Own,
        Route::Get,
        Route::Create,
        Route::Patch,
        Route::Rotate,
        Route::Revoke,
        Route::Delete,
    ];

    /// The row's name in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Route::List => "`GET /tokens` (page of 50)",
            Route::ListCounted => "`GET /tokens?status=active&include_total_count=true`",
            Route::Own => "`GET /tokens/self`",
            Route::Get => "`GET /tokens/{id}`",
            Route::Create => "`POST /tokens`",
            Route::Patch => "`PATCH /tokens/{id}`",
            Route::Rotate => "`POST /tokens/{id}/rotate`",
            Route::Revoke => "`POST /tokens/{id}/revoke`",
            Route::Delete => "`DELETE /tokens/{id}` (the owner)",
        }
    }

    pub fn target(self) -> Target {
        match self {
            Route::List | Route::ListCounted | Route::Own | Route::Create => Target::None,
            Route::Get | Route::Patch => Target::Fixed,
            Route::Revoke => Target::Minted,
            Route::Delete => Target::Created,
            Route::Rotate => Target::Chained,
        }
    }

    /// The status of a successful call.
    pub fn success(self) -> u16 {
        match self {
            Route::Create | Route::Rotate => 201,
            Route::Delete => 204,
            _ => 200,
        }
    }

    /// The `i`-th call's method, path and body, on token `id` where the route names one.
    pub fn request(self, id: &str, i: usize) -> (Method, String, Option<Value>) {
        match self {
            Route::List => (Method::GET, "/tokens".into(), None),
            Route::ListCounted => (
                Method::GET,
                "/tokens?status=active&include_total_count=true".into(),
                None,
            ),
            Route::Own => (Method::GET, "/tokens/self".into(), None),
            Route::Get => (Method::GET, format!("/tokens/{id}"), None),
            Route::Create => (
                Method::POST,
                "/tokens".into(),
                Some(json!({"name": format!("created {i}"), "scopes": ["tokens:read"]})),
            ),
            Route::Patch => (
                Method::PATCH,
                format!("/tokens/{id}"),
                Some(json!({"name": format!("renamed {i}")})),
            ),
            Route::Rotate => (
                Method::POST,
                format!("/tokens/{id}/rotate"),
                Some(json!({})),
            ),
            Route::Revoke => (
                Method::POST,
                format!("/tokens/{id}/revoke"),
                Some(json!({"reason": "bench"})),
            ),
            Route::Delete => (Method::DELETE, format!("/tokens/{id}"), None),
        }
    }

    /// Sends the `i`-th call with `token`'s bearer.
    pub async fn call(self, app: &App, token: &str, id: &str, i: usize) -> Reply {
        let (method, path, body) = self.request(id, i);
        app.call(method, &path, Some(token), body).await
    }
}

/// An HTTP API (payload 2.0) authorizer event carrying `token`.
pub fn authorizer_event(token: &str) -> Value {
    json!({"version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:1:api/$default/GET/tokens",
        "identitySource": [format!("Bearer {token}")], "routeKey": "GET /tokens",
        "rawPath": "/tokens", "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {token}")},
        "requestContext": {"http": {"method": "GET", "path": "/tokens", "sourceIp": "203.0.113.7"}}})
}
