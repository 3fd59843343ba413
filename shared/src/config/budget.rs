//! Time budgets: how long each kind of function waits on AWS before it answers anyway.
//!
//! Every AWS call has a per-attempt and a per-operation timeout, and the SDK's standard retries
//! (exponential backoff with full jitter) happen inside the operation's timeout. On top, each
//! answer has a deadline ([`Budget::answer`]): the API answers 503 problem+json with
//! `Retry-After`, the authorizer fails fast (API Gateway answers 500), and event handlers stop
//! so the event is delivered again. A dropped request is the same as a lost answer, which
//! every write already survives: each is one atomic request or conditioned so that a repeat
//! is recognised (the store's module table).
//!
//! | budget | answer within | attempt | operation | attempts | backoff | function `Timeout` |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | [`Budget::API`]: list, create, revoke, dev server | 3 s | 1 s | 2.5 s | 3 | 25..400 ms | 6 s |
//! | [`Budget::AUTHORIZER`] | 1 s | 300 ms | 900 ms | 3 | 10..100 ms | 3 s |
//! | [`Budget::EVENTS`]: revoke-events, sweeper, publisher | the invocation's deadline less [`Budget::EVENTS`]`.margin()` | 1.5 s | 4 s | 3 | 50..1000 ms | 30-60 s |
//!
//! Why these: a healthy DynamoDB answers a `GetItem` in single-digit milliseconds and a
//! 1 MB `Query` in well under 300 ms, so an attempt that takes 100 times longer is stuck, not
//! slow. The authorizer sits in front of every request of every API it protects: far below
//! API Gateway's 10 s authorizer limit, so a stuck table costs a second of concurrency per
//! request, not ten. The API's 3 s is a tenth of API Gateway's 30 s integration limit and
//! half the function's timeout, so the function always answers before Lambda kills it.
//! `template.yaml`'s timeouts are checked against this table by a test.
//!
//! `TIME_BUDGET_SCALE` (1..=100, default 1) multiplies every budget in effect
//! ([`Budget::in_effect`]): for a test machine whose DynamoDB Local answers far slower than
//! DynamoDB (the README's test command sets 10, its fault tests run at 1). Never set it in AWS.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// How long one kind of function waits on AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The whole answer: every call of one request or event, retries included.
    pub answer: Duration,
    /// One attempt of one AWS call (connecting included).
    pub attempt: Duration,
    /// One AWS call, all its attempts and backoffs together.
    pub operation: Duration,
    /// Attempts per AWS call, the first included.
    pub attempts: u32,
    /// The first retry's backoff ceiling; it doubles per retry (full jitter) up to
    /// `max_backoff`.
    pub backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
}

impl Budget {
    /// The HTTP API's functions and the dev server.
    pub const API: Self = Self {
        answer: Duration::from_millis(3000),
        attempt: Duration::from_millis(1000),
        operation: Duration::from_millis(2500),
        attempts: 3,
        backoff: Duration::from_millis(25),
        max_backoff: Duration::from_millis(400),
    };

    /// The authorizer, in front of every request of every API it protects.
    pub const AUTHORIZER: Self = Self {
        answer: Duration::from_millis(1000),
        attempt: Duration::from_millis(300),
        operation: Duration::from_millis(900),
        attempts: 3,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
    };

    /// Event handlers (revocation events, the sweeper, the lifecycle publisher): nobody waits
    /// on the answer, the event source retries, and the invocation's own deadline bounds them.
    pub const EVENTS: Self = Self {
        answer: Duration::from_secs(25),
        attempt: Duration::from_millis(1500),
        operation: Duration::from_millis(4000),
        attempts: 3,
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(1000),
    };

    /// This budget multiplied by `TIME_BUDGET_SCALE` (read once per process): what the
    /// service runs on. Every use at run time goes through it.
    pub fn in_effect(self) -> Self {
        static SCALE: OnceLock<u32> = OnceLock::new();
        let scale =
            *SCALE.get_or_init(|| parse_scale(std::env::var("TIME_BUDGET_SCALE").ok().as_deref()));
        self.times(scale)
    }

    /// Every duration of this budget `n` times as long.
    pub fn times(self, n: u32) -> Self {
        Self {
            answer: self.answer * n,
            attempt: self.attempt * n,
            operation: self.operation * n,
            attempts: self.attempts,
            backoff: self.backoff * n,
            max_backoff: self.max_backoff * n,
        }
    }

    /// The SDK's timeouts for this budget.
    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.attempt)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    /// The SDK's retries for this budget: standard mode, full jitter.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.attempts)
            .with_initial_backoff(self.backoff)
            .with_max_backoff(self.max_backoff)
    }

    /// How long before the invocation's deadline a handler stops starting work: one whole
    /// operation and a second to report, so a call in flight ends before Lambda's timeout.
    pub fn margin(&self) -> Duration {
        self.operation.saturating_add(Duration::from_secs(1))
    }

    /// The time this answer may still take: [`Self::answer`], or less when the invocation's
    /// `deadline` (Lambda's, `None` off Lambda) comes sooner than [`Self::margin`]-free time.
    pub fn answer_within(&self, deadline: Option<SystemTime>) -> Duration {
        let lambda = deadline.map(|d| {
            d.duration_since(SystemTime::now())
                .unwrap_or_default()
                .saturating_sub(Duration::from_millis(250))
        });
        lambda.map_or(self.answer, |left| left.min(self.answer))
    }

    /// The `Instant` a handler with this budget must stop starting work, given the
    /// invocation's `deadline`.
    pub fn stop_at(&self, deadline: SystemTime) -> Instant {
        let left = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(self.margin());
        Instant::now() + left
    }
}

/// `TIME_BUDGET_SCALE`'s value: 1..=100, anything else 1.
fn parse_scale(value: Option<&str>) -> u32 {
    value
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| (1..=100).contains(n))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_budget_fits_its_attempts_inside_its_operation_and_its_operation_inside_its_answer() {
        for b in [Budget::API, Budget::AUTHORIZER, Budget::EVENTS] {
            assert!(b.attempt < b.operation, "{b:?}");
            assert!(b.operation < b.answer, "{b:?}");
            assert!(b.max_backoff < b.attempt, "{b:?}");
            assert!(b.attempts >= 2, "{b:?}: a lost answer gets one retry");
        }
        assert!(Budget::AUTHORIZER.answer < Budget::API.answer);
    }

    #[test]
    fn the_sdk_gets_the_budgets_timeouts_and_retries() {
        let t = Budget::API.timeout_config();
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(1)));
        assert_eq!(t.operation_timeout(), Some(Duration::from_millis(2500)));
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(1)));
        let r = Budget::AUTHORIZER.retry_config();
        assert_eq!(r.max_attempts(), 3);
        assert_eq!(r.initial_backoff(), Duration::from_millis(10));
        assert_eq!(r.max_backoff(), Duration::from_millis(100));
    }

    #[test]
    fn a_scale_multiplies_every_duration_and_only_a_sane_one_counts() {
        let b = Budget::AUTHORIZER.times(10);
        assert_eq!(b.answer, Duration::from_secs(10));
        assert_eq!(b.attempt, Duration::from_secs(3));
        assert_eq!(b.operation, Duration::from_secs(9));
        assert_eq!(b.attempts, 3);
        assert_eq!(b.max_backoff, Duration::from_secs(1));
        assert_eq!(parse_scale(None), 1);
        assert_eq!(parse_scale(Some("10")), 10);
        for bad in ["0", "101", "-1", "2.5", "ten", ""] {
            assert_eq!(parse_scale(Some(bad)), 1, "{bad}");
        }
    }

    #[test]
    fn a_near_lambda_deadline_shortens_the_answer() {
        let b = Budget::API;
        assert_eq!(b.answer_within(None), b.answer);
        let far = SystemTime::now() + Duration::from_secs(60);
        assert_eq!(b.answer_within(Some(far)), b.answer);
        let near = SystemTime::now() + Duration::from_millis(1250);
        let left = b.answer_within(Some(near));
        assert!(
            left <= Duration::from_millis(1000) && left > Duration::from_millis(900),
            "{left:?}"
        );
        let past = SystemTime::now() - Duration::from_secs(1);
        assert_eq!(b.answer_within(Some(past)), Duration::ZERO);
    }

    #[test]
    fn handlers_stop_a_margin_before_the_deadline() {
        let b = Budget::EVENTS;
        let deadline = SystemTime::now() + Duration::from_secs(60);
        let stop = b.stop_at(deadline);
        let left = stop.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_secs(60) - b.margin(), "{left:?}");
        assert!(left > Duration::from_secs(54) - b.margin(), "{left:?}");
        assert_eq!(
            b.stop_at(SystemTime::now())
                .saturating_duration_since(Instant::now()),
            Duration::ZERO
        );
    }
}
