//! Request bodies: reading one as JSON (content type, size, syntax), then checking the body
//! of each operation that takes one: create, rotate, update and revoke.

use std::collections::BTreeMap;

use lambda_http::http::header;
use lambda_http::Request;
use serde_json::Value;

use crate::domain::error::{ApiError, FieldError};
use crate::domain::limits::{
    valid_id, MAX_ALLOWED_IPS, MAX_DESCRIPTION_CHARS, MAX_EXPIRES_IN_DAYS, MAX_GRACE_PERIOD,
    MAX_REASON_CHARS, MAX_SCOPES,
};
use crate::domain::scope::ScopeCatalog;
use crate::domain::usage::{
    Quota, QuotaPeriod, RateLimit, MAX_QUOTA, MAX_RATE_LIMIT, MAX_WINDOW_SECONDS,
};
use crate::http::checker::{whole_number, Checker};
use crate::http::error::{loc, HttpError};
use crate::service::{CreateInput, RotateInput};
use crate::store::Patch;
use crate::support::cidr::Cidr;
use crate::support::time::Timestamp;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The body as JSON: `None` when empty; 415 unless the content type is JSON; 413 over
/// [`MAX_BODY_BYTES`]; 400 when it does not parse.
pub fn read_json(req: &Request) -> Result<Option<Value>, HttpError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.is_empty() {
        return Ok(None);
    }
    if bytes.len() > MAX_BODY_BYTES {
        return Err(HttpError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if !is_json {
        return Err(HttpError::UnsupportedMediaType);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| HttpError::MalformedJson(e.to_string()))
}

/// [`read_json`] for routes whose body is required: an empty one is a validation error.
pub(crate) fn required_json(req: &Request) -> Result<Value, HttpError> {
    read_json(req)?.ok_or_else(|| {
        ApiError::field(loc(&["body"]), "missing", "a JSON object body is required").into()
    })
}

/// The fields of a `POST /tokens` body.
pub const CREATE_FIELDS: [&str; 10] = [
    "name",
    "description",
    "scopes",
    "expires_at",
    "expires_in_days",
    "user_id",
    "metadata",
    "allowed_ips",
    "rate_limit",
    "quota",
];

/// Validates a `POST /tokens` body. Every invalid field is reported at once.
pub fn parse_create(
    body: &Value,
    now: Timestamp,
    catalog: &ScopeCatalog,
) -> Result<CreateInput, ApiError> {
    let mut c = Checker::new(body, &CREATE_FIELDS)?;
    if c.get("name").is_none() {
        c.fail("name", "missing", "name is required");
    }
    let name = c.name();
    let description = c.string("description", 0, MAX_DESCRIPTION_CHARS);
    let scopes = scopes(&mut c, catalog);
    let expires_at = expiry(&mut c, now);
    let user_id = c.string("user_id", 1, 128);
    if user_id.as_deref().is_some_and(|u| !valid_id(u)) {
        c.fail(
            "user_id",
            "string_pattern_mismatch",
            "must be 1..=128 of [A-Za-z0-9._@:+-]",
        );
    }
    let metadata = c.metadata().unwrap_or_default();
    let allowed_ips = allowed_ips(&mut c);
    // `null` is the documented default: the same as leaving them out (the caller's own).
    let rate_limit = rate_limit(&mut c).flatten();
    let quota = quota(&mut c).flatten();
    let input = CreateInput {
        rate_limit,
        quota,
        name: name.unwrap_or_default(),
        allowed_ips,
        description: description.filter(|d| !d.is_empty()),
        scopes,
        expires_at,
        user_id,
        metadata,
    };
    c.finish(input)
}

/// A token may carry every scope of the catalog, even when that is more than [`MAX_SCOPES`].
fn max_scopes(catalog: &ScopeCatalog) -> usize {
    MAX_SCOPES.max(catalog.all().len())
}

/// `scopes`: known to the catalog, each listed once.
fn scopes(c: &mut Checker, catalog: &ScopeCatalog) -> Vec<String> {
    let mut scopes = Vec::new();
    match c.get("scopes") {
        None => {}
        Some(Value::Array(list)) if list.len() > max_scopes(catalog) => c.fail(
            "scopes",
            "too_long",
            format!("at most {} scopes", max_scopes(catalog)),
        ),
        Some(Value::Array(list)) => {
            for (i, s) in list.iter().enumerate() {
                let at = vec!["body".into(), "scopes".into(), Value::from(i)];
                match s.as_str() {
                    None => c
                        .errors
                        .push(FieldError::new(at, "string_type", "must be a string")),
                    Some(s) if !catalog.contains(s) => c.errors.push(FieldError::new(
                        at,
                        "unknown_scope",
                        format!("unknown scope; valid scopes: {}", catalog.all().join(", ")),
                    )),
                    Some(s) if scopes.iter().any(|x| x == s) => {
                        c.errors
                            .push(FieldError::new(at, "duplicate_scope", "listed twice"))
                    }
                    Some(s) => scopes.push(s.to_string()),
                }
            }
        }
        Some(_) => c.fail("scopes", "list_type", "must be an array of scope strings"),
    }
    scopes
}

/// `expires_at`, or `expires_in_days` from `now`; not both.
fn expiry(c: &mut Checker, now: Timestamp) -> Option<Timestamp> {
    let mut expires_at = c.future_time("expires_at", now);
    if let Some(v) = c.get("expires_in_days") {
        if c.get("expires_at").is_some() {
            c.fail(
                "expires_in_days",
                "mutually_exclusive",
                "give expires_at or expires_in_days, not both",
            );
        } else {
            match whole_number(v) {
                None => c.fail("expires_in_days", "int_type", "must be a whole number"),
                Some(d) if !(1..=MAX_EXPIRES_IN_DAYS).contains(&d) => c.fail(
                    "expires_in_days",
                    "range",
                    format!("must be between 1 and {MAX_EXPIRES_IN_DAYS}"),
                ),
                Some(d) => expires_at = Some(now + chrono::Duration::days(d)),
            }
        }
    }
    expires_at
}

/// `allowed_ips`: at most [`MAX_ALLOWED_IPS`] CIDR blocks, written canonically.
fn allowed_ips(c: &mut Checker) -> Vec<String> {
    let mut allowed_ips = Vec::new();
    match c.get("allowed_ips") {
        None => {}
        Some(Value::Array(list)) if list.len() <= MAX_ALLOWED_IPS => {
            for (i, v) in list.iter().enumerate() {
                let at = vec!["body".into(), "allowed_ips".into(), Value::from(i)];
                match v.as_str().map(str::parse::<Cidr>) {
                    Some(Ok(cidr)) => allowed_ips.push(cidr.to_string()),
                    Some(Err(why)) => c.errors.push(FieldError::new(at, "cidr_parsing", why)),
                    None => {
                        c.errors
                            .push(FieldError::new(at, "string_type", "must be a CIDR string"))
                    }
                }
            }
        }
        Some(Value::Array(_)) => c.fail(
            "allowed_ips",
            "too_long",
            format!("at most {MAX_ALLOWED_IPS} blocks"),
        ),
        Some(_) => c.fail(
            "allowed_ips",
            "list_type",
            "must be an array of CIDR strings",
        ),
    }
    allowed_ips
}

/// `rate_limit`: absent (`None`), `null` (`Some(None)`) or `{"limit", "window_seconds"}`,
/// both whole numbers in range. A bad one is reported and read as absent.
fn rate_limit(c: &mut Checker) -> Option<Option<RateLimit>> {
    let (limit, window_seconds) = limit_object(
        c,
        "rate_limit",
        [
            ("limit", 1, MAX_RATE_LIMIT),
            ("window_seconds", 1, MAX_WINDOW_SECONDS),
        ],
        &[],
    )?
    .map_or((None, None), |[a, b]| (Some(a), Some(b)));
    Some(
        limit
            .zip(window_seconds)
            .map(|(limit, window_seconds)| RateLimit {
                limit,
                window_seconds,
            }),
    )
}

/// `quota`: absent, `null` or `{"limit", "period"}` with `period` one of `day`, `month`,
/// `total`.
fn quota(c: &mut Checker) -> Option<Option<Quota>> {
    let period = match c.obj.get("quota").and_then(|q| q.get("period")) {
        None | Some(Value::Null) => None,
        Some(p) => match p.as_str().and_then(QuotaPeriod::parse) {
            Some(p) => Some(p),
            None => {
                c.errors.push(FieldError::new(
                    loc(&["body", "quota", "period"]),
                    "enum",
                    "must be one of day, month, total",
                ));
                return None;
            }
        },
    };
    let [limit] = match limit_object(c, "quota", [("limit", 1, MAX_QUOTA)], &["period"])? {
        Some(l) => l,
        None => return Some(None),
    };
    match period {
        Some(period) => Some(Some(Quota { limit, period })),
        None => {
            c.errors.push(FieldError::new(
                loc(&["body", "quota", "period"]),
                "missing",
                "period is required: day, month or total",
            ));
            None
        }
    }
}

/// A limit object `field` whose members are the whole numbers `numbers` (name, min, max) and
/// the `others` its caller reads: absent `None`, `null` `Some(None)`, valid
/// `Some(Some(values))`; anything else is reported and read as absent.
fn limit_object<const N: usize>(
    c: &mut Checker,
    field: &str,
    numbers: [(&str, u64, u64); N],
    others: &[&str],
) -> Option<Option<[u64; N]>> {
    let obj = match c.obj.get(field)? {
        Value::Null => return Some(None),
        Value::Object(o) => o,
        _ => {
            c.fail(field, "dict_type", "must be an object or null");
            return None;
        }
    };
    let before = c.errors.len();
    let allowed = |k: &str| numbers.iter().any(|(n, _, _)| *n == k) || others.contains(&k);
    for k in obj.keys().filter(|k| !allowed(k)) {
        c.errors.push(FieldError::new(
            loc(&["body", field, k]),
            "extra_forbidden",
            "unknown field",
        ));
    }
    let mut values = [0u64; N];
    for (i, (name, min, max)) in numbers.iter().enumerate() {
        let at = loc(&["body", field, name]);
        match obj.get(*name).filter(|v| !v.is_null()).map(whole_number) {
            None => c.errors.push(FieldError::new(
                at,
                "missing",
                format!("{name} is required"),
            )),
            Some(Some(n)) if n >= *min as i64 && n as u64 <= *max => values[i] = n as u64,
            Some(Some(_)) => c.errors.push(FieldError::new(
                at,
                "range",
                format!("must be between {min} and {max}"),
            )),
            Some(None) => c
                .errors
                .push(FieldError::new(at, "int_type", "must be a whole number")),
        }
    }
    (c.errors.len() == before).then_some(Some(values))
}

/// The fields of a `POST /tokens/{id}/rotate` body.
pub const ROTATE_FIELDS: [&str; 4] = ["grace_period_seconds", "expires_at", "rate_limit", "quota"];

/// Validates a rotation body `{grace_period_seconds?, expires_at?}` (empty: no grace
/// period, the old token's lifetime).
pub fn parse_rotate(body: &Value, now: Timestamp) -> Result<RotateInput, ApiError> {
    let mut c = Checker::new(body, &ROTATE_FIELDS)?;
    let max = MAX_GRACE_PERIOD.num_seconds();
    let grace_period = match c.get("grace_period_seconds").map(whole_number) {
        None => 0,
        Some(Some(n)) if (0..=max).contains(&n) => n,
        Some(Some(_)) => {
            c.fail(
                "grace_period_seconds",
                "range",
                format!("must be between 0 and {max} (7 days)"),
            );
            0
        }
        Some(None) => {
            c.fail("grace_period_seconds", "int_type", "must be a whole number");
            0
        }
    };
    let expires_at = c.future_time("expires_at", now);
    // `null`, the documented default, keeps the old token's limit, as leaving it out does.
    let rate_limit = rate_limit(&mut c).flatten();
    let quota = quota(&mut c).flatten();
    c.finish(RotateInput {
        grace_period: chrono::Duration::seconds(grace_period),
        expires_at,
        rate_limit,
        quota,
    })
}

/// The fields `PATCH /tokens/{id}` may change.
pub const UPDATE_FIELDS: [&str; 5] = ["name", "description", "metadata", "rate_limit", "quota"];

/// Validates a `PATCH /tokens/{id}` body: `name`, `description` (`null` removes it),
/// `metadata` (replaces the map; `null` empties it), `rate_limit` and `quota` (`null` removes
/// them). Every other token field is named as immutable: scopes, expiry, owner and address
/// limits never change after creation.
pub fn parse_update(body: &Value) -> Result<Patch, ApiError> {
    let mut c = Checker::new(body, &UPDATE_FIELDS)?;
    for e in &mut c.errors {
        let field = e.loc.get(1).and_then(Value::as_str).unwrap_or_default();
        if e.kind == "extra_forbidden"
            && (CREATE_FIELDS.contains(&field) || ROTATE_FIELDS.contains(&field))
        {
            e.kind = "immutable";
            e.msg = "cannot change after creation; rotate or create a token instead".into();
        }
    }
    let name = c.name();
    if c.obj.get("name").is_some_and(Value::is_null) {
        c.fail("name", "missing", "name cannot be removed");
    }
    let description = match c.obj.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(
            c.string("description", 0, MAX_DESCRIPTION_CHARS)
                .filter(|d| !d.is_empty()),
        ),
    };
    let metadata = match c.obj.get("metadata") {
        None => None,
        Some(Value::Null) => Some(BTreeMap::new()),
        Some(_) => c.metadata(),
    };
    let rate_limit = rate_limit(&mut c);
    let quota = quota(&mut c);
    if c.obj.keys().all(|k| !UPDATE_FIELDS.contains(&k.as_str())) && c.errors.is_empty() {
        c.fail_body(
            "missing",
            "give at least one of name, description, metadata, rate_limit, quota",
        );
    }
    c.finish(Patch {
        name,
        description,
        metadata,
        rate_limit,
        quota,
    })
}

/// Validates a revocation body `{reason?}`.
pub fn parse_revoke(body: &Value) -> Result<Option<String>, ApiError> {
    let mut c = Checker::new(body, &["reason"])?;
    let reason = c.string("reason", 1, MAX_REASON_CHARS);
    c.finish(reason)
}

#[cfg(test)]
mod tests;
