//! The ids API Gateway gives a request: HTTP APIs' short base64 request ids
//! (`apigw-requestid`, e.g. `JKJaXmPLvHcESHA=`), REST APIs' UUIDs (`x-amzn-RequestId`), and the
//! X-Ray trace header it adds (`Root=1-<epoch seconds hex>-<24 hex digits>`).

use base64::Engine;
use uuid::Uuid;

/// A fresh HTTP API request id: 11 bytes, base64 (16 characters).
pub fn http_request_id() -> String {
    let uuid = Uuid::now_v7();
    base64::engine::general_purpose::STANDARD.encode(&uuid.as_bytes()[5..])
}

/// A fresh REST API request id (a UUID).
pub fn rest_request_id() -> String {
    Uuid::now_v7().to_string()
}

/// A fresh `x-amzn-trace-id` value.
pub fn trace_id() -> String {
    let seconds = chrono::Utc::now().timestamp();
    let random: String = Uuid::now_v7().as_bytes()[4..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("Root=1-{seconds:08x}-{random}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_api_gateways_shapes() {
        let id = http_request_id();
        assert_eq!((id.len(), id.ends_with('=')), (16, true));
        assert_ne!(http_request_id(), http_request_id());
        assert_eq!(rest_request_id().len(), 36);
        let trace = trace_id();
        assert!(
            trace.starts_with("Root=1-") && trace.len() == 7 + 8 + 1 + 24,
            "{trace}"
        );
    }
}
