//! Revocation requested by other AWS services: EventBridge events and SQS messages.
//!
//! Three requests, the same bodies on both transports (see `docs/revocation-events.md`):
//!
//! | EventBridge `detail-type` | body (`detail`, or the SQS message body) | revokes |
//! | --- | --- | --- |
//! | `RevokeToken` | `{tenant_id, token_id, reason?, actor?}` | one token |
//! | `RevokeUserTokens` | `{tenant_id, user_id, reason?, actor?}` | every active token of a user |
//! | `RevokeLeakedSecret` | `{secret, reason?, actor?}` | the token whose secret leaked |
//!
//! An SQS body may also be a whole EventBridge event (an EventBridge rule targeting the
//! queue delivers that). Every request is idempotent: a replay changes nothing and succeeds.
//! A malformed request is logged with its reason and reported as failed (SQS: in
//! `batchItemFailures`, so the queue's redrive policy moves it to the dead-letter queue;
//! EventBridge: as the invocation's error, so Lambda's retries and failure destination get
//! it). It never fails the other records of a batch.
//!
//! **Sources.** An EventBridge event (delivered directly, or as an SQS body) is accepted
//! only from the `source`s of [`Options`] (`REVOCATION_EVENT_SOURCES`, the same list the
//! template's rule matches): any other is logged, counted ([`REFUSED_METRIC`]) and dropped,
//! never revoked and never failed. The event's `source` and `account` are recorded on every
//! token it revokes as `revoked_via` (`event:<source>@<account>`), next to `revoked_by`, the
//! `actor` the request claims. A bare request on the queue is authorised by the queue's
//! IAM permissions alone; its `revoked_via` is `sqs:<queue>`.
//!
//! **Long jobs.** A `RevokeUserTokens` that reaches the invocation's deadline is not left to
//! SQS redelivery (which would count towards `maxReceiveCount` and the dead-letter queue):
//! its continuation is sent to the revocation queue as a new message (the same body, with
//! the pass number in the [`PASS_ATTRIBUTE`] message attribute) and the current message is
//! acknowledged. The receive count only counts real failures.
//!
//! | file | holds |
//! | --- | --- |
//! | `mod.rs` | [`handle`]: both transports, and [`Options`] (from the variables below) |
//! | `parse.rs` | [`parse`]: the requests, every field checked ([`Malformed`]) |
//! | `sources.rs` | the `source` allow-list's refusals ([`REFUSED_METRIC`]) and `revoked_via` |
//! | `apply.rs` | [`apply`]: a request through the service ([`Done`], [`Failed`]) |
//! | `continuation.rs` | the hand-on of long jobs ([`Continuation`], [`PASS_ATTRIBUTE`]) |
//! | `deadline.rs` | the invocation's deadline as an `Instant` ([`deadline()`]) |
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `REVOCATION_EVENT_SOURCES` ([`SOURCES_VAR`]) | comma list of the EventBridge `source`s allowed to revoke | required |
//! | `REVOCATION_QUEUE_URL` ([`QUEUE_URL_VAR`]) | the queue long jobs continue on | none: an incomplete job fails, and continues on redelivery |

mod apply;
mod continuation;
mod deadline;
mod parse;
mod sources;

pub use apply::{apply, Done, Failed};
pub use continuation::{Continuation, MAX_PASSES, PASS_ATTRIBUTE};
pub use deadline::deadline;
pub use parse::{
    parse, Malformed, Request, Revoke, REVOKE_LEAKED_SECRET, REVOKE_TOKEN, REVOKE_USER_TOKENS,
};
pub use sources::{refused_events, REFUSED, REFUSED_EVENTS, REFUSED_METRIC};

use std::time::Instant;

use serde_json::{json, Value};

use crate::config::ConfigError;
use crate::service::TokenService;
use crate::store::TokenStore;

/// Environment variable: the comma-separated EventBridge `source`s whose revocation events
/// are accepted (the template sets it from `RevocationEventSources`). Required.
pub const SOURCES_VAR: &str = "REVOCATION_EVENT_SOURCES";
/// Environment variable: the URL of the queue an incomplete `RevokeUserTokens` continues
/// on (the template sets it to the revocation queue). Without it, an incomplete job is
/// reported failed and continues on redelivery.
pub const QUEUE_URL_VAR: &str = "REVOCATION_QUEUE_URL";

/// How the handler is set up: the accepted sources, and where long jobs continue.
#[derive(Debug, Clone)]
pub struct Options {
    sources: Vec<String>,
    continuation: Option<Continuation>,
}

impl Options {
    /// Accepts events from `sources` only; no continuation queue.
    pub fn new<I: IntoIterator<Item = T>, T: Into<String>>(sources: I) -> Self {
        Self {
            sources: sources
                .into_iter()
                .map(Into::into)
                .map(|s: String| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            continuation: None,
        }
    }

    /// Hands incomplete jobs on to `queue`.
    pub fn with_continuation(mut self, queue: Continuation) -> Self {
        self.continuation = Some(queue);
        self
    }

    /// From the environment ([`SOURCES_VAR`], [`QUEUE_URL_VAR`]); the queue is reached
    /// with `sdk`.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        Self::from_lookup(sdk, |k| std::env::var(k).ok())
    }

    /// [`Options::from_env`] with the environment read through `get`.
    pub fn from_lookup(
        sdk: &aws_config::SdkConfig,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let sources = get(SOURCES_VAR).ok_or(ConfigError {
            var: SOURCES_VAR,
            problem: "is required: the EventBridge sources allowed to revoke".into(),
        })?;
        let options = Self::new(sources.split(','));
        if options.sources.is_empty() {
            tracing::warn!("{SOURCES_VAR} is empty: every revocation event will be refused");
        }
        Ok(match get(QUEUE_URL_VAR).filter(|u| !u.trim().is_empty()) {
            Some(url) => options.with_continuation(Continuation::new(sdk, url.trim())),
            None => options,
        })
    }

    /// The accepted sources.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    fn allows(&self, source: &str) -> bool {
        self.sources.iter().any(|s| s == source)
    }
}

/// Handles one Lambda invocation: an SQS batch (answered with `batchItemFailures`) or one
/// EventBridge event (an error makes Lambda retry it, then send it to the failure
/// destination).
pub async fn handle<S: TokenStore>(
    service: &TokenService<S>,
    options: &Options,
    event: Value,
    deadline: Option<Instant>,
) -> Result<Value, Failed> {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        // Boxed: one allocation keeps the future types shallow enough for rustc's layout
        // queries (see `TokenService::verify_cached`).
        return Ok(Box::pin(handle_sqs(service, options, records, deadline)).await);
    }
    let source = event
        .get("source")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let id = event.get("id").and_then(Value::as_str).unwrap_or_default();
    let delivery = Delivery {
        id,
        actor: format!("eventbridge:{source}"),
        bare_via: "lambda:invoke".into(),
        pass: 1,
    };
    let done = Box::pin(process(
        service,
        options,
        &event,
        &event.to_string(),
        &delivery,
        deadline,
    ))
    .await
    .inspect_err(|e| match e {
        Failed::Malformed(e) => {
            tracing::error!(event_id = %id, source = %source, reason = %e, "malformed revocation event")
        }
        e => tracing::warn!(event_id = %id, error = %e, "revocation event failed"),
    })?;
    Ok(json!({ "done": describe(done) }))
}

/// How one request arrived.
struct Delivery<'a> {
    /// The event or message id, for the logs.
    id: &'a str,
    /// The `revoked_by` of a request that names no `actor`.
    actor: String,
    /// The `revoked_via` of a body that is not an EventBridge event.
    bare_via: String,
    /// Which pass of a continued job this is (1: the first).
    pass: u32,
}

/// One request of either transport: the source check, the revocation, and the hand-on of
/// an incomplete job's continuation (`text` is the body as it is sent again).
async fn process<S: TokenStore>(
    service: &TokenService<S>,
    options: &Options,
    body: &Value,
    text: &str,
    delivery: &Delivery<'_>,
    deadline: Option<Instant>,
) -> Result<Done, Failed> {
    let via = match sources::envelope(body) {
        Some((source, account)) if !options.allows(source) => {
            sources::refuse(delivery.id, body, source, account);
            return Ok(Done::Refused);
        }
        Some((source, account)) => sources::event_via(source, account),
        None => delivery.bare_via.clone(),
    };
    let revoke = parse(body)?;
    let done = Box::pin(apply(
        service,
        &revoke,
        &delivery.actor,
        Some(&via),
        deadline,
    ))
    .await?;
    let Done::Incomplete(revoked) = done else {
        return Ok(done);
    };
    let Some(queue) = options.continuation.as_ref() else {
        return Err(Failed::Incomplete(revoked));
    };
    queue
        .hand_on(text, delivery.id, delivery.pass, revoked)
        .await
}

/// An SQS batch: each message on its own, the failed ones named in `batchItemFailures`.
async fn handle_sqs<S: TokenStore>(
    service: &TokenService<S>,
    options: &Options,
    records: &[Value],
    deadline: Option<Instant>,
) -> Value {
    let mut failures = Vec::new();
    for record in records {
        let message_id = record
            .get("messageId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let queue = record
            .get("eventSourceARN")
            .and_then(Value::as_str)
            .and_then(|arn| arn.rsplit(':').next())
            .unwrap_or("unknown");
        let pass = continuation::pass_of(record);
        let delivery = Delivery {
            id: message_id,
            actor: format!("sqs:{queue}"),
            bare_via: format!("sqs:{queue}"),
            pass,
        };
        let result = async {
            let text = record
                .get("body")
                .and_then(Value::as_str)
                .ok_or(Malformed::NotObject)?;
            let body: Value =
                serde_json::from_str(text).map_err(|e| Malformed::NotJson(e.to_string()))?;
            Box::pin(process(service, options, &body, text, &delivery, deadline)).await
        }
        .await;
        match result {
            Ok(done) => {
                tracing::info!(message_id = %message_id, done = %describe(done), "revocation message handled")
            }
            Err(Failed::Malformed(e)) => {
                tracing::error!(message_id = %message_id, reason = %e, "malformed revocation message");
                failures.push(message_id.to_string());
            }
            Err(e) => {
                tracing::warn!(message_id = %message_id, error = %e, "revocation message failed; it will be delivered again");
                failures.push(message_id.to_string());
            }
        }
    }
    json!({
        "batchItemFailures": failures
            .into_iter()
            .map(|id| json!({ "itemIdentifier": id }))
            .collect::<Vec<_>>()
    })
}

/// How a request's outcome reads in the logs and the answer.
fn describe(done: Done) -> String {
    match done {
        Done::Revoked(n) => format!("revoked {n}"),
        Done::Nothing => "nothing to do".into(),
        Done::Incomplete(n) => format!("revoked {n}, incomplete"),
        Done::Continued(n) => format!("revoked {n}, continued in a new message"),
        Done::Refused => "refused: source not allowed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_come_from_a_comma_separated_list() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let env = |sources: Option<&'static str>| {
            move |k: &str| match k {
                SOURCES_VAR => sources.map(str::to_string),
                _ => None,
            }
        };
        let o = Options::from_lookup(&sdk, env(Some("com.example.idp, com.example.security,")))
            .unwrap();
        assert_eq!(o.sources(), ["com.example.idp", "com.example.security"]);
        assert!(o.allows("com.example.idp"));
        assert!(!o.allows("com.example"));
        assert!(!o.allows(""));
        assert!(o.continuation.is_none());
        let missing = Options::from_lookup(&sdk, env(None)).unwrap_err();
        assert_eq!(missing.var, SOURCES_VAR);
    }
}
