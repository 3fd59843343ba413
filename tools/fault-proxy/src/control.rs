//! The binary's control endpoint, for trying faults by hand beside `./scripts/dev`:
//!
//! | request | effect |
//! | --- | --- |
//! | `PUT /rules` with a JSON list of [`RuleSpec`] | replaces the rules (204) |
//! | `DELETE /rules` | removes every rule (204) |
//! | `GET /stats` | the [`crate::Stats`] as JSON |
//!
//! A rule in JSON: `{"fault": "hang" | "reset" | "truncate" | "throttle" | "server_error" |
//! "service_unavailable" | {"latency_ms": 50} | {"status": {"status": 400, "body": "…"}},
//! "share": 0.5, "target": "GetItem", "seconds": 10, "limit": 3, "after_forward": true}`;
//! only `fault` is required.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::proxy::FaultProxy;
use crate::rules::{Fault, Rule};

/// The largest rules document accepted.
const MAX_RULES_BYTES: usize = 64 * 1024;

/// One rule as `PUT /rules` takes it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The fault.
    pub fault: FaultSpec,
    /// The fraction of matching requests (default 1).
    #[serde(default = "all")]
    pub share: f64,
    /// The `X-Amz-Target` operation, for example `"GetItem"` (default: every request).
    #[serde(default)]
    pub target: Option<String>,
    /// How long from now the rule applies (default: until replaced).
    #[serde(default)]
    pub seconds: Option<f64>,
    /// How many times at most (default: no limit).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Forward first, then give the fault instead of the answer (default false).
    #[serde(default)]
    pub after_forward: bool,
}

fn all() -> f64 {
    1.0
}

/// A [`Fault`] in JSON.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultSpec {
    Hang,
    Reset,
    Truncate,
    Throttle,
    ServerError,
    ServiceUnavailable,
    LatencyMs(u64),
    Status { status: u16, body: String },
}

impl RuleSpec {
    /// The rule, its window counted from `now`.
    pub fn into_rule(self, now: Instant) -> Rule {
        let fault = match self.fault {
            FaultSpec::Hang => Fault::Hang,
            FaultSpec::Reset => Fault::Reset,
            FaultSpec::Truncate => Fault::Truncate,
            FaultSpec::Throttle => Fault::Throttle,
            FaultSpec::ServerError => Fault::ServerError,
            FaultSpec::ServiceUnavailable => Fault::ServiceUnavailable,
            FaultSpec::LatencyMs(ms) => Fault::Latency(Duration::from_millis(ms)),
            FaultSpec::Status { status, body } => Fault::Status { status, body },
        };
        let fault = if self.after_forward {
            fault.after_forward()
        } else {
            fault
        };
        let until = self
            .seconds
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .map(|window| now + window);
        Rule {
            fault,
            share: self.share,
            target: self.target,
            until,
            limit: self.limit,
        }
    }
}

/// Parses a `PUT /rules` document into rules whose windows start `now`.
pub fn parse_rules(json: &[u8], now: Instant) -> Result<Vec<Rule>, serde_json::Error> {
    let specs: Vec<RuleSpec> = serde_json::from_slice(json)?;
    Ok(specs.into_iter().map(|s| s.into_rule(now)).collect())
}

/// Serves the control endpoint on `listener` for `proxy` until the future is dropped.
pub async fn serve_control(listener: TcpListener, proxy: Arc<FaultProxy>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let proxy = proxy.clone();
                async move { Ok::<_, Infallible>(control(&proxy, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn control(proxy: &FaultProxy, req: Request<Incoming>) -> Response<Full<Bytes>> {
    match (req.method().clone(), req.uri().path()) {
        (Method::PUT, "/rules") => {
            let body = match Limited::new(req.into_body(), MAX_RULES_BYTES)
                .collect()
                .await
            {
                Ok(body) => body.to_bytes(),
                Err(e) => return answer(StatusCode::BAD_REQUEST, error(&e.to_string())),
            };
            match parse_rules(&body, Instant::now()) {
                Ok(rules) => {
                    proxy.set(rules);
                    answer(StatusCode::NO_CONTENT, String::new())
                }
                Err(e) => answer(StatusCode::BAD_REQUEST, error(&e.to_string())),
            }
        }
        (Method::DELETE, "/rules") => {
            proxy.clear();
            answer(StatusCode::NO_CONTENT, String::new())
        }
        (Method::GET, "/stats") => match serde_json::to_string(&proxy.stats()) {
            Ok(json) => answer(StatusCode::OK, json),
            Err(e) => answer(StatusCode::INTERNAL_SERVER_ERROR, error(&e.to_string())),
        },
        _ => answer(
            StatusCode::NOT_FOUND,
            error("PUT /rules, DELETE /rules or GET /stats"),
        ),
    }
}

fn error(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

fn answer(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut answer = Response::new(Full::new(Bytes::from(body)));
    *answer.status_mut() = status;
    if status != StatusCode::NO_CONTENT {
        answer.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rules_document_reads_as_the_rules_it_names() {
        let now = Instant::now();
        let json = br#"[
            {"fault": "hang", "share": 0.5, "target": "GetItem", "seconds": 10},
            {"fault": {"latency_ms": 50}, "limit": 3},
            {"fault": "reset", "after_forward": true},
            {"fault": {"status": {"status": 400, "body": "{}"}}}
        ]"#;
        let rules = parse_rules(json, now).unwrap();
        assert_eq!(
            rules,
            [
                Rule::new(Fault::Hang)
                    .share(0.5)
                    .target("GetItem")
                    .until(now + Duration::from_secs(10)),
                Rule::new(Fault::Latency(Duration::from_millis(50))).limit(3),
                Rule::new(Fault::Reset.after_forward()),
                Rule::new(Fault::Status {
                    status: 400,
                    body: "{}".into()
                }),
            ]
        );
    }

    #[test]
    fn an_unknown_fault_or_field_is_refused() {
        assert!(parse_rules(br#"[{"fault": "explode"}]"#, Instant::now()).is_err());
        assert!(parse_rules(br#"[{"fault": "hang", "shares": 1}]"#, Instant::now()).is_err());
    }
}
