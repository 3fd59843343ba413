//! Log setup for every binary: Lambda's advanced logging controls, without a regex engine.
//!
//! `lambda_runtime`'s own `init_default_subscriber` does the same with `EnvFilter`, which
//! links `regex-automata` into every function for directives nobody here uses. The filter
//! below is `tracing_subscriber`'s `Targets`: a level, or `target=level` pairs.
//!
//! **No level writes a secret.** Some dependencies log whole payloads when asked for enough
//! detail: at `TRACE`, `lambda_runtime` logs every raw event, `Authorization` header included,
//! and `aws_smithy_runtime` every DynamoDB request and response, `secret_hash` included. Two
//! guards, so `AWS_LAMBDA_LOG_LEVEL=TRACE` is safe to turn on in production:
//! - [`PAYLOAD_CAPS`]: those crates never log past the most detailed level at which they write
//!   no payload, whatever `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` say (also `target=trace`
//!   directives that name them or their modules);
//! - the writer: every line passes through [`redact`] before it is written, which blanks
//!   anything shaped like a token secret or a stored secret hash, whoever logged it.
//!
//! | file | holds |
//! | --- | --- |
//! | `mod.rs` | [`init`] and [`subscriber`]: the JSON or text format Lambda asks for |
//! | `caps.rs` | [`filter`]: the levels configured, with [`PAYLOAD_CAPS`] over them |
//! | `redact.rs` | [`redact`] and the [`Redacting`] writer |
//! | `lambda_invocation.rs` | a test: a whole Lambda invocation at `TRACE`, in a child process |

mod caps;
// Tests only: the child-process test of a whole Lambda invocation.
mod lambda_invocation;
mod redact;

pub use caps::{filter, DEFAULT_LEVEL, PAYLOAD_CAPS};
pub use redact::{redact, Redacting, RedactingWriter, REDACTED, REDACTED_RUN};

use std::io;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

/// The subscriber every binary installs ([`init`]), writing to `writer`: the filter of
/// [`filter`] for these values, JSON lines when `json` and text otherwise, no timestamps
/// (Lambda adds them), no targets, every line through [`redact`].
pub fn subscriber<W>(
    aws_lambda_log_level: Option<&str>,
    rust_log: Option<&str>,
    json: bool,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // A function, not a closure: each format's layer has its own subscriber type.
    fn fmt<S>() -> tracing_subscriber::fmt::Layer<S> {
        tracing_subscriber::fmt::layer()
    }
    // Both as options, so either format is the same subscriber type.
    let (json_layer, text_layer) = if json {
        let layer = fmt().with_target(false).without_time().json();
        (Some(layer.with_writer(Redacting(writer))), None)
    } else {
        let layer = fmt().with_target(false).without_time();
        (None, Some(layer.with_writer(Redacting(writer))))
    };
    tracing_subscriber::registry()
        .with(filter(aws_lambda_log_level, rust_log))
        .with(json_layer)
        .with(text_layer)
}

/// Installs the process's subscriber on stdout ([`subscriber`]): the filter from
/// `AWS_LAMBDA_LOG_LEVEL` and `RUST_LOG`, JSON lines when `AWS_LAMBDA_LOG_FORMAT` is `JSON`
/// (the template sets it). Does nothing when a subscriber is already installed.
pub fn init() {
    let var = |name| std::env::var(name).ok();
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let _ = tracing::subscriber::set_global_default(subscriber(
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        var("RUST_LOG").as_deref(),
        json,
        io::stdout,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A secret and its stored hash, as the service mints them.
    pub(super) fn mint() -> (String, String) {
        let secret = crate::support::secret::generate(
            "tkn",
            uuid::Uuid::now_v7(),
            &ring::rand::SystemRandom::new(),
        );
        let hash = crate::support::secret::SecretHasher::new(&[7u8; 32]).hash(&secret);
        (secret.expose().to_string(), hash)
    }

    /// A writer into a shared buffer, for the subscriber under test.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// What the dependencies emit at their most detailed (their own macros and messages, with
    /// their targets), and a careless line of our own.
    fn emit_what_the_runtime_and_sdk_emit(secret: &str, hash: &str) {
        let event = format!(r#"{{"headers":{{"authorization":"Bearer {secret}"}}}}"#);
        let item = format!(r#"{{"Item":{{"secret_hash":{{"S":"{hash}"}}}}}}"#);
        tracing::trace!(target: "lambda_runtime::layers::api_response", body = event.as_str(), "raw JSON event received from Lambda");
        tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", response = ?item, "received response from service");
        tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", err = ?item, "encountered orchestrator error; continuing");
        tracing::trace!(target: "aws_sigv4::http_request::sign", request = ?item, "signing request");
        tracing::trace!(authorization = %format!("Bearer {secret}"), stored = %hash, "careless");
        tracing::trace!(target: "h2::codec", "a detail with no payload");
    }

    #[test]
    fn the_subscriber_at_trace_writes_neither_secret_nor_hash() {
        let (secret, hash) = mint();
        for json in [true, false] {
            let captured = Captured::default();
            let writer = captured.clone();
            let subscriber = subscriber(Some("TRACE"), None, json, move || writer.clone());
            tracing::subscriber::with_default(subscriber, || {
                emit_what_the_runtime_and_sdk_emit(&secret, &hash);
            });
            let out = captured.text();
            assert!(!out.contains(&secret) && !out.contains(&hash), "{out}");
            // The caps dropped the payload lines; the writer blanked the careless one.
            assert!(!out.contains("raw JSON event"), "{out}");
            assert!(!out.contains("received response from service"), "{out}");
            assert!(!out.contains("orchestrator error"), "{out}");
            assert!(!out.contains("signing request"), "{out}");
            assert!(out.contains("careless") && out.contains(REDACTED), "{out}");
            assert!(out.contains("a detail with no payload"), "{out}");
            assert_eq!(out.lines().count(), 2, "{out}");
            let trace = if json { r#""level":"TRACE""# } else { "TRACE" };
            assert_eq!(out.matches(trace).count(), 2, "{out}");
        }
    }
}
