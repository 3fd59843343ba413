//! The functions as Lambda runs them: real-shaped API Gateway events (fixtures in
//! `tests/fixtures`) through `http::serve`, with the caller taken from the authorizer context.

use api_tokens::{http, DynamoStore, TokenService};
use integration_tests::{dynamodb, test_config, App, Method};
use lambda_http::Body;
use serde_json::Value;

use crate::USER;

fn event(fixture: &str, token_id: &str, caller_token_id: &str) -> lambda_http::Request {
    let path = format!("{}/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("{{TOKEN_ID}}", token_id)
        .replace("{{CALLER_TOKEN_ID}}", caller_token_id)
        .replace("{{SECRET}}", "not-used-by-the-handler");
    lambda_http::request::from_str(&text).expect("a valid API Gateway event")
}

fn json_of(resp: &lambda_http::Response<Body>) -> Value {
    serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null)
}

#[tokio::test]
async fn http_and_rest_api_events_are_served_with_the_authorizer_context() {
    let app = App::start().await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let (bob_id, _) = app.mint_with("acme", "bob", USER, Default::default()).await;

    // HTTP API on a named stage (the raw path carries `/prod`): routed by the route key.
    for fixture in ["http-api-get-token.json", "rest-api-get-token.json"] {
        let resp = http::serve(&app.service, event(fixture, &id, &id), http::LIST_FUNCTION)
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{fixture}: {:?}", resp.body());
        assert_eq!(json_of(&resp)["id"], id.as_str());

        // The context says alice: bob's token is out of reach.
        let resp = http::serve(
            &app.service,
            event(fixture, &bob_id, &id),
            http::LIST_FUNCTION,
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 404, "{fixture}");

        // A function only serves its own routes.
        let resp = http::serve(
            &app.service,
            event(fixture, &id, &id),
            http::CREATE_FUNCTION,
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 404, "{fixture}");
    }
}

#[tokio::test]
async fn an_event_without_authorizer_context_is_401() {
    let app = App::start().await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let path = format!(
        "{}/fixtures/http-api-get-token.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let text = v.to_string().replace("{{TOKEN_ID}}", &id);
    let req = lambda_http::request::from_str(&text).unwrap();
    let resp = http::serve(&app.service, req, http::LIST_FUNCTION)
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(json_of(&resp)["type"], "/problems/unauthorized");
}

/// An endpoint nothing listens on: a port the OS just handed out and took back (not a fixed
/// port some other process may hold).
fn unreachable_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn an_unreachable_dynamodb_is_503_with_retry_after_not_401() {
    let dead = dynamodb(&unreachable_endpoint());
    let service = std::sync::Arc::new(TokenService::new(
        DynamoStore::new(dead, "unreachable"),
        &test_config("unreachable"),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(dev_server::serve(listener, service));
    // Reuse the harness client through a throwaway app pointed at the dead server.
    let app = App::start().await;
    let token = app.mint("acme", "alice", USER).await;
    let client = integration_tests::HttpClient::new();
    let r = client
        .send(
            addr,
            Method::GET,
            "/tokens",
            &[("authorization", &format!("Bearer {token}"))],
            vec![],
        )
        .await;
    server.abort();
    r.assert_problem(503, "service-unavailable");
    assert_eq!(r.header("retry-after"), "1");
}
