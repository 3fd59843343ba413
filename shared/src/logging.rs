//! Log setup for every binary: Lambda's advanced logging controls, without a regex engine.
//!
//! `lambda_runtime`'s own `init_default_subscriber` does the same with `EnvFilter`, which
//! links `regex-automata` into every function for directives nobody here uses. The filter
//! below is `tracing_subscriber`'s `Targets`: a level, or `target=level` pairs.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// What is logged when neither `AWS_LAMBDA_LOG_LEVEL` nor `RUST_LOG` is set.
pub const DEFAULT_LEVEL: LevelFilter = LevelFilter::INFO;

/// The filter for these variables' values: `AWS_LAMBDA_LOG_LEVEL` (what the template's
/// `LoggingConfig` sets) wins over `RUST_LOG`; either may be a level (`debug`; Lambda's
/// `FATAL` is `error`) or directives (`warn,api_tokens=debug`). Targets no directive names,
/// and every target when the value is missing or unreadable, log at [`DEFAULT_LEVEL`].
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
    if targets.default_level().is_some() {
        targets
    } else {
        targets.with_default(DEFAULT_LEVEL)
    }
}

/// Installs the process's subscriber on stdout: JSON lines when `AWS_LAMBDA_LOG_FORMAT` is
/// `JSON` (the template sets it), text otherwise; no timestamps (Lambda adds them), no
/// targets. Does nothing when a subscriber is already installed.
pub fn init() {
    let var = |name| std::env::var(name).ok();
    let targets = filter(
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        var("RUST_LOG").as_deref(),
    );
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(std::io::stdout);
    let registry = tracing_subscriber::registry().with(targets);
    let _ = if json {
        registry.with(fmt.json()).try_init()
    } else {
        registry.with(fmt).try_init()
    };
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
}
