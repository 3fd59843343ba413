//! What to inject and when: a [`Fault`] and the [`Rule`] that decides which requests get it.
//!
//! Rules are tried in order and the first one that fires wins, so a request gets at most one
//! fault. Which share of the matching requests a rule takes is decided by a seeded splitmix64
//! generator, so a test that sends its requests one after another sees the same faults on
//! every run.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The seed [`crate::FaultProxy::set`] uses for its rules' draws.
pub const DEFAULT_SEED: u64 = 0x5eed_fa17_0018;

/// One fault, as the client of the proxy meets it.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Wait this long, then forward as usual.
    Latency(Duration),
    /// Never answer: the connection stays open and nothing more is read from it until the
    /// client gives up (or the proxy is dropped). Clearing the rules does not release it.
    Hang,
    /// Close the client's connection with a TCP RST (SO_LINGER 0), without answering.
    Reset,
    /// Forward, then send the upstream's status and headers (its Content-Length included)
    /// and only the first half of its body, then close the connection.
    Truncate,
    /// HTTP 400 with DynamoDB's `ThrottlingException` body ([`crate::THROTTLING_BODY`]).
    Throttle,
    /// HTTP 500 with DynamoDB's `InternalServerError` body ([`crate::SERVER_ERROR_BODY`]).
    ServerError,
    /// HTTP 503 with a `ServiceUnavailable` body ([`crate::SERVICE_UNAVAILABLE_BODY`]).
    ServiceUnavailable,
    /// Any status with this body (content type `application/x-amz-json-1.0`): the errors of
    /// other JSON services, whose `__type` differs from DynamoDB's. A status outside
    /// 100..=999 is answered as 500.
    Status { status: u16, body: String },
    /// Forward the request and wait for the upstream's whole answer (so the write happens),
    /// then give the client the inner fault instead of that answer: "the write succeeded but
    /// the answer was lost". `AfterForward(Latency(d))` delays the real answer by `d`.
    AfterForward(Box<Fault>),
}

impl Fault {
    /// The same fault applied after the request was forwarded ([`Fault::AfterForward`]).
    pub fn after_forward(self) -> Fault {
        match self {
            Fault::AfterForward(_) => self,
            fault => Fault::AfterForward(Box::new(fault)),
        }
    }

    /// The key [`crate::Stats::faults`] counts this fault under: `latency`, `hang`, `reset`,
    /// `truncate`, `throttle`, `server_error`, `service_unavailable`, `status`, and
    /// `after_forward:<inner>` (for example `after_forward:reset`).
    pub fn kind(&self) -> String {
        let name = match self {
            Fault::Latency(_) => "latency",
            Fault::Hang => "hang",
            Fault::Reset => "reset",
            Fault::Truncate => "truncate",
            Fault::Throttle => "throttle",
            Fault::ServerError => "server_error",
            Fault::ServiceUnavailable => "service_unavailable",
            Fault::Status { .. } => "status",
            Fault::AfterForward(inner) => return format!("after_forward:{}", inner.kind()),
        };
        name.to_owned()
    }
}

/// When a [`Fault`] applies. [`Rule::new`] takes every request; the builder methods narrow it.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// What the matching requests get.
    pub fault: Fault,
    /// The fraction (0..=1) of matching requests that get it, drawn from the seeded generator.
    pub share: f64,
    /// Only requests whose `X-Amz-Target` is this or ends with `.` and this (`"GetItem"`
    /// matches `DynamoDB_20120810.GetItem`, not `BatchGetItem`); `None` matches all.
    pub target: Option<String>,
    /// The rule stops applying at this instant; `None`: never.
    pub until: Option<Instant>,
    /// The rule applies at most this many times; `None`: no limit.
    pub limit: Option<usize>,
}

impl Rule {
    /// `fault` for every request, with no window and no limit.
    pub fn new(fault: Fault) -> Rule {
        Rule {
            fault,
            share: 1.0,
            target: None,
            until: None,
            limit: None,
        }
    }

    /// Only this fraction (0..=1) of the matching requests.
    pub fn share(mut self, share: f64) -> Rule {
        self.share = share;
        self
    }

    /// Only requests for this operation (see [`Rule::target`]).
    pub fn target(mut self, operation: impl Into<String>) -> Rule {
        self.target = Some(operation.into());
        self
    }

    /// Only until `instant`.
    pub fn until(mut self, instant: Instant) -> Rule {
        self.until = Some(instant);
        self
    }

    /// Only for `window` from now.
    pub fn lasting(self, window: Duration) -> Rule {
        self.until(Instant::now() + window)
    }

    /// At most `times` times.
    pub fn limit(mut self, times: usize) -> Rule {
        self.limit = Some(times);
        self
    }

    fn matches(&self, target: Option<&str>, now: Instant) -> bool {
        let in_window = self.until.is_none_or(|until| now < until);
        in_window
            && match (&self.target, target) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(wanted), Some(target)) => {
                    target == wanted || target.rsplit_once('.').map(|(_, op)| op) == Some(wanted)
                }
            }
    }
}

/// The rules in force, each with how often it applied, and the generator for their shares.
#[derive(Debug)]
pub(crate) struct RuleSet {
    rules: Vec<(Rule, AtomicUsize)>,
    rng: SplitMix64,
}

impl RuleSet {
    pub(crate) fn new(rules: Vec<Rule>, seed: u64) -> RuleSet {
        RuleSet {
            rules: rules
                .into_iter()
                .map(|r| (r, AtomicUsize::new(0)))
                .collect(),
            rng: SplitMix64::new(seed),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The fault of the first rule that fires for a request with this `X-Amz-Target`.
    /// A share strictly between 0 and 1 draws once per matching request; 1 and 0 never draw.
    pub(crate) fn pick(&self, target: Option<&str>, now: Instant) -> Option<Fault> {
        for (rule, applied) in &self.rules {
            if !rule.matches(target, now) || !self.draw(rule.share) {
                continue;
            }
            let limit = rule.limit.unwrap_or(usize::MAX);
            let taken = applied
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    (n < limit).then_some(n + 1)
                })
                .is_ok();
            if taken {
                return Some(rule.fault.clone());
            }
        }
        None
    }

    fn draw(&self, share: f64) -> bool {
        if share.is_nan() || share <= 0.0 {
            false
        } else if share >= 1.0 {
            true
        } else {
            self.rng.next_unit() < share
        }
    }
}

/// splitmix64 over an atomic state: deterministic for requests sent one at a time.
#[derive(Debug)]
struct SplitMix64(AtomicU64);

impl SplitMix64 {
    const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

    fn new(seed: u64) -> SplitMix64 {
        SplitMix64(AtomicU64::new(seed))
    }

    /// A number in [0, 1) from the top 53 bits of the next output.
    fn next_unit(&self) -> f64 {
        let mut z = self
            .0
            .fetch_add(Self::GAMMA, Ordering::Relaxed)
            .wrapping_add(Self::GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: Option<&str> = Some("DynamoDB_20120810.GetItem");

    #[test]
    fn a_target_matches_the_operation_after_the_last_dot_or_the_whole_header() {
        let now = Instant::now();
        let rule = Rule::new(Fault::Hang).target("GetItem");
        assert!(rule.matches(GET, now));
        assert!(rule.matches(Some("GetItem"), now));
        assert!(!rule.matches(Some("DynamoDB_20120810.BatchGetItem"), now));
        assert!(!rule.matches(None, now));
        let full = Rule::new(Fault::Hang).target("AmazonSSM.GetParameters");
        assert!(full.matches(Some("AmazonSSM.GetParameters"), now));
    }

    #[test]
    fn the_first_rule_that_fires_wins_and_a_limit_passes_to_the_next() {
        let set = RuleSet::new(
            vec![Rule::new(Fault::Reset).limit(2), Rule::new(Fault::Throttle)],
            DEFAULT_SEED,
        );
        let now = Instant::now();
        let picked: Vec<_> = (0..4).map(|_| set.pick(GET, now)).collect();
        assert_eq!(
            picked,
            [
                Some(Fault::Reset),
                Some(Fault::Reset),
                Some(Fault::Throttle),
                Some(Fault::Throttle)
            ]
        );
    }

    #[test]
    fn a_rule_stops_at_the_end_of_its_window() {
        let start = Instant::now();
        let set = RuleSet::new(
            vec![Rule::new(Fault::Hang).until(start + Duration::from_secs(1))],
            DEFAULT_SEED,
        );
        assert_eq!(set.pick(None, start), Some(Fault::Hang));
        assert_eq!(set.pick(None, start + Duration::from_secs(1)), None);
    }

    #[test]
    fn the_same_seed_draws_the_same_requests() {
        let draws = |seed| {
            let set = RuleSet::new(vec![Rule::new(Fault::Hang).share(0.5)], seed);
            (0..64)
                .map(|_| set.pick(None, Instant::now()).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
    }

    #[test]
    fn kinds_name_the_fault_and_after_forward_does_not_nest() {
        assert_eq!(Fault::Reset.after_forward().kind(), "after_forward:reset");
        assert_eq!(
            Fault::Hang.after_forward().after_forward(),
            Fault::AfterForward(Box::new(Fault::Hang))
        );
        assert_eq!(Fault::Latency(Duration::ZERO).kind(), "latency");
    }
}
