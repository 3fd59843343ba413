//! Without rules the proxy changes nothing: what the client sends reaches the upstream as
//! sent (SigV4 signs the Host header), and the upstream's answer reaches the client.

use fault_proxy::FaultProxy;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::Request;

use crate::support::{call, dynamodb, proxied, ANSWER, HOST};

#[tokio::test]
async fn a_request_reaches_the_upstream_as_sent() {
    let (upstream, proxy) = proxied().await;
    let body = r#"{"TableName":"tokens","Key":{"pk":{"S":"t#1"}}}"#;
    let req = Request::put("/some/path?x=1&y=two")
        .header("host", HOST)
        .header("x-amz-target", "DynamoDB_20120810.GetItem")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=local/…")
        .header("x-amz-date", "20250101T000000Z")
        .header("content-length", body.len())
        .body(Full::new(Bytes::from(body)))
        .unwrap();

    call(proxy.addr(), req).await.unwrap();

    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    let seen = &seen[0];
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.uri, "/some/path?x=1&y=two");
    assert_eq!(seen.headers["host"], HOST);
    assert_eq!(seen.headers["x-amz-target"], "DynamoDB_20120810.GetItem");
    assert_eq!(
        seen.headers["authorization"],
        "AWS4-HMAC-SHA256 Credential=local/…"
    );
    assert_eq!(seen.headers["x-amz-date"], "20250101T000000Z");
    assert_eq!(
        seen.headers["content-length"],
        body.len().to_string().as_str()
    );
    assert_eq!(seen.body, body.as_bytes());
}

#[tokio::test]
async fn the_upstreams_answer_reaches_the_client_as_sent() {
    let (_upstream, proxy) = proxied().await;

    let reply = call(proxy.addr(), dynamodb("ListTables", "{}"))
        .await
        .unwrap();

    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["x-upstream"], "yes");
    assert_eq!(reply.headers["content-type"], "application/x-amz-json-1.0");
    assert_eq!(
        reply.headers["content-length"],
        ANSWER.len().to_string().as_str()
    );
    assert_eq!(reply.text(), ANSWER);
    assert!(reply.body_error.is_none());
    let stats = proxy.stats();
    assert_eq!(
        (stats.requests, stats.forwarded, stats.faults_total()),
        (1, 1, 0)
    );
    assert_eq!(stats.target("ListTables"), 1);
}

#[tokio::test]
async fn one_connection_carries_many_requests() {
    let (upstream, proxy) = proxied().await;
    let client = crate::support::pooled();
    for _ in 0..20 {
        let answer = client
            .request(crate::support::to(&proxy, dynamodb("GetItem", "{}")))
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        http_body_util::BodyExt::collect(answer.into_body())
            .await
            .unwrap();
    }
    assert_eq!(upstream.seen().len(), 20);
}

#[tokio::test]
async fn an_upstream_that_cannot_be_reached_is_answered_502() {
    let upstream = crate::support::Upstream::start().await;
    let endpoint = upstream.endpoint.clone();
    drop(upstream);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let proxy = FaultProxy::start(&endpoint).await.unwrap();

    let reply = call(proxy.addr(), dynamodb("GetItem", "{}")).await.unwrap();

    assert_eq!(reply.status, 502);
}

#[tokio::test]
async fn an_upstream_that_is_not_plain_http_is_refused() {
    for upstream in [
        "https://127.0.0.1:8000",
        "127.0.0.1:8000",
        "http://127.0.0.1:8000/prefix",
        "not a uri",
    ] {
        assert!(FaultProxy::start(upstream).await.is_err(), "{upstream}");
    }
}

#[tokio::test]
async fn a_dropped_proxy_stops_listening() {
    let (_upstream, proxy) = proxied().await;
    let addr = proxy.addr();
    drop(proxy);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
