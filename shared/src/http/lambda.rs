//! The API functions' Lambda entry point: `lambda_http`'s adapter with the event made safe
//! for it first.
//!
//! `lambda_http` (1.3) appends an HTTP API event's `rawQueryString` to the URI it builds and
//! panics when `http::Uri` refuses a byte of it. API Gateway passes a client's query through
//! as sent, so `?q="a b"` or `?x=<y>` from curl would panic the function, and with
//! `panic = "abort"` in release end the instance, before any of our code ran. [`repair`]
//! percent-encodes exactly the bytes `http::Uri` refuses in a query (controls, space, `"`,
//! `#`, `<`, `>`, DEL). Query parameters read the same afterwards: a query value is
//! percent-decoded, so `%22` and a raw `"` are one value.

use lambda_http::request::LambdaRequest;
use lambda_http::{service_fn, tower, Adapter, Error, LambdaEvent, Request};

use crate::http::{serve, Operation};
use crate::service::TokenService;
use crate::store::TokenStore;

/// Runs the function that serves `operations` until Lambda stops it.
pub async fn run<S: TokenStore>(
    service: &TokenService<S>,
    operations: &'static [Operation],
) -> Result<(), Error> {
    let adapter = Adapter::from(service_fn(move |req| serve(service, req, operations)));
    let handler = tower::ServiceBuilder::new()
        .map_request(|mut event: LambdaEvent<LambdaRequest>| {
            repair(&mut event.payload);
            event
        })
        .service(adapter);
    lambda_http::lambda_runtime::run(handler).await
}

/// The request a function reads from an event's JSON, exactly as [`run`] builds it.
pub fn read_event(json: &str) -> serde_json::Result<Request> {
    let mut event: LambdaRequest = serde_json::from_str(json)?;
    repair(&mut event);
    Ok(event.into())
}

/// Makes the event's raw query string one `http::Uri` accepts (see the module doc).
pub fn repair(event: &mut LambdaRequest) {
    if let LambdaRequest::ApiGatewayV2(event) = event {
        if let Some(query) = event.raw_query_string.as_mut() {
            if query.bytes().any(refused_in_query) {
                *query = encode_refused(query);
            }
        }
    }
}

/// The bytes `http::Uri` (1.x) refuses in a query, `#` included: it would end the query.
fn refused_in_query(b: u8) -> bool {
    matches!(b, 0x00..=0x20 | b'"' | b'#' | b'<' | b'>' | 0x7F)
}

fn encode_refused(query: &str) -> String {
    let mut out = String::with_capacity(query.len() + 8);
    for c in query.chars() {
        match u8::try_from(c) {
            Ok(b) if refused_in_query(b) => out.push_str(&format!("%{b:02X}")),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;
    use serde_json::json;

    fn event(raw_query: &str) -> String {
        json!({
            "version": "2.0",
            "routeKey": "GET /tokens",
            "rawPath": "/tokens",
            "rawQueryString": raw_query,
            "headers": {"host": "api.example.com"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
                "domainPrefix": "api", "requestId": "r", "routeKey": "GET /tokens",
                "stage": "$default", "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 0,
                "http": {"method": "GET", "path": "/tokens", "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "curl"}
            },
            "isBase64Encoded": false
        })
        .to_string()
    }

    #[test]
    fn every_byte_the_uri_refuses_is_encoded_and_reads_as_sent() {
        let raw = "q=\"a b\"&x=<y>&t=a\tb&h=#1&d=\u{7f}&ok=é|{}^`\\";
        let req = read_event(&event(raw)).expect("an HTTP API event");
        let q = req.query_string_parameters();
        assert_eq!(q.first("q"), Some("\"a b\""));
        assert_eq!(q.first("x"), Some("<y>"));
        assert_eq!(q.first("t"), Some("a\tb"));
        assert_eq!(q.first("h"), Some("#1"));
        assert_eq!(q.first("d"), Some("\u{7f}"));
        assert_eq!(q.first("ok"), Some("é|{}^`\\"));
        assert_eq!(
            req.uri().query(),
            Some("q=%22a%20b%22&x=%3Cy%3E&t=a%09b&h=%231&d=%7F&ok=é|{}^`\\")
        );
    }

    #[test]
    fn lambda_http_alone_panics_on_the_same_event() {
        let json = event("q=\"a b\"");
        let unrepaired = std::panic::catch_unwind(|| lambda_http::request::from_str(&json));
        assert!(
            unrepaired.is_err(),
            "lambda_http no longer panics: drop repair()"
        );
        assert!(read_event(&json).is_ok());
    }

    #[test]
    fn a_query_the_uri_accepts_is_left_as_sent() {
        let raw = "status=active&metadata.team=a%20b&q=é+x";
        let req = read_event(&event(raw)).expect("an HTTP API event");
        assert_eq!(req.uri().query(), Some(raw));
    }
}
