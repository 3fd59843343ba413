//! Authority only shrinks: a token never mints (by create, rotation or an idempotent replay)
//! a token with a scope it lacks, an expiry past its own, or addresses outside its own
//! `allowed_ips`; and a caller sees only its tenant's tokens, and only its own without
//! `tokens:admin`.

use crate::domain::error::ApiError;
use crate::domain::model::TokenItem;
use crate::domain::principal::Principal;
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
