//! The writer's guard: every log line passes through [`redact`] before it is written, which
//! blanks anything shaped like a token secret or a stored secret hash, whoever logged it.

use std::borrow::Cow;
use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::logging::tests::mint;

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
}
