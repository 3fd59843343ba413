//! API Gateway's own answers (its "gateway responses"): a status and a small JSON body, the
//! same bytes API Gateway sends.

use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::Value;

/// What every stand-in answers with.
pub type Answer = Response<http_body_util::Full<Bytes>>;

/// A JSON answer with `status` and `body`, plus `headers`.
pub fn json(status: u16, body: &Value, headers: &[(&str, &str)]) -> Answer {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    builder
        .body(Bytes::from(bytes).into())
        .unwrap_or_else(|_| Response::new(Bytes::new().into()))
}

/// `{"message": <message>}` with `status`.
pub fn message(status: u16, message: &str) -> Answer {
    json(status, &serde_json::json!({ "message": message }), &[])
}

/// Adds header `name: value` to `answer` (values that are not valid header text are dropped).
pub fn with_header(mut answer: Answer, name: &'static str, value: &str) -> Answer {
    if let Ok(value) = hyper::header::HeaderValue::from_str(value) {
        answer.headers_mut().insert(name, value);
    }
    answer
}
