//! The HTTP side: one blocking ureq agent (rustls on ring), the bearer token on every request,
//! answers read as JSON or as a problem, and a 503 or 429 sent again after its `Retry-After`
//! when repeating the request is safe.

use std::time::Duration;

use serde_json::Value;
use ureq::http;

use crate::config::Settings;
use crate::error::{CliError, Problem, Refusal};
use crate::secret::Secret;

/// The longest `Retry-After` waited for; a longer one is reported instead.
const MAX_WAIT_SECONDS: u64 = 30;
/// The most of an answer read (a list page is at most about 2.5 MiB).
const MAX_ANSWER_BYTES: u64 = 16 << 20;

/// A client of one API with one token.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    authorization: Secret,
    timeout: Duration,
    retries: u32,
}

/// One request.
#[derive(Debug, Default)]
pub struct Call<'a> {
    /// `GET`, `POST`, `PATCH`.
    pub method: &'static str,
    /// From the API's root, e.g. `/tokens/self`.
    pub path: String,
    /// Query parameters, in order (a name may repeat).
    pub query: Vec<(&'static str, String)>,
    /// A JSON body.
    pub body: Option<Value>,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<&'a str>,
    /// Whether sending it twice does what sending it once does (retried after a 503).
    pub repeatable: bool,
}

/// A successful answer.
#[derive(Debug)]
pub struct Answer {
    /// The JSON body (`null` for none).
    pub body: Value,
    /// `Idempotent-Replayed: true`: the answer of an earlier request with the same key.
    pub replayed: bool,
}

/// An answer as it came, before it is judged.
struct Raw {
    status: u16,
    text: String,
    retry_after: Option<u64>,
    replayed: bool,
}

impl Client {
    /// A client for `settings`; requests time out after `settings.timeout`.
    pub fn new(settings: &Settings) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A redirect is reported, never followed: the API answers none, and a 3xx means
            // the URL is wrong.
            .max_redirects(0)
            .timeout_global(Some(settings.timeout))
            .timeout_connect(Some(settings.timeout.min(Duration::from_secs(10))))
            .user_agent(concat!("tokens-cli/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: config.into(),
            base: settings.api_url.clone(),
            authorization: Secret::new(format!("Bearer {}", settings.token.expose())),
            timeout: settings.timeout,
            retries: settings.retries,
        }
    }

    /// Sends `call`: the 2xx answer, or the API's refusal, or why it could not be sent.
    pub fn send(&self, call: &Call) -> Result<Answer, CliError> {
        let url = format!("{}{}", self.base, call.path);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let raw = self.send_once(call, &url)?;
            if (200..300).contains(&raw.status) {
                return answer(raw, &url);
            }
            let wait = raw.retry_after.unwrap_or(1);
            // A 429 without Retry-After (a total quota used up) never gets better.
            let retry = (raw.status == 503 || (raw.status == 429 && raw.retry_after.is_some()))
                && call.repeatable
                && attempts <= self.retries
                && wait <= MAX_WAIT_SECONDS;
            if !retry {
                return Err(CliError::Api(Box::new(Refusal {
                    status: raw.status,
                    problem: serde_json::from_str::<Problem>(&raw.text).ok(),
                    retry_after: raw.retry_after,
                    attempts,
                    url,
                })));
            }
            std::thread::sleep(Duration::from_secs(wait));
        }
    }

    fn send_once(&self, call: &Call, url: &str) -> Result<Raw, CliError> {
        let mut target = url.to_string();
        for (i, (name, value)) in call.query.iter().enumerate() {
            target.push(if i == 0 { '?' } else { '&' });
            target.push_str(&format!("{}={}", encode(name), encode(value)));
        }
        let mut request = http::Request::builder()
            .method(call.method)
            .uri(&target)
            .header("authorization", self.authorization.expose())
            .header("accept", "application/json");
        if let Some(key) = call.idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let sent = match &call.body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(body.to_string())
                .map(|r| self.agent.run(r)),
            None => request.body(()).map(|r| self.agent.run(r)),
        };
        let mut response = sent
            .map_err(|e| CliError::Other(format!("cannot build the request to {url}: {e}")))?
            .map_err(|e| self.network(url, e))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let retry_after = header("retry-after").and_then(|v| v.parse().ok());
        let replayed = header("idempotent-replayed") == Some("true");
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| self.network(url, e))?;
        Ok(Raw {
            status,
            text,
            retry_after,
            replayed,
        })
    }

    /// Why `url` could not be reached, in a few words.
    fn network(&self, url: &str, error: ureq::Error) -> CliError {
        use std::io::ErrorKind;
        let reason = match &error {
            ureq::Error::Timeout(_) => {
                format!("no answer within {} s (--timeout)", self.timeout.as_secs())
            }
            ureq::Error::HostNotFound => "host not found (DNS)".into(),
            ureq::Error::ConnectionFailed => "connection failed".into(),
            ureq::Error::Io(e) if e.kind() == ErrorKind::ConnectionRefused => {
                "connection refused (is the API URL right, and the server up?)".into()
            }
            ureq::Error::Io(e) if e.kind() == ErrorKind::TimedOut => {
                format!("no answer within {} s (--timeout)", self.timeout.as_secs())
            }
            ureq::Error::Io(e) => e.to_string(),
            other => other.to_string(),
        };
        CliError::Network {
            url: url.to_string(),
            reason,
        }
    }
}

/// A 2xx answer's JSON (`null` when it has no body).
fn answer(raw: Raw, url: &str) -> Result<Answer, CliError> {
    let body = if raw.text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&raw.text).map_err(|_| {
            CliError::Other(format!(
                "{url} answered {} with a body that is not JSON: is the API URL right?",
                raw.status
            ))
        })?
    };
    Ok(Answer {
        body,
        replayed: raw.replayed,
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode("team=infra & co/ü"),
            "team%3Dinfra%20%26%20co%2F%C3%BC"
        );
        assert_eq!(encode("tokens:read"), "tokens%3Aread");
        assert_eq!(encode("A-z_0.9~"), "A-z_0.9~");
    }
}
