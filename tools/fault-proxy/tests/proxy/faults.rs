//! Each fault as a client meets it, and whether the upstream saw the request.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use fault_proxy::{Fault, Rule, SERVER_ERROR_BODY, SERVICE_UNAVAILABLE_BODY, THROTTLING_BODY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{call, call_within, caused_by, dynamodb, eventually, proxied, ANSWER};

const PATIENCE: Duration = Duration::from_millis(300);

#[tokio::test]
async fn latency_delays_the_real_answer() {
    let (upstream, proxy) = proxied().await;
    proxy.set(vec![Rule::new(Fault::Latency(Duration::from_millis(200)))]);

    let start = Instant::now();
    let reply = call(proxy.addr(), dynamodb("GetItem", "{}")).await.unwrap();

    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        (reply.status.as_u16(), reply.text()),
        (200, ANSWER.to_owned())
    );
    assert_eq!(upstream.seen().len(), 1);
    assert_eq!(proxy.stats().applied("latency"), 1);
}

#[tokio::test]
async fn a_hang_never_answers_and_ends_when_the_client_gives_up() {
    let (upstream, proxy) = proxied().await;
    proxy.set(vec![Rule::new(Fault::Hang)]);

    let gave_up = call_within(proxy.addr(), dynamodb("GetItem", "{}"), PATIENCE).await;

    assert!(gave_up.is_none(), "answered: {gave_up:?}");
    assert!(upstream.seen().is_empty());
    assert_eq!(proxy.stats().applied("hang"), 1);
    assert!(
        eventually(|| proxy.stats().hanging == 0).await,
        "still held after the client left"
    );
}

#[tokio::test]
async fn a_hung_request_stays_hung_when_the_rules_are_cleared() {
    let (upstream, proxy) = proxied().await;
    proxy.set(vec![Rule::new(Fault::Hang)]);
    let addr = proxy.addr();
    let hung = tokio::spawn(call_within(
        addr,
        dynamodb("GetItem", "{}"),
        Duration::from_secs(1),
    ));
    assert!(eventually(|| proxy.stats().hanging == 1).await);

    proxy.clear();
    let next = call(addr, dynamodb("GetItem", "{}")).await.unwrap();

    assert_eq!(next.status, 200);
    assert!(
        hung.await.unwrap().is_none(),
        "the hung request was answered"
    );
    assert_eq!(upstream.seen().len(), 1);
}

#[tokio::test]
async fn dropping_the_proxy_closes_hung_connections() {
    let (_upstream, proxy) = proxied().await;
    proxy.set(vec![Rule::new(Fault::Hang)]);
    let hung = tokio::spawn(call_within(
        proxy.addr(),
        dynamodb("GetItem", "{}"),
        Duration::from_secs(5),
    ));
    assert!(eventually(|| proxy.stats().hanging == 1).await);

    drop(proxy);

    let ended = hung
        .await
        .unwrap()
        .expect("the connection stayed open after the proxy was dropped");
    assert!(ended.is_err());
}

#[tokio::test]
async fn a_reset_closes_the_connection_with_an_rst_and_no_answer() {
    let (upstream, proxy) = proxied().await;
    proxy.set(vec![Rule::new(Fault::Reset)]);

    let mut raw = TcpStream::connect(proxy.addr()).await.unwrap();
    raw.write_all(b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: DynamoDB_20120810.GetItem\r\ncontent-length: 2\r\n\r\n{}")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = raw.read_to_end(&mut buf).await;

    assert_eq!(
        read.map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionReset),
        "read {buf:?}"
    );
    assert!(buf.is_empty());
    assert!(upstream.seen().is_empty());
    let error = call(proxy.addr(), dynamodb("GetItem", "{}"))
        .await
        .unwrap_err();
    assert!(caused_by(&error, ErrorKind::ConnectionReset), "{error:?}");
    assert_eq!(proxy.stats().applied("reset"), 2);
}

#[tokio::test]
async fn a_truncated_answer_has_the_real_head_and_half_the_body() {
    let (upstream, proxy) = proxied().await;
    proxy.set(vec![Rule::new(Fault::Truncate)]);

    let reply = call(proxy.addr(), dynamodb("GetItem", "{}")).await.unwrap();

    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["x-upstream"], "yes");
    assert_eq!(
        reply.headers["content-length"],
        ANSWER.len().to_string().as_str()
    );
    assert_eq!(reply.text(), ANSWER[..ANSWER.len() / 2]);
    assert!(reply.body_error.is_some(), "the body ended cleanly");
    assert_eq!(upstream.seen().len(), 1);
}

#[tokio::test]
async fn throttling_answers_dynamodbs_throttling_exception_without_forwarding() {
    let (upstream, proxy) = proxied().await;
    proxy.set(vec![Rule::new(Fault::Throttle)]);

    let reply = call(proxy.addr(), dynamodb("PutItem", "{}")).await.unwrap();

    assert_eq!(
        (reply.status.as_u16(), reply.text()),
        (400, THROTTLING_BODY.to_owned())
    );
    assert_eq!(reply.headers["content-type"], "application/x-amz-json-1.0");
    assert!(THROTTLING_BODY
        .contains(r#""__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException""#));
    assert!(upstream.seen().is_empty());
    assert_eq!(proxy.stats().forwarded, 0);
}

#[tokio::test]
async fn server_errors_answer_500_and_503_and_any_status_with_its_body() {
    let (upstream, proxy) = proxied().await;
    let custom = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    let cases = [
        (Fault::ServerError, 500, SERVER_ERROR_BODY),
        (Fault::ServiceUnavailable, 503, SERVICE_UNAVAILABLE_BODY),
        (
            Fault::Status {
                status: 400,
                body: custom.into(),
            },
            400,
            custom,
        ),
    ];
    for (fault, status, body) in cases {
        proxy.set(vec![Rule::new(fault)]);
        let reply = call(proxy.addr(), dynamodb("PutItem", "{}")).await.unwrap();
        assert_eq!(
            (reply.status.as_u16(), reply.text()),
            (status, body.to_owned())
        );
    }
    assert!(SERVER_ERROR_BODY.contains("com.amazonaws.dynamodb.v20120810#InternalServerError"));
    assert!(upstream.seen().is_empty());
}

#[tokio::test]
async fn after_forward_the_write_happens_and_the_answer_is_lost() {
    let (upstream, proxy) = proxied().await;

    proxy.set(vec![Rule::new(Fault::Reset.after_forward())]);
    let reset = call(proxy.addr(), dynamodb("TransactWriteItems", r#"{"n":1}"#)).await;
    assert!(reset.is_err(), "answered: {reset:?}");

    proxy.set(vec![Rule::new(Fault::ServerError.after_forward())]);
    let failed = call(proxy.addr(), dynamodb("TransactWriteItems", r#"{"n":2}"#))
        .await
        .unwrap();
    assert_eq!(failed.status, 500);

    proxy.set(vec![Rule::new(Fault::Hang.after_forward())]);
    let hung = call_within(
        proxy.addr(),
        dynamodb("TransactWriteItems", r#"{"n":3}"#),
        PATIENCE,
    )
    .await;
    assert!(hung.is_none());

    let bodies: Vec<_> = upstream.seen().iter().map(|s| s.body.clone()).collect();
    assert_eq!(bodies, [&br#"{"n":1}"#[..], br#"{"n":2}"#, br#"{"n":3}"#]);
    let stats = proxy.stats();
    assert_eq!(stats.forwarded, 3);
    assert_eq!(
        (
            stats.applied("after_forward:reset"),
            stats.applied("after_forward:server_error"),
            stats.applied("after_forward:hang")
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn after_forward_latency_delays_the_answer_after_the_write() {
    let (upstream, proxy) = proxied().await;
    proxy.set(vec![Rule::new(
        Fault::Latency(Duration::from_millis(300)).after_forward(),
    )]);
    let addr = proxy.addr();

    let start = Instant::now();
    let reply = tokio::spawn(call(addr, dynamodb("PutItem", "{}")));
    assert!(eventually(|| upstream.seen().len() == 1).await);
    assert!(
        start.elapsed() < Duration::from_millis(300),
        "forwarded late: {:?}",
        start.elapsed()
    );
    let reply = reply.await.unwrap().unwrap();

    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(reply.text(), ANSWER);
}
