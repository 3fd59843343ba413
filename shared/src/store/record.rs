//! The token record's codec: the attributes a record is written with, and reading a record
//! straight from the attribute map DynamoDB returns.
//!
//! A list page decodes up to 101 records. `serde_dynamo` first copies each map into a map
//! of its own (hashing every key again, index keys included) and then walks it; that was
//! most of the list handler's own work (`docs/benchmarks.md`, handler overhead). The reader
//! takes each field out of the SDK's map once. The writer stays `serde_dynamo::to_item`; the
//! tests hold the reader to it, and the struct literal below fails to compile if a field is
//! added to [`TokenItem`] without being read here.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

use crate::domain::model::{StoredStatus, TokenItem};
use crate::domain::usage::{Quota, QuotaPeriod, RateLimit};
use crate::store::error::StoreError;
use crate::store::schema;
use crate::support::time::{self, Timestamp};

/// A record's attributes as written: the token, its key, every index key, and the TTL.
pub fn record_attributes(
    item: &TokenItem,
    purge_at: Option<Timestamp>,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut attrs: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    attrs.insert(schema::PK.into(), s(schema::token_pk(item.id)));
    for (k, v) in schema::index_keys(item) {
        attrs.insert(k.into(), s(v));
    }
    if let Some(t) = purge_at {
        attrs.insert(schema::PURGE_AT.into(), epoch(&t));
    }
    Ok(attrs)
}

/// A string attribute.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Metadata as a map attribute, in the credential and a `PATCH` alike.
pub(crate) fn metadata_attribute(metadata: &BTreeMap<String, String>) -> AttributeValue {
    AttributeValue::M(metadata.iter().map(|(k, v)| (k.clone(), s(v))).collect())
}

/// A time as a number of seconds since the epoch (the TTL attribute's format).
pub(crate) fn epoch(t: &Timestamp) -> AttributeValue {
    AttributeValue::N(t.timestamp().to_string())
}

/// Decodes a token record; attributes it does not know (the key, index keys, the TTL) are
/// ignored. The error names the field.
pub fn token_item(mut item: HashMap<String, AttributeValue>) -> Result<TokenItem, String> {
    let mut f = Fields(&mut item);
    Ok(TokenItem {
        id: f.uuid("id")?,
        tenant_id: f.string("tenant_id")?,
        user_id: f.string("user_id")?,
        name: f.string("name")?,
        description: f.opt_string("description")?,
        prefix: f.string("prefix")?,
        scopes: f.strings("scopes")?.ok_or_else(|| missing("scopes"))?,
        status: f.status("status")?,
        created_by: f.string("created_by")?,
        created_at: f.time("created_at")?,
        updated_at: f.time("updated_at")?,
        last_used_at: f.opt_time("last_used_at")?,
        last_used_ip: f.opt_string("last_used_ip")?,
        expires_at: f.opt_time("expires_at")?,
        revoked_at: f.opt_time("revoked_at")?,
        revoked_by: f.opt_string("revoked_by")?,
        revoked_via: f.opt_string("revoked_via")?,
        revocation_reason: f.opt_string("revocation_reason")?,
        metadata: f.map("metadata")?,
        allowed_ips: f.strings("allowed_ips")?.unwrap_or_default(),
        rotated_from: f.opt_uuid("rotated_from")?,
        rotated_to: f.opt_uuid("rotated_to")?,
        updated_by: f.opt_string("updated_by")?,
        rate_limit: f.rate_limit("rate_limit")?,
        quota: f.quota("quota")?,
    })
}

/// A rate limit as stored (`serde_dynamo`'s form of [`RateLimit`]), in the record and the
/// credential alike.
pub(crate) fn rate_limit_attribute(r: &RateLimit) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("limit".into(), AttributeValue::N(r.limit.to_string())),
        (
            "window_seconds".into(),
            AttributeValue::N(r.window_seconds.to_string()),
        ),
    ]))
}

/// A quota as stored (`serde_dynamo`'s form of [`Quota`]).
pub(crate) fn quota_attribute(q: &Quota) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("limit".into(), AttributeValue::N(q.limit.to_string())),
        ("period".into(), s(q.period.as_str())),
    ]))
}

fn missing(field: &str) -> String {
    format!("token record: {field} is missing")
}

fn wrong(field: &str, expected: &str) -> String {
    format!("token record: {field} is not {expected}")
}

/// The attributes not yet read.
struct Fields<'a>(&'a mut HashMap<String, AttributeValue>);

impl Fields<'_> {
    /// The attribute, `None` when absent or `NULL`.
    fn take(&mut self, field: &str) -> Option<AttributeValue> {
        self.0
            .remove(field)
            .filter(|v| !matches!(v, AttributeValue::Null(_)))
    }

    fn opt_string(&mut self, field: &str) -> Result<Option<String>, String> {
        match self.take(field) {
            None => Ok(None),
            Some(AttributeValue::S(s)) => Ok(Some(s)),
            Some(_) => Err(wrong(field, "a string")),
        }
    }

    fn string(&mut self, field: &str) -> Result<String, String> {
        self.opt_string(field)?.ok_or_else(|| missing(field))
    }

    fn opt_uuid(&mut self, field: &str) -> Result<Option<Uuid>, String> {
        self.opt_string(field)?
            .map(|s| Uuid::parse_str(&s).map_err(|_| wrong(field, "a UUID")))
            .transpose()
    }

    fn uuid(&mut self, field: &str) -> Result<Uuid, String> {
        self.opt_uuid(field)?.ok_or_else(|| missing(field))
    }

    fn opt_time(&mut self, field: &str) -> Result<Option<Timestamp>, String> {
        self.opt_string(field)?
            .map(|s| time::parse(&s).ok_or_else(|| wrong(field, "an RFC 3339 time")))
            .transpose()
    }

    fn time(&mut self, field: &str) -> Result<Timestamp, String> {
        self.opt_time(field)?.ok_or_else(|| missing(field))
    }

    fn status(&mut self, field: &str) -> Result<StoredStatus, String> {
        match self.string(field)?.as_str() {
            "active" => Ok(StoredStatus::Active),
            "expired" => Ok(StoredStatus::Expired),
            "revoked" => Ok(StoredStatus::Revoked),
            _ => Err(wrong(field, "a status")),
        }
    }

    /// A list of strings (`serde_dynamo` writes `Vec<String>` as `L`; a string set is read
    /// too).
    fn strings(&mut self, field: &str) -> Result<Option<Vec<String>>, String> {
        let text = |v: AttributeValue| match v {
            AttributeValue::S(s) => Ok(s),
            _ => Err(wrong(field, "a list of strings")),
        };
        match self.take(field) {
            None => Ok(None),
            Some(AttributeValue::L(list)) => list
                .into_iter()
                .map(text)
                .collect::<Result<_, _>>()
                .map(Some),
            Some(AttributeValue::Ss(set)) => Ok(Some(set)),
            Some(_) => Err(wrong(field, "a list of strings")),
        }
    }

    /// A map attribute's members, `None` when absent.
    fn members(&mut self, field: &str) -> Result<Option<HashMap<String, AttributeValue>>, String> {
        match self.take(field) {
            None => Ok(None),
            Some(AttributeValue::M(m)) => Ok(Some(m)),
            Some(_) => Err(wrong(field, "a map")),
        }
    }

    fn rate_limit(&mut self, field: &str) -> Result<Option<RateLimit>, String> {
        let Some(m) = self.members(field)? else {
            return Ok(None);
        };
        let r = RateLimit {
            limit: number(&m, "limit").ok_or_else(|| wrong(field, "a rate limit"))?,
            window_seconds: number(&m, "window_seconds")
                .ok_or_else(|| wrong(field, "a rate limit"))?,
        };
        r.valid()
            .then_some(Some(r))
            .ok_or_else(|| wrong(field, "a rate limit"))
    }

    fn quota(&mut self, field: &str) -> Result<Option<Quota>, String> {
        let Some(m) = self.members(field)? else {
            return Ok(None);
        };
        let period = match m.get("period") {
            Some(AttributeValue::S(p)) => QuotaPeriod::parse(p),
            _ => None,
        };
        let q = Quota {
            limit: number(&m, "limit").ok_or_else(|| wrong(field, "a quota"))?,
            period: period.ok_or_else(|| wrong(field, "a quota"))?,
        };
        q.valid()
            .then_some(Some(q))
            .ok_or_else(|| wrong(field, "a quota"))
    }

    /// A map of strings; absent is empty.
    fn map(&mut self, field: &str) -> Result<BTreeMap<String, String>, String> {
        match self.take(field) {
            None => Ok(BTreeMap::new()),
            Some(AttributeValue::M(m)) => m
                .into_iter()
                .map(|(k, v)| match v {
                    AttributeValue::S(s) => Ok((k, s)),
                    _ => Err(wrong(field, "a map of strings")),
                })
                .collect(),
            Some(_) => Err(wrong(field, "a map of strings")),
        }
    }
}

/// A whole number member of a map attribute.
fn number(m: &HashMap<String, AttributeValue>, key: &str) -> Option<u64> {
    match m.get(key) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record with every optional field set.
    fn full() -> TokenItem {
        let at = |s: &str| time::parse(s).unwrap();
        TokenItem {
            description: Some("ci deploys".into()),
            last_used_at: Some(at("2026-03-01T10:00:00.000000Z")),
            last_used_ip: Some("203.0.113.9".into()),
            expires_at: Some(at("2027-01-01T00:00:00.000000Z")),
            revoked_at: Some(at("2026-04-01T00:00:00.000000Z")),
            revoked_by: Some("root".into()),
            revoked_via: Some("event:com.example.idp@123456789012".into()),
            revocation_reason: Some("rotated — ünïcode".into()),
            metadata: [("team".to_string(), "payments".to_string())].into(),
            allowed_ips: vec!["10.0.0.0/8".into(), "2001:db8::/32".into()],
            rotated_from: Some(Uuid::now_v7()),
            rotated_to: Some(Uuid::now_v7()),
            updated_by: Some("root".into()),
            rate_limit: Some(RateLimit {
                limit: 100,
                window_seconds: 60,
            }),
            quota: Some(Quota {
                limit: 10_000,
                period: QuotaPeriod::Month,
            }),
            status: StoredStatus::Revoked,
            ..crate::domain::model::tests::item()
        }
    }

    #[test]
    fn reads_what_the_store_writes_every_field_set_or_none() {
        for item in [full(), crate::domain::model::tests::item()] {
            let written = record_attributes(&item, Some(time::now())).unwrap();
            assert_eq!(token_item(written).unwrap(), item);
        }
        let mut expired = crate::domain::model::tests::item();
        expired.status = StoredStatus::Expired;
        let written = record_attributes(&expired, None).unwrap();
        assert_eq!(token_item(written).unwrap(), expired);
    }

    #[test]
    fn the_limits_are_written_as_serde_dynamo_writes_them() {
        let item = full();
        let written = record_attributes(&item, None).unwrap();
        assert_eq!(
            written["rate_limit"],
            rate_limit_attribute(&item.rate_limit.unwrap())
        );
        assert_eq!(written["quota"], quota_attribute(&item.quota.unwrap()));
    }

    #[test]
    fn agrees_with_serde_dynamo_on_every_stored_form() {
        let mut written = record_attributes(&full(), None).unwrap();
        // `NULL` reads as absent, like `serde(default)`; a string set as a list.
        written.insert("description".into(), AttributeValue::Null(true));
        written.insert(
            "allowed_ips".into(),
            AttributeValue::Ss(vec!["10.0.0.0/8".into()]),
        );
        written.remove("metadata");
        let ours = token_item(written.clone()).unwrap();
        assert_eq!(ours.description, None);
        assert_eq!(ours.allowed_ips, ["10.0.0.0/8"]);
        assert!(ours.metadata.is_empty());
        written.insert(
            "allowed_ips".into(),
            AttributeValue::L(vec![AttributeValue::S("10.0.0.0/8".into())]),
        );
        let theirs: TokenItem = serde_dynamo::from_item(written.clone()).unwrap();
        assert_eq!(token_item(written).unwrap(), theirs);
    }

    #[test]
    fn a_missing_or_mistyped_field_is_named() {
        let written = || record_attributes(&full(), None).unwrap();
        let with = |field: &str, value: Option<AttributeValue>| {
            let mut item = written();
            match value {
                Some(v) => item.insert(field.into(), v),
                None => item.remove(field),
            };
            token_item(item).unwrap_err()
        };
        let n = || Some(AttributeValue::N("1".into()));
        let s = |v: &str| Some(AttributeValue::S(v.into()));
        for (field, value, error) in [
            ("id", None, "id is missing"),
            ("id", s("not-a-uuid"), "id is not a UUID"),
            ("name", n(), "name is not a string"),
            ("scopes", None, "scopes is missing"),
            (
                "scopes",
                s("tokens:read"),
                "scopes is not a list of strings",
            ),
            ("status", s("paused"), "status is not a status"),
            (
                "created_at",
                s("yesterday"),
                "created_at is not an RFC 3339 time",
            ),
            ("expires_at", n(), "expires_at is not a string"),
            ("metadata", s("x"), "metadata is not a map of strings"),
            ("rotated_to", s("x"), "rotated_to is not a UUID"),
            ("revoked_via", n(), "revoked_via is not a string"),
            ("rate_limit", s("100/60"), "rate_limit is not a map"),
            (
                "rate_limit",
                Some(quota_attribute(&Quota {
                    limit: 1,
                    period: QuotaPeriod::Day,
                })),
                "rate_limit is not a rate limit",
            ),
            (
                "quota",
                Some(rate_limit_attribute(&RateLimit {
                    limit: 1,
                    window_seconds: 1,
                })),
                "quota is not a quota",
            ),
        ] {
            assert_eq!(
                with(field, value),
                format!("token record: {error}"),
                "{field}"
            );
        }
    }
}
