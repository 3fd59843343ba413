//! The level filter: what `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` asks for, with
//! [`PAYLOAD_CAPS`] over it, so the crates that log payloads never log them.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};

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

#[cfg(test)]
mod tests {
    use super::*;
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
}
