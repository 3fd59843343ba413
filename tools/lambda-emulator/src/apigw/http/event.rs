//! The events an HTTP API sends: the Lambda proxy integration's payload format 2.0 event and
//! the format 2.0 Lambda authorizer event ("Create AWS Lambda proxy integrations for HTTP
//! APIs" and "Control access to HTTP APIs with AWS Lambda authorizers", API Gateway
//! developer guide).
//!
//! Reproduced: header names lower-cased, repeated headers joined with `,`, the `Cookie`
//! headers moved to `cookies` (one entry per cookie) and left out of `headers`; repeated
//! query parameters joined with `,`; `queryStringParameters`, `pathParameters`,
//! `stageVariables`, `cookies` and `body` left out when there are none; `rawPath` and
//! `requestContext.http.path` as sent (stage prefix included); `requestContext.time` in
//! `dd/Mon/yyyy:HH:mm:ss +0000`; the `x-forwarded-for` / `-port` / `-proto` and
//! `x-amzn-trace-id` headers API Gateway adds; `domainName` as API Gateway's own
//! (`<api id>.execute-api.<region>.amazonaws.com`). The body is given as text when its
//! `content-type` is textual and it is UTF-8, base64 (`isBase64Encoded: true`) otherwise,
//! `application/x-www-form-urlencoded` included (as HTTP APIs do).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::apigw::request::ApiRequest;

/// What every event of one API says about the API.
#[derive(Debug, Clone)]
pub struct ApiContext {
    /// The API id.
    pub api_id: String,
    /// The stage (`$default`).
    pub stage: String,
    /// `AWS::AccountId`.
    pub account: String,
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::Partition`.
    pub partition: String,
    /// The stage's variables.
    pub stage_variables: BTreeMap<String, String>,
}

/// What the events say about the selected route.
#[derive(Debug, Clone)]
pub struct RouteMatch {
    /// API Gateway's id for the request (`apigw-requestid`).
    pub request_id: String,
    /// The selected route's key.
    pub route_key: String,
    /// Its path parameters.
    pub path_params: BTreeMap<String, String>,
    /// The path without the stage prefix (what routing and ARNs use).
    pub stage_path: String,
}

impl ApiContext {
    /// `<api id>.execute-api.<region>.amazonaws.com`.
    pub fn domain_name(&self) -> String {
        format!("{}.execute-api.{}.amazonaws.com", self.api_id, self.region)
    }

    /// `arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>`.
    pub fn execute_arn(&self, method: &str, path: &str) -> String {
        format!(
            "arn:{}:execute-api:{}:{}:{}/{}/{}/{}",
            self.partition,
            self.region,
            self.account,
            self.api_id,
            self.stage,
            method,
            path.trim_start_matches('/')
        )
    }
}

/// Adds the headers API Gateway adds before anything sees the request.
pub fn add_gateway_headers(request: &mut ApiRequest, port: u16, trace_id: &str) {
    let forwarded = match request.joined_header("x-forwarded-for") {
        Some(earlier) => format!("{earlier}, {}", request.source_ip),
        None => request.source_ip.to_string(),
    };
    let added = [
        ("x-forwarded-for", forwarded),
        ("x-forwarded-port", port.to_string()),
        ("x-forwarded-proto", "http".to_owned()),
        ("x-amzn-trace-id", trace_id.to_owned()),
    ];
    for (name, value) in added {
        request.headers.retain(|(n, _)| n != name);
        request.headers.push((name.to_owned(), value));
    }
}

/// The Lambda proxy integration's event; `authorizer` is the Lambda authorizer's context.
pub fn integration_event(
    request: &ApiRequest,
    api: &ApiContext,
    route: &RouteMatch,
    authorizer: Option<&Value>,
) -> Value {
    let mut event = common(request, api, route);
    event.insert("version".into(), json!("2.0"));
    let mut context = request_context(request, api, route);
    if let Some(authorizer) = authorizer {
        context.insert("authorizer".into(), json!({ "lambda": authorizer }));
    }
    event.insert("requestContext".into(), Value::Object(context));
    let content_type = request.joined_header("content-type").unwrap_or_default();
    let (body, base64) = request.body_text(is_text(&content_type));
    if !request.body.is_empty() {
        event.insert("body".into(), json!(body));
    }
    event.insert(
        "isBase64Encoded".into(),
        json!(base64 && !request.body.is_empty()),
    );
    Value::Object(event)
}

/// The format 2.0 Lambda authorizer's event.
pub fn authorizer_event(
    request: &ApiRequest,
    api: &ApiContext,
    route: &RouteMatch,
    identity: &[String],
    route_arn: &str,
) -> Value {
    let mut event = common(request, api, route);
    event.insert("version".into(), json!("2.0"));
    event.insert("type".into(), json!("REQUEST"));
    event.insert("routeArn".into(), json!(route_arn));
    event.insert("identitySource".into(), json!(identity));
    event.insert(
        "requestContext".into(),
        Value::Object(request_context(request, api, route)),
    );
    Value::Object(event)
}

fn common(request: &ApiRequest, api: &ApiContext, route: &RouteMatch) -> Map<String, Value> {
    let mut event = Map::new();
    event.insert("routeKey".into(), json!(route.route_key));
    event.insert("rawPath".into(), json!(request.raw_path));
    event.insert("rawQueryString".into(), json!(request.raw_query));
    let cookies = request.cookies();
    if !cookies.is_empty() {
        event.insert("cookies".into(), json!(cookies));
    }
    event.insert("headers".into(), Value::Object(headers(request)));
    let mut query = Map::new();
    for (name, value) in request.query_pairs() {
        match query.get_mut(&name) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                query.insert(name, json!(value));
            }
        }
    }
    if !query.is_empty() {
        event.insert("queryStringParameters".into(), Value::Object(query));
    }
    if !route.path_params.is_empty() {
        event.insert("pathParameters".into(), json!(route.path_params));
    }
    if !api.stage_variables.is_empty() {
        event.insert("stageVariables".into(), json!(api.stage_variables));
    }
    event
}

fn headers(request: &ApiRequest) -> Map<String, Value> {
    let mut headers = Map::new();
    for (name, _) in &request.headers {
        if name != "cookie" && !headers.contains_key(name) {
            let joined = request.joined_header(name).unwrap_or_default();
            headers.insert(name.clone(), json!(joined));
        }
    }
    headers
}

fn request_context(
    request: &ApiRequest,
    api: &ApiContext,
    route: &RouteMatch,
) -> Map<String, Value> {
    let context = json!({
        "accountId": api.account,
        "apiId": api.api_id,
        "domainName": api.domain_name(),
        "domainPrefix": api.api_id,
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip.to_string(),
            "userAgent": request.user_agent(),
        },
        "requestId": route.request_id,
        "routeKey": route.route_key,
        "stage": api.stage,
        "time": request.time.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        "timeEpoch": request.time.timestamp_millis(),
    });
    match context {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Whether a body of this `content-type` reaches the function as text.
pub fn is_text(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || matches!(
            essence.as_str(),
            "application/json" | "application/javascript" | "application/xml"
        )
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apigw::request::fixture::request;

    fn api() -> ApiContext {
        ApiContext {
            api_id: "abcdef1234".into(),
            stage: "$default".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            stage_variables: BTreeMap::new(),
        }
    }

    fn route(key: &str, params: &[(&str, &str)]) -> RouteMatch {
        RouteMatch {
            request_id: "JKJaXmPLvHcESHA=".into(),
            route_key: key.into(),
            path_params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            stage_path: String::new(),
        }
    }

    #[test]
    fn the_integration_event_is_payload_format_2() {
        let mut r = request(
            "GET",
            "/tokens/tok_1?a=1&a=2&b=x",
            &[
                ("Authorization", "Bearer t"),
                ("X-Multi", "1"),
                ("x-multi", "2"),
                ("Cookie", "s=1; t=2"),
                ("User-Agent", "test/1"),
            ],
        );
        add_gateway_headers(&mut r, 8443, "Root=1-5e6a-abc");
        let event = integration_event(
            &r,
            &api(),
            &route("GET /tokens/{id}", &[("id", "tok_1")]),
            Some(&json!({"owner": "o1"})),
        );
        let expected = json!({
            "version": "2.0",
            "routeKey": "GET /tokens/{id}",
            "rawPath": "/tokens/tok_1",
            "rawQueryString": "a=1&a=2&b=x",
            "cookies": ["s=1", "t=2"],
            "headers": {
                "authorization": "Bearer t", "x-multi": "1,2", "user-agent": "test/1",
                "x-forwarded-for": "127.0.0.1", "x-forwarded-port": "8443",
                "x-forwarded-proto": "http", "x-amzn-trace-id": "Root=1-5e6a-abc"
            },
            "queryStringParameters": {"a": "1,2", "b": "x"},
            "pathParameters": {"id": "tok_1"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abcdef1234",
                "authorizer": {"lambda": {"owner": "o1"}},
                "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abcdef1234",
                "http": {"method": "GET", "path": "/tokens/tok_1", "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "test/1"},
                "requestId": "JKJaXmPLvHcESHA=",
                "routeKey": "GET /tokens/{id}",
                "stage": "$default",
                "time": "04/Mar/2020:19:03:58 +0000",
                "timeEpoch": 1_583_348_638_390_i64
            },
            "isBase64Encoded": false
        });
        assert_eq!(event, expected);
    }

    #[test]
    fn empty_parts_are_left_out_and_bodies_follow_their_content_type() {
        let mut r = request("POST", "/tokens", &[("Content-Type", "application/json")]);
        r.body = br#"{"name":"n"}"#.to_vec();
        let event = integration_event(&r, &api(), &route("POST /tokens", &[]), None);
        for absent in [
            "cookies",
            "queryStringParameters",
            "pathParameters",
            "stageVariables",
        ] {
            assert!(event.get(absent).is_none(), "{absent}");
        }
        assert!(event["requestContext"].get("authorizer").is_none());
        assert_eq!(event["body"], json!(r#"{"name":"n"}"#));
        assert_eq!(event["isBase64Encoded"], json!(false));

        let mut form = request(
            "POST",
            "/tokens",
            &[("Content-Type", "application/x-www-form-urlencoded")],
        );
        form.body = b"a=1".to_vec();
        let event = integration_event(&form, &api(), &route("POST /tokens", &[]), None);
        assert_eq!(
            (event["body"].clone(), event["isBase64Encoded"].clone()),
            (json!("YT0x"), json!(true))
        );
    }

    #[test]
    fn the_authorizer_event_names_the_route_arn_and_identity() {
        let r = request(
            "POST",
            "/tokens/t1/rotate",
            &[("Authorization", "Bearer t")],
        );
        let arn = api().execute_arn("POST", "/tokens/t1/rotate");
        assert_eq!(
            arn,
            "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/$default/POST/tokens/t1/rotate"
        );
        let event = authorizer_event(
            &r,
            &api(),
            &route("POST /tokens/{id}/rotate", &[("id", "t1")]),
            &["Bearer t".into()],
            &arn,
        );
        assert_eq!(event["type"], json!("REQUEST"));
        assert_eq!(event["version"], json!("2.0"));
        assert_eq!(event["routeArn"], json!(arn));
        assert_eq!(event["identitySource"], json!(["Bearer t"]));
        assert_eq!(event["pathParameters"], json!({"id": "t1"}));
        assert_eq!(event["headers"], json!({"authorization": "Bearer t"}));
        assert_eq!(
            event["requestContext"]["http"]["sourceIp"],
            json!("127.0.0.1")
        );
        assert!(event.get("body").is_none());
    }

    #[test]
    fn textual_content_types() {
        for text in [
            "text/plain",
            "application/json; charset=utf-8",
            "application/problem+json",
            "image/svg+xml",
        ] {
            assert!(is_text(text), "{text}");
        }
        for binary in [
            "",
            "application/octet-stream",
            "application/x-www-form-urlencoded",
            "image/png",
        ] {
            assert!(!is_text(binary), "{binary}");
        }
    }
}
