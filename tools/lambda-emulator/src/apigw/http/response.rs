//! What an HTTP API answers for a Lambda proxy integration (payload format 2.0).
//!
//! Reproduced ("Lambda function response for format 2.0" in the developer guide): a JSON
//! object with `statusCode` gives that status, `headers` (values joined when a name also has
//! `multiValueHeaders`), one `Set-Cookie` per entry of `cookies`, and `body` (base64-decoded
//! when `isBase64Encoded`); any other valid JSON (an object without `statusCode`, a string, a
//! number ...) is answered 200 `application/json` with that JSON as the body. A payload that
//! is not JSON, or a `statusCode` object with fields of the wrong type, is a malformed
//! response: 500 `{"message":"Internal Server Error"}`, as are a function error, a function
//! timeout, a runtime failure and a throttled invocation (HTTP APIs answer 500 for Lambda
//! throttling; see the re:Post article "API Gateway internal server error").

use base64::Engine;
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::apigw::gateway::{self, Answer};
use crate::invoke::FunctionError;

/// 500 `{"message":"Internal Server Error"}`.
pub fn internal_error() -> Answer {
    gateway::message(500, "Internal Server Error")
}

/// The answer for an integration's result.
pub fn integration_answer(result: &Result<Vec<u8>, FunctionError>) -> Answer {
    let Ok(payload) = result else {
        return internal_error();
    };
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        return internal_error();
    };
    match &value {
        Value::Object(object) if object.contains_key("statusCode") => {
            proxy_response(&value).unwrap_or_else(|_| internal_error())
        }
        _ => gateway::json(200, &value, &[]),
    }
}

#[derive(Debug)]
struct Malformed;

fn proxy_response(value: &Value) -> Result<Answer, Malformed> {
    let status = value["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .ok_or(Malformed)?;
    let status = StatusCode::from_u16(status).map_err(|_| Malformed)?;
    let mut response = Response::builder().status(status);
    let headers = response.headers_mut().ok_or(Malformed)?;
    if let Some(multi) = optional_object(value, "multiValueHeaders")? {
        for (name, values) in multi {
            let values = values.as_array().ok_or(Malformed)?;
            let joined = values
                .iter()
                .map(scalar)
                .collect::<Result<Vec<_>, _>>()?
                .join(",");
            headers.insert(header_name(name)?, header_value(&joined)?);
        }
    }
    if let Some(single) = optional_object(value, "headers")? {
        for (name, v) in single {
            headers.insert(header_name(name)?, header_value(&scalar(v)?)?);
        }
    }
    if let Some(cookies) = value.get("cookies").filter(|c| !c.is_null()) {
        for cookie in cookies.as_array().ok_or(Malformed)? {
            let cookie = cookie.as_str().ok_or(Malformed)?;
            headers.append(hyper::header::SET_COOKIE, header_value(cookie)?);
        }
    }
    let body = match value.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if value["isBase64Encoded"] == Value::Bool(true) => {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| Malformed)?
        }
        Some(Value::String(text)) => text.as_bytes().to_vec(),
        Some(_) => return Err(Malformed),
    };
    response
        .body(Bytes::from(body).into())
        .map_err(|_| Malformed)
}

fn optional_object<'a>(
    value: &'a Value,
    field: &str,
) -> Result<Option<&'a serde_json::Map<String, Value>>, Malformed> {
    match value.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(Malformed),
    }
}

/// Header values may be strings, numbers or booleans.
fn scalar(value: &Value) -> Result<String, Malformed> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(Malformed),
    }
}

fn header_name(name: &str) -> Result<HeaderName, Malformed> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| Malformed)
}

fn header_value(value: &str) -> Result<HeaderValue, Malformed> {
    HeaderValue::from_str(value).map_err(|_| Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use serde_json::json;

    fn answer(payload: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let response = integration_answer(&Ok(payload.to_vec()));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let body = futures_body(response.into_body());
        (status, headers, body)
    }

    fn futures_body(body: http_body_util::Full<Bytes>) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            body.collect()
                .await
                .map(|c| c.to_bytes().to_vec())
                .unwrap_or_default()
        })
    }

    fn server_error() -> (u16, Vec<(String, String)>, Vec<u8>) {
        (
            500,
            vec![("content-type".into(), "application/json".into())],
            br#"{"message":"Internal Server Error"}"#.to_vec(),
        )
    }

    #[test]
    fn a_status_code_object_sets_status_headers_cookies_and_body() {
        let payload = json!({
            "statusCode": 201,
            "headers": {"content-type": "application/json", "x-n": 1},
            "multiValueHeaders": {"x-m": ["a", "b"]},
            "cookies": ["a=1; Secure", "b=2"],
            "body": "{\"id\":\"t\"}"
        });
        let (status, headers, body) = answer(payload.to_string().as_bytes());
        assert_eq!(status, 201);
        let has = |n: &str, v: &str| headers.contains(&(n.to_string(), v.to_string()));
        assert!(has("content-type", "application/json") && has("x-n", "1") && has("x-m", "a,b"));
        assert!(has("set-cookie", "a=1; Secure") && has("set-cookie", "b=2"));
        assert_eq!(body, br#"{"id":"t"}"#);
    }

    #[test]
    fn base64_bodies_are_decoded() {
        let payload = json!({"statusCode": 200, "body": "aGk=", "isBase64Encoded": true});
        assert_eq!(answer(payload.to_string().as_bytes()).2, b"hi");
    }

    #[test]
    fn other_json_is_a_200_json_body() {
        let (status, headers, body) = answer(br#"{"id": "t"}"#);
        assert_eq!(status, 200);
        assert_eq!(
            headers,
            [("content-type".to_string(), "application/json".to_string())]
        );
        assert_eq!(body, br#"{"id":"t"}"#);
        assert_eq!(answer(br#""text""#).2, br#""text""#);
    }

    #[test]
    fn malformed_answers_and_function_failures_are_500() {
        for bad in [
            &b"not json"[..],
            br#"{"statusCode": "200"}"#,
            br#"{"statusCode": 200, "body": {}}"#,
            br#"{"statusCode": 200, "headers": []}"#,
            br#"{"statusCode": 99999}"#,
        ] {
            assert_eq!(
                answer(bad),
                server_error(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        for error in [
            FunctionError::Throttled,
            FunctionError::Runtime("exit".into()),
            FunctionError::Handled {
                error_type: "E".into(),
                message: "m".into(),
            },
        ] {
            assert_eq!(integration_answer(&Err(error)).status().as_u16(), 500);
        }
    }
}
