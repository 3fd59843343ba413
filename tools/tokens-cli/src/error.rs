//! The one error of the command line, and the one place it becomes an exit code. Scripts branch
//! on these codes, so each kind of failure has its own and they never change meaning.

use serde::Deserialize;
use serde_json::Value;

/// Exit codes; `--help` and the README list them ([`EXIT_CODES`]).
pub mod exit {
    /// Done.
    pub const OK: u8 = 0;
    /// Anything else: an answer that is not the API's, output that could not be written.
    pub const OTHER: u8 = 1;
    /// A bad command line (clap's own code).
    pub const USAGE: u8 = 2;
    /// No API URL or token, or a config file that cannot be used.
    pub const CONFIG: u8 = 3;
    /// 401 or 403: the token is refused, or lacks a scope.
    pub const AUTH: u8 = 4;
    /// 404: no such token within the caller's reach.
    pub const NOT_FOUND: u8 = 5;
    /// 400, 409, 422 and other 4xx: the request itself was refused.
    pub const REFUSED: u8 = 6;
    /// 5xx or 429: the service failed or is busy; worth retrying later.
    pub const UNAVAILABLE: u8 = 7;
    /// The API could not be reached: connection refused, DNS, TLS, timeout.
    pub const NETWORK: u8 = 8;
    /// The secret file exists already or cannot be written.
    pub const SECRET_FILE: u8 = 9;
    /// 429 from the token's own limits: over its rate limit, or its quota used up.
    pub const LIMITED: u8 = 10;
}

/// The exit codes as `--help` prints them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  unexpected answer (not the API's?) or output not written
  2  bad command line
  3  configuration: no API URL or token, bad config file or permissions
  4  authentication or authorization refused (401, 403)
  5  not found (404)
  6  request refused (400, 409, 422): the API's reason and each bad field on stderr
  7  service failed or unavailable (5xx, 429), after honouring Retry-After
  8  network: connection refused, DNS, TLS or timeout
  9  the secret file exists already or cannot be written
 10  the token is over its rate limit or has used up its quota (429 rate-limited,
     quota-exhausted), after honouring a Retry-After of up to 60 s";

/// Why a command failed. Its `Display` is the one line (plus the API's field errors) printed
/// on stderr; no variant ever holds the bearer token.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A command line clap let through but the API would refuse, e.g. a label given twice.
    #[error("{0}")]
    Usage(String),
    /// Missing or unusable configuration; the message says what to do.
    #[error("{0}")]
    Config(String),
    /// The API answered with an error status.
    #[error("{0}")]
    Api(Box<Refusal>),
    /// The API could not be reached.
    #[error("cannot reach {url}: {reason}")]
    Network {
        /// The URL asked for (it holds no credentials).
        url: String,
        /// What failed, in a few words.
        reason: String,
    },
    /// The secret file exists or cannot be written.
    #[error("secret file {path}: {reason}")]
    SecretFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// An answer the API never gives, or a local failure.
    #[error("{0}")]
    Other(String),
    /// Standard output could not be written (a closed pipe, a full disk).
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => exit::USAGE,
            Self::Config(_) => exit::CONFIG,
            Self::Api(refusal) => match refusal.status {
                429 if refusal.over_limit() => exit::LIMITED,
                401 | 403 => exit::AUTH,
                404 => exit::NOT_FOUND,
                429 | 500..=599 => exit::UNAVAILABLE,
                400..=499 => exit::REFUSED,
                _ => exit::OTHER,
            },
            Self::Network { .. } => exit::NETWORK,
            Self::SecretFile { .. } => exit::SECRET_FILE,
            Self::Other(_) | Self::Output(_) => exit::OTHER,
        }
    }
}

/// An `application/problem+json` body (RFC 9457), or API Gateway's own `{"message": ...}`.
/// Local rather than the server's types: those are serialize-only views, and this one must
/// also read answers the service never wrote (API Gateway's, a proxy's).
#[derive(Debug, Default, Deserialize)]
pub struct Problem {
    /// Short title, e.g. `Validation error`.
    #[serde(default)]
    pub title: Option<String>,
    /// What went wrong with this request.
    #[serde(default)]
    pub detail: Option<String>,
    /// `/problems/<slug>`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Each bad field or parameter (422).
    #[serde(default)]
    pub errors: Vec<FieldError>,
    /// API Gateway's answers carry only this.
    #[serde(default)]
    pub message: Option<String>,
}

/// One invalid field or parameter of a 422.
#[derive(Debug, Deserialize)]
pub struct FieldError {
    /// Where: `["query", "limit"]`, `["body", "scopes", 1]`.
    pub loc: Vec<Value>,
    /// What is wrong.
    pub msg: String,
}

/// An error answer of the API.
#[derive(Debug)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// The body, when it was a problem (or API Gateway's message).
    pub problem: Option<Problem>,
    /// The `Retry-After` of the last answer, in seconds.
    pub retry_after: Option<u64>,
    /// How many times the request was sent.
    pub attempts: u32,
    /// The URL, for answers that are not the API's own.
    pub url: String,
}

impl Refusal {
    /// A `429` of the token's own limits (not API Gateway's throttle, which is busy-ness).
    pub fn over_limit(&self) -> bool {
        let kind = self.problem.as_ref().and_then(|p| p.kind.as_deref());
        self.status == 429
            && matches!(
                kind,
                Some("/problems/rate-limited" | "/problems/quota-exhausted")
            )
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.status {
            429 if self.over_limit() => "over the token's limits",
            401 => "authentication refused",
            403 => "not allowed",
            404 => "not found",
            429 | 500..=599 => "service unavailable",
            400..=499 => "request refused",
            _ => "unexpected answer",
        };
        write!(f, "{kind} ({}", self.status)?;
        match &self.problem {
            Some(problem) => {
                if let Some(title) = &problem.title {
                    write!(f, " {}", clean(title))?;
                }
                f.write_str(")")?;
                if let Some(text) = problem.detail.as_ref().or(problem.message.as_ref()) {
                    write!(f, ": {}", clean(text))?;
                }
            }
            None => write!(f, ") from {}", self.url)?,
        }
        match (self.status, self.retry_after) {
            (401, _) => f.write_str(
                " (the token is unknown, revoked, expired or mistyped: check --token, \
                 TOKENS_TOKEN or the config file)",
            )?,
            (429 | 500..=599, Some(after)) => write!(
                f,
                " (Retry-After: {after} s; sent {} time(s))",
                self.attempts
            )?,
            (429 | 500..=599, None) => write!(f, " (sent {} time(s))", self.attempts)?,
            _ if self.problem.is_none() => {
                f.write_str(": the answer is not the API's (is the API URL right?)")?
            }
            _ => {}
        }
        let errors = self.problem.iter().flat_map(|p| &p.errors);
        for error in errors {
            write!(f, "\n  {}", describe_field(error))?;
        }
        Ok(())
    }
}

/// `query created_after (--created-after): must be an RFC 3339 time`.
fn describe_field(error: &FieldError) -> String {
    let parts: Vec<String> = error
        .loc
        .iter()
        .map(|v| match v {
            Value::String(s) => clean(s),
            other => other.to_string(),
        })
        .collect();
    let flag = match parts.as_slice() {
        [place, name, ..] if place == "query" || place == "body" || place == "header" => {
            format!(" ({})", flag_for(name))
        }
        _ => String::new(),
    };
    format!("{}{flag}: {}", parts.join(" "), clean(&error.msg))
}

/// The command-line flag that sets an API field or parameter.
pub fn flag_for(name: &str) -> String {
    match name {
        "scopes" => "--scope".into(),
        "token_ids" => "--token-id".into(),
        "allowed_ips" => "--allowed-ip".into(),
        "include_total_count" => "--total".into(),
        "grace_period_seconds" => "--grace".into(),
        other => format!("--{}", other.to_ascii_lowercase().replace('_', "-")),
    }
}

/// Text from the network, with control characters (terminal escapes) made visible.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(status: u16, body: Value) -> CliError {
        CliError::Api(Box::new(Refusal {
            status,
            problem: serde_json::from_value(body).ok(),
            retry_after: Some(1),
            attempts: 3,
            url: "https://api.example/tokens".into(),
        }))
    }

    #[test]
    fn a_429_of_the_tokens_own_limits_is_not_a_busy_service() {
        for kind in ["rate-limited", "quota-exhausted"] {
            let r = refusal(
                429,
                json!({"type": format!("/problems/{kind}"), "title": "x"}),
            );
            assert_eq!(r.exit_code(), exit::LIMITED, "{kind}");
            assert!(
                r.to_string().starts_with("over the token's limits (429"),
                "{r}"
            );
        }
        // API Gateway's own throttle: `{"message": "Too Many Requests"}`.
        let gateway = refusal(429, json!({"message": "Too Many Requests"}));
        assert_eq!(gateway.exit_code(), exit::UNAVAILABLE);
    }

    #[test]
    fn each_status_class_has_its_exit_code() {
        for (status, code) in [
            (401, exit::AUTH),
            (403, exit::AUTH),
            (404, exit::NOT_FOUND),
            (400, exit::REFUSED),
            (409, exit::REFUSED),
            (422, exit::REFUSED),
            (415, exit::REFUSED),
            (429, exit::UNAVAILABLE),
            (500, exit::UNAVAILABLE),
            (503, exit::UNAVAILABLE),
            (302, exit::OTHER),
        ] {
            assert_eq!(refusal(status, json!({})).exit_code(), code, "{status}");
        }
        assert_eq!(CliError::Config(String::new()).exit_code(), exit::CONFIG);
        let network = CliError::Network {
            url: String::new(),
            reason: String::new(),
        };
        assert_eq!(network.exit_code(), exit::NETWORK);
    }

    #[test]
    fn field_errors_name_the_parameter_and_its_flag() {
        let text = refusal(
            422,
            json!({"title": "Validation error", "detail": "2 invalid field(s)", "errors": [
                {"loc": ["query", "created_after"], "msg": "must be RFC 3339", "type": "x"},
                {"loc": ["body", "scopes", 1], "msg": "unknown scope", "type": "y"}]}),
        )
        .to_string();
        assert_eq!(
            text,
            "request refused (422 Validation error): 2 invalid field(s)\n  \
             query created_after (--created-after): must be RFC 3339\n  \
             body scopes 1 (--scope): unknown scope"
        );
    }

    #[test]
    fn unavailable_reports_retry_after_and_attempts() {
        let text = refusal(
            503,
            json!({"title": "Service unavailable", "detail": "busy"}),
        );
        assert_eq!(
            text.to_string(),
            "service unavailable (503 Service unavailable): busy (Retry-After: 1 s; sent 3 time(s))"
        );
    }

    #[test]
    fn api_gateway_messages_and_foreign_answers_are_read() {
        let gateway = refusal(403, json!({"message": "Forbidden"})).to_string();
        assert_eq!(gateway, "not allowed (403): Forbidden");
        let html = CliError::Api(Box::new(Refusal {
            status: 404,
            problem: None,
            retry_after: None,
            attempts: 1,
            url: "https://example.org/x".into(),
        }));
        assert!(html.to_string().contains("is the API URL right?"), "{html}");
        let empty = CliError::Api(Box::new(Refusal {
            status: 502,
            problem: None,
            retry_after: None,
            attempts: 1,
            url: "https://api.example/tokens".into(),
        }));
        assert_eq!(
            empty.to_string(),
            "service unavailable (502) from https://api.example/tokens (sent 1 time(s))"
        );
    }

    #[test]
    fn terminal_escapes_from_the_network_are_not_printed() {
        let text = refusal(400, json!({"detail": "a\u{1b}[2Jb"})).to_string();
        assert!(!text.contains('\u{1b}'), "{text:?}");
    }
}
