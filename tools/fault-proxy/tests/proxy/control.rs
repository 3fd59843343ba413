//! The binary's control endpoint: rules in, counts out, over HTTP.

use std::sync::Arc;

use fault_proxy::control::serve_control;
use fault_proxy::FaultProxy;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::support::{call, dynamodb, pooled, Upstream};

async fn send(client_base: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let req = Request::builder()
        .method(method)
        .uri(format!("{client_base}{path}"))
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let answer = pooled().request(req).await.unwrap();
    let status = answer.status().as_u16();
    let body = answer.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn rules_are_put_and_deleted_and_the_counts_read_over_http() {
    let upstream = Upstream::start().await;
    let proxy = Arc::new(FaultProxy::start(&upstream.endpoint).await.unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve_control(listener, proxy.clone()));

    let rules = r#"[{"fault": "throttle", "target": "GetItem", "limit": 1}]"#;
    assert_eq!(send(&control, "PUT", "/rules", rules).await.0, 204);
    assert_eq!(
        call(proxy.addr(), dynamodb("GetItem", "{}"))
            .await
            .unwrap()
            .status,
        400
    );
    assert_eq!(
        call(proxy.addr(), dynamodb("GetItem", "{}"))
            .await
            .unwrap()
            .status,
        200
    );

    let (status, stats) = send(&control, "GET", "/stats", "").await;
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(status, 200);
    assert_eq!(stats["requests"], 2);
    assert_eq!(stats["forwarded"], 1);
    assert_eq!(stats["faults"]["throttle"], 1);
    assert_eq!(stats["targets"]["GetItem"], 2);

    assert_eq!(
        send(&control, "PUT", "/rules", r#"[{"fault": "hang"}]"#)
            .await
            .0,
        204
    );
    assert_eq!(send(&control, "DELETE", "/rules", "").await.0, 204);
    assert_eq!(
        call(proxy.addr(), dynamodb("GetItem", "{}"))
            .await
            .unwrap()
            .status,
        200
    );

    let (status, error) = send(&control, "PUT", "/rules", r#"[{"fault": "explode"}]"#).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(send(&control, "GET", "/nothing", "").await.0, 404);
    server.abort();
}
