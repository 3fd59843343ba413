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

use std::time::Instant;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::config::ConfigError;
use crate::service::{LeakOutcome, TokenService};
use crate::store::{RevokeOutcome, StoreError, TokenStore};

/// Environment variable: the comma-separated EventBridge `source`s whose revocation events
/// are accepted (the template sets it from `RevocationEventSources`). Required.
pub const SOURCES_VAR: &str = "REVOCATION_EVENT_SOURCES";
/// Environment variable: the URL of the queue an incomplete `RevokeUserTokens` continues
/// on (the template sets it to the revocation queue). Without it, an incomplete job is
/// reported failed and continues on redelivery.
pub const QUEUE_URL_VAR: &str = "REVOCATION_QUEUE_URL";
/// The log message of a refused event (a `source` not in the list).
pub const REFUSED: &str = "revocation event refused: source not allowed";
/// The metric counting refused events (namespace `metrics::NAMESPACE`).
pub const REFUSED_METRIC: &str = "RevocationEventsRefused";
/// Refused events.
pub static REFUSED_EVENTS: crate::support::metrics::Counter =
    crate::support::metrics::Counter::new(REFUSED_METRIC);
/// The SQS message attribute numbering the passes of a continued `RevokeUserTokens`
/// (absent on the first).
pub const PASS_ATTRIBUTE: &str = "revocation_pass";
/// Passes after which a job is no longer handed on but reported failed (redelivered, then
/// dead-lettered): a guard against a job that never ends (each pass revokes at least a
/// page, 500 tokens, so a real job never gets near it).
pub const MAX_PASSES: u32 = 10_000;

/// Events refused for their `source` since the process started.
pub fn refused_events() -> u64 {
    REFUSED_EVENTS.get()
}

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

/// The queue an incomplete `RevokeUserTokens` hands its continuation to.
#[derive(Debug, Clone)]
pub struct Continuation {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl Continuation {
    /// The queue at `queue_url`, reached with `sdk`.
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_sqs::Client::new(sdk),
            queue_url: queue_url.into(),
        }
    }

    /// Sends `body` again, as pass `pass` (one `SendMessage`).
    async fn send(&self, body: &str, pass: u32) -> Result<(), String> {
        let attribute = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("Number")
            .string_value(pass.to_string())
            .build()
            .map_err(|e| e.to_string())?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes(PASS_ATTRIBUTE, attribute)
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
        Ok(())
    }
}

/// `detail-type` of a request to revoke one token.
pub const REVOKE_TOKEN: &str = "RevokeToken";
/// `detail-type` of a request to revoke every active token of a user.
pub const REVOKE_USER_TOKENS: &str = "RevokeUserTokens";
/// `detail-type` of a request to revoke the token whose secret leaked.
pub const REVOKE_LEAKED_SECRET: &str = "RevokeLeakedSecret";

/// Longest `reason` and `actor`.
const MAX_TEXT: usize = 512;

/// A revocation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// One token of a tenant.
    Token {
        /// Tenant.
        tenant_id: String,
        /// Token id.
        token_id: Uuid,
    },
    /// Every active token of a user.
    User {
        /// Tenant.
        tenant_id: String,
        /// User.
        user_id: String,
    },
    /// The token with this (leaked) secret.
    LeakedSecret {
        /// The secret as found.
        secret: String,
    },
}

/// A request with its audit fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoke {
    /// What to revoke.
    pub request: Request,
    /// Reason recorded on the revoked tokens.
    pub reason: Option<String>,
    /// Who asks (recorded as `revoked_by`); defaults to the transport's source.
    pub actor: Option<String>,
}

/// Why a message is not a revocation request. Logged; never retried into success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Not JSON.
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    /// Not a JSON object.
    #[error("the body is not a JSON object")]
    NotObject,
    /// An EventBridge `detail-type` this service does not handle.
    #[error("unknown detail-type {0:?}; use RevokeToken, RevokeUserTokens or RevokeLeakedSecret")]
    UnknownDetailType(String),
    /// The fields match no request, or the detail-type's request.
    #[error("{0}")]
    Fields(String),
    /// A leaked secret that is not a token of this service (bad format or checksum).
    #[error("the secret is not a token of this service (format or checksum)")]
    NotAToken,
}

/// Reads a request from an EventBridge event or an SQS message body (either a bare body or
/// a whole EventBridge event).
pub fn parse(body: &Value) -> Result<Revoke, Malformed> {
    let obj = body.as_object().ok_or(Malformed::NotObject)?;
    match (obj.get("detail-type"), obj.get("detail")) {
        (Some(kind), Some(detail)) => {
            let kind = kind.as_str().unwrap_or_default();
            let detail = detail.as_object().ok_or(Malformed::NotObject)?;
            let revoke = fields(detail)?;
            let expected = match revoke.request {
                Request::Token { .. } => REVOKE_TOKEN,
                Request::User { .. } => REVOKE_USER_TOKENS,
                Request::LeakedSecret { .. } => REVOKE_LEAKED_SECRET,
            };
            if ![REVOKE_TOKEN, REVOKE_USER_TOKENS, REVOKE_LEAKED_SECRET].contains(&kind) {
                return Err(Malformed::UnknownDetailType(kind.to_string()));
            }
            if kind != expected {
                return Err(Malformed::Fields(format!(
                    "a {kind} detail has the fields of {expected}"
                )));
            }
            Ok(revoke)
        }
        _ => fields(obj),
    }
}

fn fields(obj: &Map<String, Value>) -> Result<Revoke, Malformed> {
    let known = [
        "tenant_id",
        "token_id",
        "user_id",
        "secret",
        "reason",
        "actor",
    ];
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(Malformed::Fields(format!("unknown field {k:?}")));
    }
    let text = |k: &str, max: usize| -> Result<Option<String>, Malformed> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s))
                if (1..=max).contains(&s.chars().count()) && !s.chars().any(char::is_control) =>
            {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(Malformed::Fields(format!(
                "{k} must be a string of 1..={max} characters"
            ))),
        }
    };
    let id = |k: &str| -> Result<Option<String>, Malformed> {
        match text(k, 128)? {
            Some(v) if !crate::domain::limits::valid_id(&v) => Err(Malformed::Fields(format!(
                "{k} must be 1..=128 of [A-Za-z0-9._@:+-]"
            ))),
            v => Ok(v),
        }
    };
    let tenant_id = id("tenant_id")?;
    let user_id = id("user_id")?;
    let token_id = text("token_id", 64)?;
    let secret = text("secret", 128)?;
    let request = match (tenant_id, token_id, user_id, secret) {
        (Some(tenant_id), Some(token), None, None) => Request::Token {
            tenant_id,
            token_id: Uuid::parse_str(&token)
                .map_err(|_| Malformed::Fields("token_id is not a token id".into()))?,
        },
        (Some(tenant_id), None, Some(user_id), None) => Request::User { tenant_id, user_id },
        (None, None, None, Some(secret)) => Request::LeakedSecret { secret },
        _ => {
            return Err(Malformed::Fields(
                "give {tenant_id, token_id}, {tenant_id, user_id} or {secret}".into(),
            ))
        }
    };
    Ok(Revoke {
        request,
        reason: text("reason", MAX_TEXT)?,
        actor: text("actor", MAX_TEXT)?,
    })
}

/// What a request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// This many tokens were revoked now.
    Revoked(usize),
    /// Nothing to do: already revoked, or no such token (a replay, or a purged token).
    Nothing,
    /// Part of a user's tokens were revoked before the deadline; the rest is to be done by
    /// a continuation (the handler sends it, see [`handle`]).
    Incomplete(usize),
    /// This many tokens were revoked before the deadline, and the rest was handed on to a
    /// new message on the revocation queue.
    Continued(usize),
    /// An EventBridge event from a `source` not in the list: nothing done (logged, counted).
    Refused,
}

/// Why a request could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum Failed {
    /// Not a request; retrying will not help.
    #[error(transparent)]
    Malformed(#[from] Malformed),
    /// DynamoDB failed; retrying may.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The deadline came first and no continuation could be handed on (no queue, or
    /// [`MAX_PASSES`] reached); delivering the request again continues it.
    #[error("stopped at the deadline after revoking {0} tokens; deliver again to continue")]
    Incomplete(usize),
    /// The deadline came first and sending the continuation failed; delivering the request
    /// again continues it.
    #[error("stopped at the deadline after revoking {revoked} tokens; handing on the rest failed: {error}")]
    Continuation {
        /// Tokens revoked before the deadline.
        revoked: usize,
        /// Why `SendMessage` failed.
        error: String,
    },
}

/// Carries out one request through the service's one revocation path. `via` (where the
/// request came from) is recorded as `revoked_via` beside the actor. A user's revocation
/// cut short by `deadline` is [`Done::Incomplete`]: the caller continues it.
pub async fn apply<S: TokenStore>(
    service: &TokenService<S>,
    revoke: &Revoke,
    default_actor: &str,
    via: Option<&str>,
    deadline: Option<Instant>,
) -> Result<Done, Failed> {
    let actor = revoke.actor.as_deref().unwrap_or(default_actor);
    let reason = revoke.reason.as_deref();
    let single = |outcome: RevokeOutcome<()>| match outcome {
        RevokeOutcome::Revoked(_) => Done::Revoked(1),
        RevokeOutcome::Unchanged(_) => Done::Nothing,
    };
    match &revoke.request {
        Request::Token {
            tenant_id,
            token_id,
        } => {
            let outcome = service
                .revoke_in(tenant_id, None, *token_id, actor, via, reason)
                .await?;
            if matches!(&outcome, RevokeOutcome::Unchanged(t) if t.as_ref().is_none_or(|t| &t.tenant_id != tenant_id))
            {
                tracing::warn!(tenant = %tenant_id, token_id = %token_id, "revocation event for a token that does not exist in its tenant");
            }
            Ok(single(outcome))
        }
        Request::User { tenant_id, user_id } => {
            let bulk =
                Box::pin(service.revoke_user(tenant_id, user_id, actor, via, reason, deadline))
                    .await?;
            match (bulk.complete, bulk.revoked) {
                (false, n) => Ok(Done::Incomplete(n)),
                (true, 0) => Ok(Done::Nothing),
                (true, n) => Ok(Done::Revoked(n)),
            }
        }
        Request::LeakedSecret { secret } => {
            match service.revoke_leaked(secret, actor, via, reason).await? {
                LeakOutcome::Malformed => Err(Malformed::NotAToken.into()),
                LeakOutcome::Unknown => {
                    tracing::warn!("leaked-secret event for a secret that matches no token");
                    Ok(Done::Nothing)
                }
                LeakOutcome::Revoked => Ok(Done::Revoked(1)),
                LeakOutcome::AlreadyRevoked => Ok(Done::Nothing),
            }
        }
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

/// The `source` and `account` of a body that is a whole EventBridge event (the same test
/// [`parse`] makes); `None` for a bare request.
fn envelope(body: &Value) -> Option<(&str, &str)> {
    let obj = body.as_object()?;
    (obj.contains_key("detail-type") && obj.contains_key("detail")).then(|| {
        let field = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
        (field("source"), field("account"))
    })
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
    let via = match envelope(body) {
        Some((source, account)) if !options.allows(source) => {
            REFUSED_EVENTS.add_one();
            let kind = body.get("detail-type").and_then(Value::as_str);
            tracing::warn!(id = %delivery.id, source = %source, account = %account, detail_type = kind.unwrap_or_default(), "{REFUSED}");
            return Ok(Done::Refused);
        }
        Some((source, account)) => format!("event:{source}@{account}"),
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
    if delivery.pass >= MAX_PASSES {
        tracing::error!(id = %delivery.id, pass = delivery.pass, "a revocation job is still not done after {MAX_PASSES} passes; not handed on again");
        return Err(Failed::Incomplete(revoked));
    }
    let next = delivery.pass + 1;
    queue
        .send(text, next)
        .await
        .map_err(|error| Failed::Continuation { revoked, error })?;
    tracing::info!(id = %delivery.id, revoked, pass = next, "revocation job continues in a new message");
    Ok(Done::Continued(revoked))
}

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
        let pass = record
            .pointer(&format!("/messageAttributes/{PASS_ATTRIBUTE}/stringValue"))
            .and_then(Value::as_str)
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(1);
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
    fn bodies_are_recognised_by_their_fields() {
        let id = Uuid::now_v7();
        let r = parse(&json!({"tenant_id": "acme", "token_id": id.to_string(), "reason": "r"}))
            .unwrap();
        assert_eq!(
            r.request,
            Request::Token {
                tenant_id: "acme".into(),
                token_id: id
            }
        );
        assert_eq!(r.reason.as_deref(), Some("r"));
        let r = parse(&json!({"tenant_id": "acme", "user_id": "bob", "actor": "okta"})).unwrap();
        assert_eq!(
            r.request,
            Request::User {
                tenant_id: "acme".into(),
                user_id: "bob".into()
            }
        );
        assert_eq!(r.actor.as_deref(), Some("okta"));
        let r = parse(&json!({"secret": "tkn_x"})).unwrap();
        assert_eq!(
            r.request,
            Request::LeakedSecret {
                secret: "tkn_x".into()
            }
        );
    }

    #[test]
    fn an_eventbridge_envelope_must_name_the_request_its_detail_holds() {
        let detail = json!({"tenant_id": "acme", "user_id": "bob"});
        let event = |kind: &str| json!({"detail-type": kind, "source": "idp", "detail": detail});
        assert!(parse(&event("RevokeUserTokens")).is_ok());
        assert!(matches!(
            parse(&event("RevokeToken")),
            Err(Malformed::Fields(_))
        ));
        assert!(matches!(
            parse(&event("DeleteEverything")),
            Err(Malformed::UnknownDetailType(_))
        ));
    }

    #[test]
    fn only_an_eventbridge_envelope_has_a_source_to_check() {
        let detail = json!({"tenant_id": "acme", "user_id": "bob"});
        assert_eq!(
            envelope(&json!({"detail-type": "RevokeUserTokens", "source": "idp",
                "account": "123456789012", "detail": detail})),
            Some(("idp", "123456789012"))
        );
        // An envelope without a source has the empty one, which no list holds.
        assert_eq!(
            envelope(&json!({"detail-type": "RevokeUserTokens", "detail": detail})),
            Some(("", ""))
        );
        assert_eq!(envelope(&detail), None);
    }

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

    #[test]
    fn every_malformed_body_says_why() {
        for (body, why) in [
            (json!([1]), "not a JSON object"),
            (json!({}), "give {tenant_id, token_id}"),
            (json!({"tenant_id": "acme"}), "give {tenant_id, token_id}"),
            (
                json!({"tenant_id": "acme", "token_id": "x", "user_id": "bob"}),
                "give",
            ),
            (
                json!({"tenant_id": "acme", "token_id": "not-a-uuid"}),
                "not a token id",
            ),
            (
                json!({"tenant_id": "a#b", "user_id": "bob"}),
                "tenant_id must be",
            ),
            (
                json!({"tenant_id": "acme", "user_id": 7}),
                "user_id must be a string",
            ),
            (json!({"secret": "s", "tenant": "acme"}), "unknown field"),
            (
                json!({"secret": "s", "reason": "x".repeat(513)}),
                "reason must be",
            ),
        ] {
            let err = parse(&body).unwrap_err().to_string();
            assert!(err.contains(why), "{body}: {err}");
        }
    }
}
