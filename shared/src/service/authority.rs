//! Authority only shrinks: a token never mints (by create, rotation or an idempotent replay)
//! a token with a scope it lacks, an expiry past its own, addresses outside its own
//! `allowed_ips`, or a rate limit or quota above its own; and a caller sees only its tenant's tokens, and only its own without
//! `tokens:admin`.

use crate::domain::error::ApiError;
use crate::domain::model::TokenItem;
use crate::domain::principal::Principal;
use crate::domain::usage::{Quota, QuotaPeriod, RateLimit};
use crate::support::cidr::Cidr;
use crate::support::time::{self, Timestamp};

/// Scopes a caller may grant: only its own.
pub(super) fn within_scopes(caller: &Principal, scopes: &[String]) -> Result<(), ApiError> {
    let beyond: Vec<&str> = scopes
        .iter()
        .filter(|s| !caller.has(s))
        .map(String::as_str)
        .collect();
    if beyond.is_empty() {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "scopes: a token cannot grant scopes it does not hold: {}",
        beyond.join(", ")
    )))
}

/// The expiry of a token `caller` creates: never later than the caller's own; a caller that
/// expires gives its own expiry to a token asked to live forever.
pub(super) fn within_expiry(
    caller: &Principal,
    requested: Option<Timestamp>,
) -> Result<Option<Timestamp>, ApiError> {
    match (caller.expires_at, requested) {
        (Some(cap), Some(t)) if t > cap => Err(outlives(cap)),
        (cap, requested) => Ok(requested.or(cap)),
    }
}

/// The 403 of a token asked to outlive its creator, which expires at `cap`.
pub(super) fn outlives(cap: Timestamp) -> ApiError {
    ApiError::Forbidden(format!(
        "expires_at: a token cannot create a token that outlives it; the latest allowed is {}",
        time::format(&cap)
    ))
}

/// The address blocks of a token `caller` mints: the caller's own when none are asked
/// for; a request may narrow them (every block inside one of the caller's), never widen.
pub(super) fn within_ips(
    caller: &Principal,
    requested: Vec<String>,
) -> Result<Vec<String>, ApiError> {
    if caller.allowed_ips.is_empty() {
        return Ok(requested);
    }
    if requested.is_empty() {
        return Ok(caller.allowed_ips.clone());
    }
    let outer: Vec<Cidr> = caller
        .allowed_ips
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let inside = |block: &String| {
        block
            .parse::<Cidr>()
            .is_ok_and(|b| outer.iter().any(|o| o.covers(&b)))
    };
    if requested.iter().all(inside) {
        Ok(requested)
    } else {
        Err(ips_beyond(&caller.allowed_ips))
    }
}

/// The 403 of a token asked to be usable from addresses its creator is not.
pub(super) fn ips_beyond(caller_ips: &[String]) -> ApiError {
    ApiError::Forbidden(format!(
        "allowed_ips: a token cannot create a token usable from addresses it may not use; \
         every block must lie inside {}",
        caller_ips.join(", ")
    ))
}

/// Whether `caller` may see `item`: its tenant's, and its own unless `tokens:admin`.
pub(super) fn visible_to(caller: &Principal, item: &TokenItem) -> bool {
    item.tenant_id == caller.tenant_id && (caller.is_admin() || item.user_id == caller.user_id)
}

/// A rate limit or a quota, as the rules of authority see it.
pub(super) trait Limit: Copy + PartialEq + std::fmt::Debug {
    /// The body field.
    const FIELD: &'static str;
    /// Whether `self` allows no more than `other`.
    fn within(&self, other: &Self) -> bool;
    /// For messages: `100 per 60 s`, `10000 per day`.
    fn describe(&self) -> String;
}

impl Limit for RateLimit {
    const FIELD: &'static str = "rate_limit";
    fn within(&self, other: &Self) -> bool {
        RateLimit::within(self, other)
    }
    fn describe(&self) -> String {
        format!("{} per {} s", self.limit, self.window_seconds)
    }
}

impl Limit for Quota {
    const FIELD: &'static str = "quota";
    fn within(&self, other: &Self) -> bool {
        Quota::within(self, other)
    }
    fn describe(&self) -> String {
        match self.period {
            QuotaPeriod::Total => format!("{} in total", self.limit),
            p => format!("{} per {}", self.limit, p.as_str()),
        }
    }
}

/// A token's limit after `caller` asks to change it from `current` to `asked` (`None`: keep
/// it; `Some(None)`: remove it). Lowering it is anyone's who may write the token; setting one
/// where there was none, raising or removing it takes `tokens:admin`. The result is never
/// more than the caller's `own`: with `inherit` (a token minted) none becomes the caller's
/// own, otherwise (a `PATCH`) asking for more is refused.
pub(super) fn limit_for<T: Limit>(
    caller: &Principal,
    own: Option<T>,
    current: Option<T>,
    asked: Option<Option<T>>,
    inherit: bool,
) -> Result<Option<T>, ApiError> {
    let new = asked.unwrap_or(current);
    let lowered = match (current, new) {
        (c, n) if c == n => true,
        (Some(c), Some(n)) => n.within(&c),
        _ => false,
    };
    if !lowered && !caller.is_admin() {
        return Err(ApiError::Forbidden(format!(
            "{}: only a tokens:admin token may set, raise or remove a {0}; any token that \
             may write this one may lower it{}",
            T::FIELD,
            current.map_or(String::new(), |c| format!(" (it is {})", c.describe()))
        )));
    }
    match (own, new) {
        (None, n) => Ok(n),
        (Some(o), None) if inherit => Ok(Some(o)),
        (Some(o), Some(n)) if n.within(&o) => Ok(Some(n)),
        (Some(o), _) => Err(beyond_own(&o)),
    }
}

/// The 403 of a token asked to give more than its own limit `own`.
fn beyond_own<T: Limit>(own: &T) -> ApiError {
    ApiError::Forbidden(format!(
        "{}: a token cannot give a token more than its own {0}, {}",
        T::FIELD,
        own.describe()
    ))
}

/// Whether a token with `rate_limit` and `quota` (an idempotent replay's) is within
/// `caller`'s own limits.
pub(super) fn limits_within(
    caller: &Principal,
    rate_limit: Option<RateLimit>,
    quota: Option<Quota>,
) -> Result<(), ApiError> {
    fn check<T: Limit>(own: Option<T>, theirs: Option<T>) -> Result<(), ApiError> {
        match (own, theirs) {
            (Some(o), Some(t)) if t.within(&o) => Ok(()),
            (Some(o), _) => Err(beyond_own(&o)),
            (None, _) => Ok(()),
        }
    }
    check(caller.rate_limit, rate_limit)?;
    check(caller.quota, quota)
}
