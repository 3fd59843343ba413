//! `GET /tokens` query parameters: each one read and checked, every bad one named in one
//! validation error. What the parameters mean (filters, sorts, cursors) is
//! [`crate::service::listing`]'s.

use std::collections::BTreeSet;

use lambda_http::{Request, RequestExt};
use uuid::Uuid;

use crate::domain::error::{ApiError, FieldError};
use crate::domain::limits::{valid_id, valid_metadata_key, MAX_NAME_CHARS, MAX_TOKEN_IDS};
use crate::domain::model::Status;
use crate::http::error::loc;
use crate::service::listing::ListQuery;
use crate::store::schema::SortField;
use crate::support::time::{self, Timestamp};

/// Page size when a client gives no `limit`.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page a client may ask for.
pub const MAX_LIMIT: u32 = 1000;

/// Every `GET /tokens` parameter, as the OpenAPI spec names them: the metadata filter is the
/// repeatable `metadata=team=infra` (what every generator can send), also read as
/// `metadata[team]=infra` (a `deepObject`) and `metadata.team=infra`.
pub const LIST_PARAMETERS: [&str; 19] = [
    "limit",
    "cursor",
    "status",
    "include_revoked",
    "user_id",
    "token_ids",
    "name",
    "scope",
    "created_after",
    "created_before",
    "expires_after",
    "expires_before",
    "last_used_after",
    "last_used_before",
    "sort",
    "order",
    "include_total_count",
    "metadata",
    "limited",
];

/// Prefix of the metadata filter's oldest spelling (`metadata.team=infra`).
pub const METADATA_PARAMETER_PREFIX: &str = "metadata.";

/// `GET /tokens` parameters, validated; every bad parameter is named.
pub fn parse_list_query(req: &Request) -> Result<ListQuery, ApiError> {
    let params = req.query_string_parameters();
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k).collect();
    names.sort_unstable();
    names.dedup();
    let mut parser = ListParser::default();
    for name in names {
        let values = params.all(name).unwrap_or_default();
        let repeatable = matches!(name, "status" | "token_ids" | "metadata");
        if values.len() > 1 && !repeatable {
            parser.fail(name, "multiple_values", "give this parameter at most once");
            continue;
        }
        parser.read(name, &values);
    }
    parser.finish()
}

/// The query as read so far, and every bad parameter met.
#[derive(Default)]
struct ListParser {
    q: ListQuery,
    /// `order`: `Some(true)` for descending.
    order: Option<bool>,
    include_revoked: Option<bool>,
    errors: Vec<FieldError>,
}

impl ListParser {
    fn fail(&mut self, name: &str, kind: &'static str, msg: impl Into<String>) {
        self.errors
            .push(FieldError::new(loc(&["query", name]), kind, msg));
    }

    /// Reads one parameter; `values` holds every value given for it (at least one).
    fn read(&mut self, name: &str, values: &[&str]) {
        let value = values[0];
        match name {
            "limit" => self.limit(name, value),
            "cursor" => self.q.cursor = Some(value.to_string()),
            "status" => self.statuses(name, values),
            "include_revoked" => self.include_revoked = self.boolean(name, value),
            "include_total_count" => {
                self.q.include_total = self.boolean(name, value).unwrap_or_default()
            }
            "user_id" if valid_id(value) => self.q.user_id = Some(value.to_string()),
            "user_id" => self.fail(
                name,
                "string_pattern_mismatch",
                "must be 1..=128 of [A-Za-z0-9._@:+-]",
            ),
            "token_ids" => self.token_ids(name, values),
            "name" => match value.chars().count() {
                1..=MAX_NAME_CHARS => self.q.name = Some(value.to_lowercase()),
                _ => self.fail(
                    name,
                    "string_length",
                    format!("must be 1..={MAX_NAME_CHARS} characters"),
                ),
            },
            "scope" => match value.chars().count() {
                1..=64 => self.q.scope = Some(value.to_string()),
                _ => self.fail(name, "string_length", "must be 1..=64 characters"),
            },
            "created_after" => self.q.created.after = self.timestamp(name, value),
            "created_before" => self.q.created.before = self.timestamp(name, value),
            "expires_after" => self.q.expires.after = self.timestamp(name, value),
            "expires_before" => self.q.expires.before = self.timestamp(name, value),
            "last_used_after" => self.q.last_used.after = self.timestamp(name, value),
            "last_used_before" => self.q.last_used.before = self.timestamp(name, value),
            "limited" => self.q.limited = self.boolean(name, value),
            "sort" => self.sort(name, value),
            "order" => match value {
                "asc" => self.order = Some(false),
                "desc" => self.order = Some(true),
                _ => self.fail(name, "enum", "use asc or desc"),
            },
            "metadata" => self.metadata_pairs(name, values),
            _ => self.metadata(name, value),
        }
    }

    fn limit(&mut self, name: &str, value: &str) {
        match value.trim().parse::<i64>() {
            Ok(n) if n < 1 => self.fail(name, "greater_than_equal", "limit must be at least 1"),
            Ok(n) if n > i64::from(MAX_LIMIT) => self.fail(
                name,
                "less_than_equal",
                format!("limit must be at most {MAX_LIMIT}"),
            ),
            Ok(n) => self.q.limit = n as u32,
            Err(_) => self.fail(name, "int_parsing", "limit must be a whole number"),
        }
    }

    fn boolean(&mut self, name: &str, value: &str) -> Option<bool> {
        match value {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.fail(name, "bool_parsing", "must be true or false");
                None
            }
        }
    }

    fn timestamp(&mut self, name: &str, value: &str) -> Option<Timestamp> {
        let t = time::parse(value);
        if t.is_none() {
            self.fail(
                name,
                "datetime_parsing",
                "must be an RFC 3339 date-time, e.g. 2027-01-31T00:00:00Z",
            );
        }
        t
    }

    /// `status=active,expired` (repeatable): a set, never empty.
    fn statuses(&mut self, name: &str, values: &[&str]) {
        let mut set = BTreeSet::new();
        for v in list(values) {
            match v {
                "active" => set.insert(Status::Active),
                "expired" => set.insert(Status::Expired),
                "revoked" => set.insert(Status::Revoked),
                _ => {
                    self.fail(
                        name,
                        "enum",
                        format!("unknown status {v:?}; use active, expired or revoked"),
                    );
                    continue;
                }
            };
        }
        if set.is_empty() {
            self.fail(
                name,
                "missing",
                "give one or more of active, expired, revoked",
            );
        }
        self.q.statuses = Some(set);
    }

    /// `token_ids=a,b` (repeatable): 1..=[`MAX_TOKEN_IDS`] ids, repeats dropped.
    fn token_ids(&mut self, name: &str, values: &[&str]) {
        // Counted as given, repeats included: the limit is on what the client sent.
        let given = list(values).count();
        let mut ids = Vec::new();
        for v in list(values) {
            match Uuid::parse_str(v) {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(_) => self.fail(name, "uuid_parsing", format!("{v:?} is not a token id")),
            }
        }
        if ids.is_empty() || given > MAX_TOKEN_IDS {
            self.fail(
                name,
                "length",
                format!("give 1..={MAX_TOKEN_IDS} token ids"),
            );
        }
        self.q.token_ids = Some(ids);
    }

    fn sort(&mut self, name: &str, value: &str) {
        match value {
            "created_at" => self.q.sort = SortField::CreatedAt,
            "name" => self.q.sort = SortField::Name,
            "expires_at" => self.q.sort = SortField::ExpiresAt,
            "last_used_at" => self.q.sort = SortField::LastUsedAt,
            _ => self.fail(
                name,
                "enum",
                "use created_at, name, expires_at or last_used_at",
            ),
        }
    }

    /// `metadata=<key>=<value>` (repeatable): the value up to its first `=` is the key.
    fn metadata_pairs(&mut self, name: &str, values: &[&str]) {
        for pair in values {
            match pair.split_once('=') {
                Some((key, value)) => self.metadata_filter(name, key, value),
                None => self.fail(name, "invalid_pair", "give key=value, e.g. team=infra"),
            }
        }
    }

    /// `metadata.<key>=<value>` or `metadata[<key>]=<value>`; any other name is unknown.
    fn metadata(&mut self, name: &str, value: &str) {
        let key = name.strip_prefix(METADATA_PARAMETER_PREFIX).or_else(|| {
            name.strip_prefix("metadata[")
                .and_then(|k| k.strip_suffix(']'))
        });
        match key {
            Some(key) => self.metadata_filter(name, key, value),
            None => self.fail(name, "extra_forbidden", "unknown query parameter"),
        }
    }

    fn metadata_filter(&mut self, name: &str, key: &str, value: &str) {
        if !valid_metadata_key(key) {
            self.fail(
                name,
                "invalid_key",
                "metadata keys are 1..=64 of [A-Za-z0-9._:-]",
            );
        } else if self.q.metadata.contains_key(key) {
            // One key twice, in any spelling: which value was meant is not ours to guess.
            self.fail(name, "multiple_values", "give each metadata key once");
        } else {
            self.q.metadata.insert(key.to_string(), value.to_string());
        }
    }

    /// Checks the parameters against each other and settles the defaults that depend on
    /// others.
    fn finish(mut self) -> Result<ListQuery, ApiError> {
        // `include_revoked=false` is what leaving it out means (generated clients send
        // every default): only `true` conflicts with `status`.
        if self.q.statuses.is_some() && self.include_revoked == Some(true) {
            self.fail(
                "include_revoked",
                "mutually_exclusive",
                "give status or include_revoked, not both",
            );
        }
        let mut q = self.q;
        q.include_revoked = self.include_revoked.unwrap_or_default();
        // Names read naturally A to Z; times newest first.
        q.descending = self.order.unwrap_or(q.sort != SortField::Name);
        let mut errors = self.errors;
        for (w, after, before) in [
            (&q.created, "created_after", "created_before"),
            (&q.expires, "expires_after", "expires_before"),
            (&q.last_used, "last_used_after", "last_used_before"),
        ] {
            if let (Some(a), Some(b)) = (w.after, w.before) {
                if a >= b {
                    errors.push(FieldError::new(
                        loc(&["query", before]),
                        "range",
                        format!("must be later than {after}"),
                    ));
                }
            }
        }
        if let Some(c) = &q.cursor {
            if c.is_empty() && errors.is_empty() {
                return Err(ApiError::InvalidCursor);
            }
        }
        if errors.is_empty() {
            Ok(q)
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

/// The values of a comma-separated, repeatable parameter, blanks dropped.
fn list<'a>(values: &'a [&'a str]) -> impl Iterator<Item = &'a str> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Refuses query parameters outside `allowed` (a typo must not be silently ignored).
pub(crate) fn reject_query(req: &Request, allowed: &[&str]) -> Result<(), ApiError> {
    let params = req.query_string_parameters();
    let unknown: BTreeSet<&str> = params
        .iter()
        .map(|(k, _)| k)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(ApiError::Validation(
        unknown
            .into_iter()
            .map(|k| {
                FieldError::new(
                    loc(&["query", k]),
                    "extra_forbidden",
                    "unknown query parameter",
                )
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests;
