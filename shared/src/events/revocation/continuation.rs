//! Long jobs: a `RevokeUserTokens` cut short by the invocation's deadline is handed on to
//! the revocation queue as a new message (the same body, its pass number in
//! [`PASS_ATTRIBUTE`]) and the current message is acknowledged, so SQS's receive count, and
//! with it the dead-letter queue, only counts real failures.

use serde_json::Value;

use crate::events::revocation::apply::{Done, Failed};

/// The SQS message attribute numbering the passes of a continued `RevokeUserTokens`
/// (absent on the first).
pub const PASS_ATTRIBUTE: &str = "revocation_pass";
/// Passes after which a job is no longer handed on but reported failed (redelivered, then
/// dead-lettered): a guard against a job that never ends (each pass revokes at least a
/// page, 500 tokens, so a real job never gets near it).
pub const MAX_PASSES: u32 = 10_000;

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

    /// Hands the rest of a job that revoked `revoked` tokens in pass `pass` on as the next
    /// pass; after [`MAX_PASSES`] it is reported failed instead.
    pub(super) async fn hand_on(
        &self,
        text: &str,
        id: &str,
        pass: u32,
        revoked: usize,
    ) -> Result<Done, Failed> {
        if pass >= MAX_PASSES {
            tracing::error!(id = %id, pass, "a revocation job is still not done after {MAX_PASSES} passes; not handed on again");
            return Err(Failed::Incomplete(revoked));
        }
        let next = pass + 1;
        self.send(text, next)
            .await
            .map_err(|error| Failed::Continuation { revoked, error })?;
        tracing::info!(id = %id, revoked, pass = next, "revocation job continues in a new message");
        Ok(Done::Continued(revoked))
    }
}

/// Which pass an SQS record is ([`PASS_ATTRIBUTE`]; 1 when absent or unreadable).
pub(super) fn pass_of(record: &Value) -> u32 {
    record
        .pointer(&format!("/messageAttributes/{PASS_ATTRIBUTE}/stringValue"))
        .and_then(Value::as_str)
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
}
