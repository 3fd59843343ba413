//! Per-token usage limits: a rate limit (verified requests per fixed window) and a quota
//! (verified requests per UTC calendar day or month, or in total), the windows and periods
//! they are counted in, and when one limit is no more than another (a token's children
//! never get more than their parent).
//!
//! Windows are fixed and aligned to the epoch: a limit of 100 per 60 s admits at most 100
//! requests in each `[k·60 s, (k+1)·60 s)`, so any 60 s that straddles two windows may see up
//! to 200 (the price of one counter per window instead of a log of timestamps; README,
//! "Rate limits and quotas").

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::support::time::Timestamp;

/// Largest `rate_limit.limit`.
pub const MAX_RATE_LIMIT: u64 = 1_000_000;
/// Longest `rate_limit.window_seconds`: a day.
pub const MAX_WINDOW_SECONDS: u64 = 86_400;
/// Largest `quota.limit`.
pub const MAX_QUOTA: u64 = 1_000_000_000_000;

/// At most `limit` verified requests in each window of `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateLimit {
    /// Requests per window, 1..=[`MAX_RATE_LIMIT`].
    pub limit: u64,
    /// The window, 1..=[`MAX_WINDOW_SECONDS`] seconds.
    pub window_seconds: u64,
}

/// What a quota is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaPeriod {
    /// A UTC calendar day; refills at midnight UTC.
    Day,
    /// A UTC calendar month; refills on the 1st at midnight UTC.
    Month,
    /// The token's whole life; never refills.
    Total,
}

/// At most `limit` verified requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quota {
    /// Requests per period, 1..=[`MAX_QUOTA`].
    pub limit: u64,
    /// The period.
    pub period: QuotaPeriod,
}

/// One window or period of counting: its label (part of the counter's key) and its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// `w<window start in epoch seconds>`, `d2026-12-08`, `m2026-12` or `total`.
    pub label: String,
    /// When the next one starts; `None` for a total quota.
    pub ends: Option<Timestamp>,
    /// Its length in seconds (the `w` of `RateLimit-Policy`); `None` for a total quota.
    pub length: Option<u64>,
}

impl Span {
    /// Whole seconds from `now` until the span ends (at least 1), `None` if it never does.
    pub fn seconds_left(&self, now: Timestamp) -> Option<u64> {
        let left = (self.ends? - now).num_milliseconds().max(0) as u64;
        Some(left.div_ceil(1000).max(1))
    }
}

impl RateLimit {
    /// Whether a token limited by `self` can do no more than one limited by `parent`: no
    /// larger burst (`limit`) and no faster average (`limit / window_seconds`).
    pub fn within(&self, parent: &RateLimit) -> bool {
        let (l, w) = (u128::from(self.limit), u128::from(self.window_seconds));
        let (pl, pw) = (u128::from(parent.limit), u128::from(parent.window_seconds));
        l <= pl && l * pw <= pl * w
    }

    /// The window `now` falls in.
    pub fn window(&self, now: Timestamp) -> Span {
        let w = self.window_seconds.max(1) as i64;
        let start = now.timestamp().div_euclid(w) * w;
        Span {
            label: format!("w{start}"),
            ends: Utc.timestamp_opt(start + w, 0).single(),
            length: Some(self.window_seconds),
        }
    }

    /// `100/60`: the form of the authorizer context.
    pub fn to_text(&self) -> String {
        format!("{}/{}", self.limit, self.window_seconds)
    }

    /// Reads [`Self::to_text`]; `None` for anything else.
    pub fn from_text(s: &str) -> Option<Self> {
        let (l, w) = s.split_once('/')?;
        let r = Self {
            limit: l.parse().ok()?,
            window_seconds: w.parse().ok()?,
        };
        r.valid().then_some(r)
    }

    /// Whether both numbers are in range.
    pub fn valid(&self) -> bool {
        (1..=MAX_RATE_LIMIT).contains(&self.limit)
            && (1..=MAX_WINDOW_SECONDS).contains(&self.window_seconds)
    }
}

impl QuotaPeriod {
    /// How often it refills: `Total` never, `Month` monthly, `Day` daily.
    fn refills(self) -> u8 {
        match self {
            Self::Total => 0,
            Self::Month => 1,
            Self::Day => 2,
        }
    }

    /// `day`, `month` or `total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
            Self::Total => "total",
        }
    }

    /// Reads [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(Self::Day),
            "month" => Some(Self::Month),
            "total" => Some(Self::Total),
            _ => None,
        }
    }
}

impl Quota {
    /// Whether a token with `self` can do no more than one with `parent`: no larger limit,
    /// and refilled no more often (`total` under any period, `month` under `day`).
    pub fn within(&self, parent: &Quota) -> bool {
        self.limit <= parent.limit && self.period.refills() <= parent.period.refills()
    }

    /// The period `now` falls in.
    pub fn period_of(&self, now: Timestamp) -> Span {
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        match self.period {
            QuotaPeriod::Total => Span {
                label: "total".into(),
                ends: None,
                length: None,
            },
            QuotaPeriod::Day => Span {
                label: format!("d{}", now.format("%Y-%m-%d")),
                ends: midnight(now.date_naive() + Duration::days(1)),
                length: Some(86_400),
            },
            QuotaPeriod::Month => {
                let (y, m) = (now.year(), now.month());
                let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                let start = NaiveDate::from_ymd_opt(y, m, 1).and_then(midnight);
                let ends = NaiveDate::from_ymd_opt(next.0, next.1, 1).and_then(midnight);
                Span {
                    label: format!("m{y:04}-{m:02}"),
                    ends,
                    length: start
                        .zip(ends)
                        .map(|(s, e)| (e - s).num_seconds().max(0) as u64),
                }
            }
        }
    }

    /// `10000/day`: the form of the authorizer context.
    pub fn to_text(&self) -> String {
        format!("{}/{}", self.limit, self.period.as_str())
    }

    /// Reads [`Self::to_text`]; `None` for anything else.
    pub fn from_text(s: &str) -> Option<Self> {
        let (l, p) = s.split_once('/')?;
        let q = Self {
            limit: l.parse().ok()?,
            period: QuotaPeriod::parse(p)?,
        };
        q.valid().then_some(q)
    }

    /// Whether the limit is in range.
    pub fn valid(&self) -> bool {
        (1..=MAX_QUOTA).contains(&self.limit)
    }

    /// The count at which the threshold event fires: `percent` of the limit, rounded up, at
    /// least 1 and below the limit (`None` when no such count exists, as for a limit of 1).
    pub fn threshold_count(&self, percent: u8) -> Option<u64> {
        let n = (u128::from(self.limit) * u128::from(percent)).div_ceil(100) as u64;
        (percent > 0 && (1..self.limit).contains(&n)).then_some(n)
    }
}

/// What the authorizer decided about a limited token's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Counted, within every limit.
    Admitted,
    /// Over the rate limit in this window (not counted against the quota).
    RateLimited,
    /// The quota of this period (or the total) is used up.
    QuotaExhausted,
}

impl Verdict {
    /// `admitted`, `rate_limited` or `quota_exhausted`: the context's `usage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admitted => "admitted",
            Self::RateLimited => "rate_limited",
            Self::QuotaExhausted => "quota_exhausted",
        }
    }

    /// Reads [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admitted" => Some(Self::Admitted),
            "rate_limited" => Some(Self::RateLimited),
            "quota_exhausted" => Some(Self::QuotaExhausted),
            _ => None,
        }
    }
}

/// One limit as it stands after a request, for the IETF `RateLimit-Policy` and `RateLimit`
/// headers (draft-ietf-httpapi-ratelimit-headers: `"name";q=..;w=..` and `"name";r=..;t=..`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// `rate` or `quota`.
    pub name: &'static str,
    /// The limit (`q`).
    pub limit: u64,
    /// The window or period in seconds (`w`); `None` for a total quota.
    pub window: Option<u64>,
    /// Requests left in it (`r`).
    pub remaining: u64,
    /// Seconds until it refills (`t`); `None` for a total quota.
    pub reset: Option<u64>,
}

/// The verdict on a limited token's request as it travels in the authorizer context: the
/// integration answers `429` from it, with these headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// What was decided.
    pub verdict: Verdict,
    /// Seconds until a refused request may succeed; `None` when admitted or never (a total
    /// quota used up).
    pub retry_after: Option<u64>,
    /// The `RateLimit-Policy` header's value.
    pub policy: String,
    /// The `RateLimit` header's value.
    pub state: String,
}

impl Usage {
    /// The verdict with the headers of `standings`.
    pub fn new(verdict: Verdict, retry_after: Option<u64>, standings: &[Standing]) -> Self {
        let join = |part: &dyn Fn(&Standing) -> String| {
            standings.iter().map(part).collect::<Vec<_>>().join(", ")
        };
        Self {
            verdict,
            retry_after,
            policy: join(&|s| match s.window {
                Some(w) => format!("\"{}\";q={};w={w}", s.name, s.limit),
                None => format!("\"{}\";q={}", s.name, s.limit),
            }),
            state: join(&|s| match s.reset {
                Some(t) => format!("\"{}\";r={};t={t}", s.name, s.remaining),
                None => format!("\"{}\";r={}", s.name, s.remaining),
            }),
        }
    }

    /// The authorizer context's keys for it (beside the principal's).
    pub fn to_context(&self) -> [(&'static str, String); 4] {
        [
            ("usage", self.verdict.as_str().into()),
            (
                "retry_after",
                self.retry_after.map(|t| t.to_string()).unwrap_or_default(),
            ),
            ("ratelimit_policy", self.policy.clone()),
            ("ratelimit", self.state.clone()),
        ]
    }

    /// Reads it back from a context: `None` when the token had no limits (`usage` absent or
    /// empty) or `usage` is not a verdict.
    pub fn from_context(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        Some(Self {
            verdict: Verdict::parse(&get("usage")?)?,
            retry_after: get("retry_after").and_then(|t| t.parse().ok()),
            policy: get("ratelimit_policy").unwrap_or_default(),
            state: get("ratelimit").unwrap_or_default(),
        })
    }
}

/// The limit a child may have, given its parent's and the one asked for: `asked` when it is
/// within the parent's, the parent's when none is asked, and `Err(parent)` when `asked` is
/// more (or none while the parent has one).
pub fn narrowed<T: Copy>(
    parent: Option<T>,
    asked: Option<T>,
    within: impl Fn(&T, &T) -> bool,
) -> Result<Option<T>, T> {
    match (parent, asked) {
        (None, asked) => Ok(asked),
        (Some(p), None) => Ok(Some(p)),
        (Some(p), Some(a)) if within(&a, &p) => Ok(Some(a)),
        (Some(p), Some(_)) => Err(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::time;

    fn at(s: &str) -> Timestamp {
        time::parse(s).unwrap()
    }

    #[test]
    fn a_child_rate_limit_may_be_neither_burstier_nor_faster() {
        let parent = RateLimit {
            limit: 100,
            window_seconds: 60,
        };
        let r = |limit, window_seconds| RateLimit {
            limit,
            window_seconds,
        };
        assert!(r(100, 60).within(&parent));
        assert!(r(50, 60).within(&parent));
        assert!(r(100, 3600).within(&parent));
        assert!(r(1, 1).within(&parent), "1/s is slower than 100/min");
        assert!(!r(101, 60).within(&parent));
        assert!(!r(100, 59).within(&parent), "faster on average");
        assert!(!r(2, 1).within(&parent), "2/s is faster than 100/min");
        assert!(!r(6000, 3600).within(&parent), "same average, larger burst");
    }

    #[test]
    fn a_child_quota_may_not_be_larger_nor_refill_more_often() {
        let q = |limit, period| Quota { limit, period };
        let day = q(1000, QuotaPeriod::Day);
        assert!(q(1000, QuotaPeriod::Day).within(&day));
        assert!(q(10, QuotaPeriod::Month).within(&day));
        assert!(q(10, QuotaPeriod::Total).within(&day));
        assert!(!q(1001, QuotaPeriod::Day).within(&day));
        let month = q(1000, QuotaPeriod::Month);
        assert!(!q(1, QuotaPeriod::Day).within(&month));
        assert!(q(1000, QuotaPeriod::Total).within(&month));
        let total = q(1000, QuotaPeriod::Total);
        assert!(!q(1, QuotaPeriod::Month).within(&total));
        assert!(!q(1001, QuotaPeriod::Total).within(&total));
    }

    #[test]
    fn windows_are_aligned_to_the_epoch() {
        let r = RateLimit {
            limit: 5,
            window_seconds: 60,
        };
        let w = r.window(at("2026-12-08T10:00:59.999Z"));
        assert_eq!(w.ends, Some(at("2026-12-08T10:01:00Z")));
        assert_eq!(
            w.label,
            format!("w{}", at("2026-12-08T10:00:00Z").timestamp())
        );
        assert_ne!(r.window(at("2026-12-08T10:01:00Z")).label, w.label);
        assert_eq!(w.seconds_left(at("2026-12-08T10:00:59.999Z")), Some(1));
        assert_eq!(w.seconds_left(at("2026-12-08T10:00:00.500Z")), Some(60));
    }

    #[test]
    fn periods_are_utc_calendar_days_and_months() {
        let day = Quota {
            limit: 1,
            period: QuotaPeriod::Day,
        };
        let d = day.period_of(at("2026-12-31T23:59:59Z"));
        assert_eq!(d.label, "d2026-12-31");
        assert_eq!(d.ends, Some(at("2027-01-01T00:00:00Z")));
        let month = Quota {
            period: QuotaPeriod::Month,
            ..day
        };
        let m = month.period_of(at("2026-12-31T23:59:59Z"));
        assert_eq!(m.label, "m2026-12");
        assert_eq!(m.ends, Some(at("2027-01-01T00:00:00Z")));
        assert_eq!(
            month.period_of(at("2027-02-10T00:00:00Z")).ends,
            Some(at("2027-03-01T00:00:00Z"))
        );
        assert_eq!(
            month.period_of(at("2027-02-10T00:00:00Z")).length,
            Some(28 * 86_400)
        );
        assert_eq!(d.length, Some(86_400));
        let total = Quota {
            period: QuotaPeriod::Total,
            ..day
        };
        assert_eq!(total.period_of(at("2026-01-01T00:00:00Z")).ends, None);
        assert_eq!(total.period_of(at("2030-01-01T00:00:00Z")).label, "total");
    }

    #[test]
    fn the_context_forms_round_trip_and_refuse_anything_else() {
        let r = RateLimit {
            limit: 100,
            window_seconds: 60,
        };
        assert_eq!(RateLimit::from_text(&r.to_text()), Some(r));
        let q = Quota {
            limit: 10_000,
            period: QuotaPeriod::Month,
        };
        assert_eq!(Quota::from_text("10000/month"), Some(q));
        for bad in ["", "100", "0/60", "100/0", "100/86401", "-1/60", "1/60/1"] {
            assert_eq!(RateLimit::from_text(bad), None, "{bad}");
        }
        for bad in ["", "0/day", "10/week", "10/Day", "x/day"] {
            assert_eq!(Quota::from_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_threshold_is_a_count_below_the_limit() {
        let q = |limit| Quota {
            limit,
            period: QuotaPeriod::Day,
        };
        assert_eq!(q(10_000).threshold_count(80), Some(8_000));
        assert_eq!(
            q(3).threshold_count(80),
            None,
            "2.4 rounds up to the limit itself"
        );
        assert_eq!(q(10).threshold_count(80), Some(8));
        assert_eq!(q(1).threshold_count(80), None);
        assert_eq!(q(10).threshold_count(0), None);
        assert_eq!(q(10).threshold_count(100), None);
    }

    #[test]
    fn the_headers_follow_the_ietf_draft_and_the_context_round_trips() {
        let standings = [
            Standing {
                name: "rate",
                limit: 100,
                window: Some(60),
                remaining: 0,
                reset: Some(17),
            },
            Standing {
                name: "quota",
                limit: 1000,
                window: None,
                remaining: 3,
                reset: None,
            },
        ];
        let u = Usage::new(Verdict::RateLimited, Some(17), &standings);
        assert_eq!(u.policy, r#""rate";q=100;w=60, "quota";q=1000"#);
        assert_eq!(u.state, r#""rate";r=0;t=17, "quota";r=3"#);
        let ctx: std::collections::HashMap<_, _> = u.to_context().into_iter().collect();
        assert_eq!(ctx["usage"], "rate_limited");
        let back = Usage::from_context(|k| ctx.get(k).filter(|v| !v.is_empty()).cloned());
        assert_eq!(back, Some(u));
        assert_eq!(Usage::from_context(|_| None), None);
        assert_eq!(Usage::from_context(|_| Some("maybe".into())), None);
    }

    #[test]
    fn a_child_inherits_its_parents_limit_and_may_only_narrow_it() {
        let within = |a: &u64, p: &u64| a <= p;
        assert_eq!(narrowed(None, Some(5), within), Ok(Some(5)));
        assert_eq!(narrowed(None, None, within), Ok(None));
        assert_eq!(narrowed(Some(5), None, within), Ok(Some(5)));
        assert_eq!(narrowed(Some(5), Some(3), within), Ok(Some(3)));
        assert_eq!(narrowed(Some(5), Some(6), within), Err(5));
    }
}
