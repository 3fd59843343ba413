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

use std::borrow::Cow;
use std::io::{self, Write};
use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

/// What is logged when neither `AWS_LAMBDA_LOG_LEVEL` nor `RUST_LOG` is set.
pub const DEFAULT_LEVEL: LevelFilter = LevelFilter::INFO;

/// Targets (prefixes, as `Targets` matches them) that write payloads past some level, and the
/// most detailed level each may log at, whatever is configured. Read from these crates'
/// sources (the versions in `Cargo.lock`); review the list when one of them is upgraded.
pub const PAYLOAD_CAPS: &[(&str, LevelFilter)] = &[
    // TRACE: "raw JSON event received from Lambda", the whole event with its headers; and a
    // streamed response's headers. Also covers `lambda_runtime_api_client` (a prefix match).
    ("lambda_runtime", LevelFilter::DEBUG),
    // Turns those events into requests; logs nothing itself today.
    ("lambda_http", LevelFilter::DEBUG),
    // TRACE: every request and response with its body (items with `secret_hash`). DEBUG: the
    // operation errors, and a `ConditionalCheckFailed` carries the old item (`ALL_OLD`).
    // Also the smithy HTTP crates (event-stream messages at TRACE).
    ("aws_smithy", LevelFilter::INFO),
    // TRACE: the request being signed, headers and body.
    ("aws_sigv4", LevelFilter::DEBUG),
    // TRACE: request body chunks and configuration values.
    ("aws_runtime", LevelFilter::DEBUG),
    // TRACE: a credential process's command line, unredacted.
    ("aws_config", LevelFilter::DEBUG),
];

/// The filter for these variables' values: `AWS_LAMBDA_LOG_LEVEL` (what the template's
/// `LoggingConfig` sets) wins over `RUST_LOG`; either may be a level (`debug`; Lambda's
/// `FATAL` is `error`) or directives (`warn,api_tokens=debug`). Targets no directive names,
/// and every target when the value is missing or unreadable, log at [`DEFAULT_LEVEL`].
/// [`PAYLOAD_CAPS`] then hold over all of it.
pub fn filter(aws_lambda_log_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    let value = aws_lambda_log_level
        .or(rust_log)
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let targets = match value {
        Some(v) if v.eq_ignore_ascii_case("fatal") => {
            Targets::new().with_default(LevelFilter::ERROR)
        }
        Some(v) => Targets::from_str(v).unwrap_or_default(),
        None => Targets::new(),
    };
    let targets = if targets.default_level().is_some() {
        targets
    } else {
        targets.with_default(DEFAULT_LEVEL)
    };
    capped(&targets)
}

/// `targets` with [`PAYLOAD_CAPS`] applied. `Targets` picks the longest directive that is a
/// prefix of an event's target, so a cap is a directive of its own (at the level its prefix
/// had, or the cap if lower) and every longer directive under it is lowered to the cap too:
/// whichever directive an event under a capped prefix matches, it is at most the cap.
fn capped(targets: &Targets) -> Targets {
    let cap_of = |target: &str| {
        PAYLOAD_CAPS
            .iter()
            .filter(|(prefix, _)| target.starts_with(prefix))
            .map(|(_, cap)| *cap)
            .min()
    };
    let clamp = |target: &str, level: LevelFilter| cap_of(target).map_or(level, |c| c.min(level));
    let mut out = Targets::new();
    if let Some(default) = targets.default_level() {
        out = out.with_default(default);
    }
    for (target, level) in targets.iter() {
        out = out.with_target(target, clamp(target, level));
    }
    for (prefix, _) in PAYLOAD_CAPS {
        if !targets.iter().any(|(t, _)| t == *prefix) {
            out = out.with_target(*prefix, clamp(prefix, level_of(targets, prefix)));
        }
    }
    out
}

/// The level `targets` gives an event whose target is exactly `target`.
fn level_of(targets: &Targets, target: &str) -> LevelFilter {
    use tracing::Level;
    [
        Level::TRACE,
        Level::DEBUG,
        Level::INFO,
        Level::WARN,
        Level::ERROR,
    ]
    .into_iter()
    .find(|level| targets.would_enable(target, level))
    .map_or(LevelFilter::OFF, LevelFilter::from_level)
}

/// Shortest run of `[A-Za-z0-9_-]` that [`redact`] blanks: the length of a stored secret hash
/// (base64url of an HMAC-SHA256, see `secret::SecretHasher`). A secret (`tkn_`, 2..=10
/// characters of prefix, `_`, 55 of base62) is one such run of 58..=66.
pub const REDACTED_RUN: usize = 43;

/// What a redacted run is replaced with.
pub const REDACTED: &str = "<redacted>";

/// `text` with every run of at least [`REDACTED_RUN`] characters of `[A-Za-z0-9_-]` replaced by
/// [`REDACTED`]: anything shaped like a token secret or a stored secret hash, wherever it
/// sits (a header, a JSON string, a `Debug` dump), also glued to other such characters. Other
/// runs that long (a SigV4 signature, a payload digest) go too; nothing this service logs on
/// purpose is one.
pub fn redact(text: &[u8]) -> Cow<'_, [u8]> {
    let opaque = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < text.len() {
        if !opaque(&text[i]) {
            i += 1;
            continue;
        }
        let mut run = text[i..].iter().take_while(|b| opaque(b)).count();
        // An escape's letters (`\n`, `\u001b` in JSON or `Debug` text) stay, so the line
        // still parses: only what follows them is the run.
        let backslashes = text[..i].iter().rev().take_while(|b| **b == b'\\').count();
        if backslashes % 2 == 1 {
            let escape = if text[i] == b'u' { run.min(5) } else { 1 };
            i += escape;
            run -= escape;
        }
        if run >= REDACTED_RUN {
            let o = out.get_or_insert_with(|| Vec::with_capacity(text.len()));
            o.extend_from_slice(&text[copied..i]);
            o.extend_from_slice(REDACTED.as_bytes());
            copied = i + run;
        }
        i += run;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.extend_from_slice(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

/// A [`MakeWriter`] whose writers pass what they are given through [`redact`]: each holds one
/// event's text and writes it, redacted, when flushed or dropped (the formatter writes an event
/// whole, then drops its writer).
#[derive(Debug, Clone)]
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            buf: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer_for(meta),
            buf: Vec::new(),
        }
    }
}

/// One event's writer from [`Redacting`].
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    fn emit(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.inner.write_all(&redact(&self.buf));
        self.buf.clear();
        result
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.emit();
    }
}

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
    use std::sync::{Arc, Mutex};
    use tracing::Level;

    fn allows(t: &Targets, target: &str, level: Level) -> bool {
        t.would_enable(target, &level)
    }

    #[test]
    fn the_default_is_info() {
        let t = filter(None, None);
        assert!(allows(&t, "api_tokens", Level::INFO));
        assert!(!allows(&t, "api_tokens", Level::DEBUG));
    }

    #[test]
    fn lambdas_level_wins_over_rust_log() {
        let t = filter(Some("WARN"), Some("trace"));
        assert!(allows(&t, "api_tokens", Level::WARN));
        assert!(!allows(&t, "api_tokens", Level::INFO));
    }

    #[test]
    fn rust_log_directives_set_levels_per_target() {
        let t = filter(None, Some("warn,api_tokens=debug"));
        assert!(allows(&t, "api_tokens::store", Level::DEBUG));
        assert!(!allows(&t, "aws_smithy_runtime", Level::INFO));
        assert!(allows(&t, "aws_smithy_runtime", Level::WARN));
    }

    #[test]
    fn lambdas_fatal_is_error() {
        let t = filter(Some("FATAL"), None);
        assert!(allows(&t, "api_tokens", Level::ERROR));
        assert!(!allows(&t, "api_tokens", Level::WARN));
    }

    #[test]
    fn unreadable_values_fall_back_to_info() {
        for bad in ["", "  ", "loud", "api_tokens=shouty"] {
            let t = filter(Some(bad), None);
            assert!(allows(&t, "api_tokens", Level::INFO), "{bad:?}");
            assert!(!allows(&t, "api_tokens", Level::DEBUG), "{bad:?}");
        }
    }

    /// The targets whose events carry payloads (from the crates' sources), and their caps.
    const PAYLOAD_TARGETS: [(&str, Level); 8] = [
        ("lambda_runtime::layers::api_response", Level::DEBUG),
        ("lambda_runtime::requests", Level::DEBUG),
        ("lambda_http", Level::DEBUG),
        ("aws_smithy_runtime::client::orchestrator", Level::INFO),
        (
            "aws_smithy_runtime::client::orchestrator::http",
            Level::INFO,
        ),
        ("aws_smithy_http::event_stream::receiver", Level::INFO),
        ("aws_sigv4::http_request::sign", Level::DEBUG),
        ("aws_config::credential_process", Level::DEBUG),
    ];

    #[test]
    fn payload_targets_stay_at_their_caps_whatever_is_configured() {
        let configured: [(Option<&str>, Option<&str>); 10] = [
            (Some("TRACE"), None),
            (None, Some("trace")),
            (Some("DEBUG"), Some("trace")),
            (
                None,
                Some("warn,lambda_runtime=trace,aws_smithy_runtime=trace"),
            ),
            (None, Some("lambda_runtime::layers::api_response=trace")),
            (None, Some("lambda=trace,aws=trace")),
            (
                None,
                Some("aws_smithy_runtime::client::orchestrator::http=trace"),
            ),
            (
                None,
                Some("aws_smithy_runtime=debug,aws_sigv4::http_request=trace"),
            ),
            (
                None,
                Some("info,lambda_runtime_api_client=trace,lambda_http=trace"),
            ),
            (
                None,
                Some("off,aws_config::credential_process=trace,lambda_runtime::requests=trace"),
            ),
        ];
        for (lambda, rust_log) in configured {
            let t = filter(lambda, rust_log);
            for (target, cap) in PAYLOAD_TARGETS {
                let too_detailed = match cap {
                    Level::INFO => Level::DEBUG,
                    _ => Level::TRACE,
                };
                assert!(
                    !allows(&t, target, too_detailed),
                    "{target} at {too_detailed} with {lambda:?} / {rust_log:?}"
                );
            }
        }
        // Up to the cap, what is configured still holds.
        let t = filter(Some("TRACE"), None);
        for (target, cap) in PAYLOAD_TARGETS {
            assert!(allows(&t, target, cap), "{target} at {cap}");
        }
        assert!(allows(&t, "api_tokens::service", Level::TRACE));
        assert!(allows(&t, "h2::codec", Level::TRACE));
        let t = filter(
            None,
            Some("warn,lambda_runtime=off,aws_smithy_runtime=error"),
        );
        assert!(!allows(
            &t,
            "lambda_runtime::layers::api_response",
            Level::ERROR
        ));
        assert!(!allows(&t, "aws_smithy_runtime::client", Level::WARN));
        assert!(allows(&t, "aws_smithy_runtime::client", Level::ERROR));
        assert!(allows(&t, "aws_sigv4", Level::WARN));
        assert!(!allows(&t, "aws_sigv4", Level::INFO));
    }

    fn mint() -> (String, String) {
        let secret = crate::support::secret::generate(
            "tkn",
            uuid::Uuid::now_v7(),
            &ring::rand::SystemRandom::new(),
        );
        let hash = crate::support::secret::SecretHasher::new(&[7u8; 32]).hash(&secret);
        (secret.expose().to_string(), hash)
    }

    #[test]
    fn redaction_blanks_secrets_and_hashes_and_nothing_shorter() {
        let (secret, hash) = mint();
        let id = uuid::Uuid::now_v7().to_string();
        let text = format!(
            r#"{{"authorization":"Bearer {secret}","h":{{"S":"{hash}"}},"glued":"x{secret}{hash}","id":"{id}","n":"{}"}}"#,
            "a".repeat(REDACTED_RUN - 1)
        );
        let out = String::from_utf8(redact(text.as_bytes()).into_owned()).unwrap();
        assert!(!out.contains(&secret) && !out.contains(&hash), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 3, "{out}");
        assert!(out.contains(&format!(r#""Bearer {REDACTED}""#)), "{out}");
        assert!(out.contains(&id) && out.contains(&"a".repeat(REDACTED_RUN - 1)));
        for prefix in ["ab", "abcdefghij"] {
            let rng = ring::rand::SystemRandom::new();
            let s = crate::support::secret::generate(prefix, uuid::Uuid::max(), &rng);
            assert_eq!(redact(s.expose().as_bytes()).as_ref(), REDACTED.as_bytes());
        }
        // Escapes before a run stay escapes: the JSON line still parses.
        let escaped = format!(r#"{{"a":"x\n{secret}","b":"\u001b{hash}","c":"\\{hash}"}}"#);
        let out = redact(escaped.as_bytes());
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed["a"], format!("x\n{REDACTED}"));
        assert_eq!(parsed["b"], format!("\u{1b}{REDACTED}"));
        assert_eq!(parsed["c"], format!("\\{REDACTED}"));
        let plain = "nothing to hide: token 0190b0c4-0000-7000-8000-000000000000";
        assert!(matches!(redact(plain.as_bytes()), Cow::Borrowed(_)));
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

    /// The whole path a function takes: [`init`] from the environment (at `TRACE`), a
    /// `lambda_http` handler run by `lambda_runtime` against a local Runtime API stub, an
    /// invocation with `Authorization: Bearer <secret>`, and a DynamoDB `GetItem` (to the same
    /// stub) answering the credential's `secret_hash`. `init` installs a process-wide
    /// subscriber on stdout, so the function runs in a child process
    /// ([`lambda_function_child`]); its stdout is what CloudWatch would get.
    #[test]
    fn a_lambda_invocation_at_trace_writes_no_secret() {
        let (secret, hash) = mint();
        let session_token = format!("IQoJb3JpZ2luX2VjE{}", "Zz9".repeat(40));
        for (format, level_var) in [("JSON", "AWS_LAMBDA_LOG_LEVEL"), ("Text", "RUST_LOG")] {
            let stub = stub::RuntimeApi::start(&secret, &hash);
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    &format!(
                        "{}::lambda_function_child",
                        module_path!().split_once("::").unwrap().1
                    ),
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env_remove("AWS_LAMBDA_LOG_LEVEL")
                .env_remove("RUST_LOG")
                .env_remove("AWS_ENDPOINT_URL")
                .env(level_var, "TRACE")
                .env("AWS_LAMBDA_LOG_FORMAT", format)
                .env("AWS_LAMBDA_RUNTIME_API", stub.addr())
                .env("AWS_LAMBDA_FUNCTION_NAME", "tokens-list")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env(
                    "AWS_ENDPOINT_URL_DYNAMODB",
                    format!("http://{}", stub.addr()),
                )
                .env("AWS_REGION", "eu-west-1")
                .env("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEEXAMPLE00")
                .env(
                    "AWS_SECRET_ACCESS_KEY",
                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
                )
                .env("AWS_SESSION_TOKEN", &session_token)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stdout}\n{stderr}");
            let answers = stub.answers();
            assert_eq!(answers.len(), 1, "{answers:?}\n{stdout}\n{stderr}");
            assert!(answers[0].contains(r#""statusCode":200"#), "{answers:?}");
            assert!(answers[0].contains("verified"), "{answers:?}");
            for (what, value) in [
                ("secret", secret.as_str()),
                ("hash", hash.as_str()),
                ("session token", session_token.as_str()),
                ("secret key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"),
            ] {
                assert!(
                    !stdout.contains(value),
                    "{format}: the {what} is logged:\n{stdout}"
                );
            }
            assert!(!stdout.contains("raw JSON event"), "{stdout}");
            let trace = if format == "JSON" {
                r#""level":"TRACE""#
            } else {
                "TRACE "
            };
            assert!(
                stdout.matches(trace).count() >= 2,
                "{format}: no TRACE lines:\n{stdout}"
            );
            assert!(stdout.contains("handler saw"), "{stdout}");
            if format == "JSON" {
                // Redacted or not, every log line is still a JSON object.
                for line in stdout.lines().filter(|l| l.contains(r#""level":"#)) {
                    let line = &line[line.find('{').unwrap()..];
                    serde_json::from_str::<serde_json::Value>(line).expect(line);
                }
            }
            assert!(stdout.contains(REDACTED), "{stdout}");
        }
    }

    /// The function [`a_lambda_invocation_at_trace_writes_no_secret`] runs: `init()`, then
    /// `lambda_http::run` until the stub ends the run. Does nothing useful on its own.
    #[test]
    #[ignore = "run in its own process by a_lambda_invocation_at_trace_writes_no_secret"]
    fn lambda_function_child() {
        use aws_sdk_dynamodb::types::AttributeValue;
        use lambda_http::{Body, Error, Request, Response};

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // Only the parent test sets what `lambda_runtime` reads.
            if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
                eprintln!("not run: no AWS_LAMBDA_RUNTIME_API");
                return;
            }
            init();
            let sdk = crate::config::lambda_sdk_config().unwrap();
            let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
            let hasher = crate::support::secret::SecretHasher::new(&[7u8; 32]);
            let handler = lambda_http::service_fn(|req: Request| {
                let (dynamodb, hasher) = (dynamodb.clone(), hasher.clone());
                async move {
                    let header = req
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    // Careless lines of our own: the writer must blank them.
                    tracing::trace!(authorization = %header, "handler saw");
                    let presented = header.strip_prefix("Bearer ").unwrap_or_default();
                    let token = crate::support::secret::parse(presented)?;
                    let got = dynamodb
                        .get_item()
                        .table_name("tokens")
                        .key(
                            "pk",
                            AttributeValue::S(crate::store::schema::credential_pk(token.id)),
                        )
                        .consistent_read(true)
                        .send()
                        .await?;
                    let stored = got
                        .item()
                        .and_then(|i| i.get("secret_hash"))
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default();
                    tracing::debug!(stored_hash = %stored, "handler read");
                    let answer = if hasher.verify(&token, &stored) {
                        "verified"
                    } else {
                        "mismatch"
                    };
                    Ok::<_, Error>(Response::new(Body::from(answer)))
                }
            });
            let run = tokio::time::timeout(
                std::time::Duration::from_secs(60),
                lambda_http::run(handler),
            );
            // The stub drops the second poll for an event, which ends the run.
            let ended = run.await;
            eprintln!("the run ended: {ended:?}");
        });
    }

    /// A Lambda Runtime API and DynamoDB endpoint on one local port, in plain std: serves one
    /// invocation, answers `GetItem` with a credential, drops the next poll.
    mod stub {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};

        struct State {
            event: String,
            item: String,
            polls: AtomicUsize,
            answers: Mutex<Vec<String>>,
        }

        pub struct RuntimeApi {
            addr: String,
            state: Arc<State>,
        }

        impl RuntimeApi {
            pub fn start(secret: &str, hash: &str) -> Self {
                // An HTTP API (payload 2.0) request, as API Gateway sends it.
                let event = serde_json::json!({
                    "version": "2.0",
                    "routeKey": "GET /tokens",
                    "rawPath": "/tokens",
                    "rawQueryString": "",
                    "headers": {
                        "authorization": format!("Bearer {secret}"),
                        "host": "abc123def4.execute-api.eu-west-1.amazonaws.com",
                    },
                    "requestContext": {
                        "accountId": "123456789012",
                        "apiId": "abc123def4",
                        "domainName": "abc123def4.execute-api.eu-west-1.amazonaws.com",
                        "domainPrefix": "abc123def4",
                        "http": {
                            "method": "GET",
                            "path": "/tokens",
                            "protocol": "HTTP/1.1",
                            "sourceIp": "203.0.113.7",
                            "userAgent": "curl/8.5.0",
                        },
                        "requestId": "B3bXqj8yDoEEMdw=",
                        "routeKey": "GET /tokens",
                        "stage": "$default",
                        "time": "22/Nov/2026:23:52:51 +0000",
                        "timeEpoch": 1_795_392_771_598_u64,
                    },
                    "isBase64Encoded": false,
                })
                .to_string();
                let item = format!(
                    r#"{{"Item":{{"pk":{{"S":"CRED#x"}},"secret_hash":{{"S":"{hash}"}}}}}}"#
                );
                let state = Arc::new(State {
                    event,
                    item,
                    polls: AtomicUsize::new(0),
                    answers: Mutex::new(Vec::new()),
                });
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap().to_string();
                let serving = state.clone();
                std::thread::spawn(move || {
                    for stream in listener.incoming().flatten() {
                        let state = serving.clone();
                        std::thread::spawn(move || {
                            let _ = serve(stream, &state);
                        });
                    }
                });
                Self { addr, state }
            }

            pub fn addr(&self) -> &str {
                &self.addr
            }

            /// The bodies posted as invocation responses.
            pub fn answers(&self) -> Vec<String> {
                self.state.answers.lock().unwrap().clone()
            }
        }

        fn serve(stream: TcpStream, state: &State) -> std::io::Result<()> {
            let mut out = stream.try_clone()?;
            let mut input = BufReader::new(stream);
            loop {
                let mut request_line = String::new();
                if input.read_line(&mut request_line)? == 0 {
                    return Ok(());
                }
                let mut parts = request_line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap_or_default().to_string(),
                    parts.next().unwrap_or_default().to_string(),
                );
                let (mut length, mut target) = (0usize, String::new());
                loop {
                    let mut line = String::new();
                    input.read_line(&mut line)?;
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        match name.trim().to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap_or(0),
                            "x-amz-target" => target = value.trim().to_string(),
                            "transfer-encoding" => panic!("the stub reads no chunked bodies"),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0; length];
                input.read_exact(&mut body)?;
                let (status, headers, reply) = match (method.as_str(), path.as_str()) {
                    ("GET", "/2018-06-01/runtime/invocation/next") => {
                        if state.polls.fetch_add(1, Ordering::SeqCst) == 0 {
                            let deadline = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap()
                                .as_millis()
                                + 30_000;
                            let headers = format!(
                                "lambda-runtime-aws-request-id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n\
                                 lambda-runtime-deadline-ms: {deadline}\r\n\
                                 lambda-runtime-invoked-function-arn: arn:aws:lambda:eu-west-1:123456789012:function:tokens-list\r\n\
                                 content-type: application/json\r\n"
                            );
                            ("200 OK", headers, state.event.clone())
                        } else {
                            // Closing the connection unanswered ends the run.
                            return Ok(());
                        }
                    }
                    ("POST", p) if p.starts_with("/2018-06-01/runtime/") => {
                        state
                            .answers
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&body).into_owned());
                        (
                            "202 Accepted",
                            String::new(),
                            r#"{"status":"OK"}"#.to_string(),
                        )
                    }
                    ("POST", "/") if target == "DynamoDB_20120810.GetItem" => (
                        "200 OK",
                        "content-type: application/x-amz-json-1.0\r\n".to_string(),
                        state.item.clone(),
                    ),
                    _ => ("404 Not Found", String::new(), String::new()),
                };
                write!(
                    out,
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\n{headers}\r\n{reply}",
                    reply.len()
                )?;
                out.flush()?;
            }
        }
    }
}
