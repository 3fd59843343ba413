//! Lifecycle events: every committed change of a token, read from the table's DynamoDB
//! stream, published to an EventBridge bus (see `docs/lifecycle-events.md`).
//!
//! | change written | `detail-type` | `actor` | `reason` | `time` |
//! | --- | --- | --- | --- | --- |
//! | token record inserted | `TokenCreated` | `created_by` | null | `created_at` |
//! | `name`, `description` or `metadata` changed | `TokenUpdated` | `updated_by` | null | `updated_at` |
//! | `rotated_to` set | `TokenRotated` | `updated_by` | null | `updated_at` |
//! | `status` became `revoked` | `TokenRevoked` | `revoked_by` (and `via`: `revoked_via`) | `revocation_reason` | `revoked_at` |
//! | `status` went from `active` to `expired` | `TokenExpired` | [`EXPIRY_ACTOR`] | null | `expires_at` |
//! | token record deleted | `TokenPurged` | [`TTL_ACTOR`] for a TTL deletion, else null | null | stream time |
//! | usage notice `threshold` written | `TokenQuotaThreshold` | [`QUOTA_ACTOR`] | null | when the count was reached |
//! | usage notice `exhausted` written | `TokenQuotaExhausted` | [`QUOTA_ACTOR`] | null | when the count was reached |
//!
//! The authorizer writes a usage notice once per token, quota period and kind (a conditional
//! `PutItem`), so each of the quota events is published once per period (redeliveries carry
//! the same `event_id`). Their `name` is null and `scopes` empty (the authorizer does not
//! read the record), and their `quota` is `{limit, period, used, period_label, period_ends}`;
//! it is null on every other event.
//!
//! One write can be several changes: a rotation without grace period is `TokenRotated`
//! then `TokenRevoked`. A write that changes none of these (the authorizer's last-use
//! record) is no event, and neither is any write to a credential, counter or idempotency
//! record. A detail is built from chosen fields of the token record only: never a secret, a
//! hash, the secret's display `prefix`, nor a whole image.

pub mod eventbridge;
pub mod publish;
pub mod stream;

use ring::digest::{digest, SHA256};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::model::{StoredStatus, TokenItem};
use crate::support::time::{self, Timestamp};

pub use eventbridge::{EventBridgeSink, PublisherConfig};
pub use publish::{
    publish, publish_until, BatchResponse, EntryError, EventSink, ItemFailure, NotAStreamEvent,
    SinkError, MAX_ENTRIES,
};
pub use stream::{Change, Malformed, StreamRecord};

/// The `actor` of `TokenExpired`: the scheduled sweeper that stores the expiry.
pub const EXPIRY_ACTOR: &str = "tokens-expire";
/// The `actor` of a `TokenPurged` that DynamoDB's TTL caused.
pub const TTL_ACTOR: &str = "dynamodb-ttl";
/// The `actor` of the quota events: the authorizer that counted the request.
pub const QUOTA_ACTOR: &str = "tokens-authorizer";

/// What happened to a token; its `detail-type` is [`Kind::detail_type`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Created (also the new token of a rotation, with `rotated_from`).
    Created,
    /// Name, description or metadata changed.
    Updated,
    /// Replaced by a new token (`rotated_to`); revoked at `grace_ends_at`.
    Rotated,
    /// Revoked (also a rotated token whose grace period ended, reason `rotated`).
    Revoked,
    /// Past its expiry, stored as expired by the sweeper.
    Expired,
    /// Deleted from the table (retention elapsed).
    Purged,
    /// Used the configured share of its quota in a period (`QUOTA_WARNING_PERCENT`).
    QuotaThreshold,
    /// Used all of its quota in a period.
    QuotaExhausted,
}

impl Kind {
    /// The EventBridge `detail-type`.
    pub fn detail_type(self) -> &'static str {
        match self {
            Self::Created => "TokenCreated",
            Self::Updated => "TokenUpdated",
            Self::Rotated => "TokenRotated",
            Self::Revoked => "TokenRevoked",
            Self::Expired => "TokenExpired",
            Self::Purged => "TokenPurged",
            Self::QuotaThreshold => "TokenQuotaThreshold",
            Self::QuotaExhausted => "TokenQuotaExhausted",
        }
    }
}

/// The `detail` of a lifecycle event. Every field is always present (`null` when unset).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detail {
    /// Deterministic per stream record and kind: redeliveries carry the same id.
    pub event_id: Uuid,
    /// Tenant.
    pub tenant_id: String,
    /// The token.
    pub token_id: Uuid,
    /// Its owner.
    pub user_id: String,
    /// Who made the change, when known.
    pub actor: Option<String>,
    /// Revocation reason (`TokenRevoked` only).
    pub reason: Option<String>,
    /// Where a revocation came from (`TokenRevoked` only): the record's `revoked_via`,
    /// e.g. `event:<source>@<account>`; null for the HTTP API. `actor` is what the request
    /// claimed; this is what its transport vouched for.
    pub via: Option<String>,
    /// When the change took effect.
    #[serde(with = "time::rfc3339")]
    pub time: Timestamp,
    /// The token's name after the change (null on the quota events).
    pub name: Option<String>,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Its stored status after the change.
    pub status: StoredStatus,
    /// Its expiry (for a token in its rotation grace period: the end of that period).
    #[serde(with = "time::rfc3339::option")]
    pub expires_at: Option<Timestamp>,
    /// The token it replaced.
    pub rotated_from: Option<Uuid>,
    /// The token that replaced it.
    pub rotated_to: Option<Uuid>,
    /// When the old token of a rotation stops working (`TokenRotated` only).
    #[serde(with = "time::rfc3339::option")]
    pub grace_ends_at: Option<Timestamp>,
    /// The fields a `TokenUpdated` changed, of `name`, `description`, `metadata`,
    /// `rate_limit`, `quota`.
    pub changed: Vec<&'static str>,
    /// The quota and how much of it was used (the quota events only).
    pub quota: Option<QuotaDetail>,
}

/// The `quota` of a `TokenQuotaThreshold` or `TokenQuotaExhausted`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaDetail {
    /// The quota's limit.
    pub limit: u64,
    /// `day`, `month` or `total`.
    pub period: &'static str,
    /// Requests counted in the period when the notice was written.
    pub used: u64,
    /// The period's label: `2026-12-08`, `2026-12` or `total`.
    pub period_label: String,
    /// When the period ends and the quota refills (null: a total quota, never).
    #[serde(with = "time::rfc3339::option")]
    pub period_ends: Option<Timestamp>,
}

/// One event to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleEvent {
    /// What happened.
    pub kind: Kind,
    /// The event's `detail`.
    pub detail: Detail,
}

impl LifecycleEvent {
    /// The `detail` as the JSON text EventBridge takes.
    pub fn detail_json(&self) -> String {
        serde_json::to_string(&self.detail).expect("a detail serializes")
    }
}

/// The events a stream record stands for, in the order they happened (none for writes
/// that are not lifecycle changes).
pub fn events_of(record: &StreamRecord) -> Vec<LifecycleEvent> {
    let event = |kind: Kind, token: &TokenItem| LifecycleEvent {
        kind,
        detail: Detail {
            event_id: event_id(&record.event_id, kind),
            tenant_id: token.tenant_id.clone(),
            token_id: token.id,
            user_id: token.user_id.clone(),
            actor: None,
            reason: None,
            via: None,
            time: token.updated_at,
            name: Some(token.name.clone()),
            scopes: token.scopes.clone(),
            status: token.status,
            expires_at: token.expires_at,
            rotated_from: token.rotated_from,
            rotated_to: token.rotated_to,
            grace_ends_at: None,
            changed: Vec::new(),
            quota: None,
        },
    };
    match &record.change {
        Change::NotAToken => Vec::new(),
        Change::Noticed(n) => quota_event(record, n).into_iter().collect(),
        Change::Inserted { new } => {
            let mut e = event(Kind::Created, new);
            e.detail.actor = Some(new.created_by.clone());
            e.detail.time = new.created_at;
            vec![e]
        }
        Change::Modified { old, new } => {
            let mut events = Vec::new();
            let changed = changed_fields(old, new);
            if !changed.is_empty() {
                let mut e = event(Kind::Updated, new);
                e.detail.actor = new.updated_by.clone();
                e.detail.changed = changed;
                events.push(e);
            }
            if old.rotated_to.is_none() && new.rotated_to.is_some() {
                let mut e = event(Kind::Rotated, new);
                e.detail.actor = new.updated_by.clone();
                e.detail.grace_ends_at = new.revoked_at;
                events.push(e);
            }
            if old.status != StoredStatus::Revoked && new.status == StoredStatus::Revoked {
                let mut e = event(Kind::Revoked, new);
                e.detail.actor = new.revoked_by.clone();
                e.detail.reason = new.revocation_reason.clone();
                e.detail.via = new.revoked_via.clone();
                e.detail.time = new.revoked_at.unwrap_or(new.updated_at);
                events.push(e);
            }
            if old.status == StoredStatus::Active && new.status == StoredStatus::Expired {
                let mut e = event(Kind::Expired, new);
                e.detail.actor = Some(EXPIRY_ACTOR.to_string());
                e.detail.time = new.expires_at.unwrap_or(new.updated_at);
                events.push(e);
            }
            events
        }
        Change::Removed { old, at, by_ttl } => {
            let mut e = event(Kind::Purged, old);
            e.detail.actor = by_ttl.then(|| TTL_ACTOR.to_string());
            e.detail.time = *at;
            vec![e]
        }
    }
}

/// The event of a usage notice (`None` for a kind this version does not know).
fn quota_event(record: &StreamRecord, n: &stream::Notice) -> Option<LifecycleEvent> {
    let kind = match n.kind.as_str() {
        "threshold" => Kind::QuotaThreshold,
        "exhausted" => Kind::QuotaExhausted,
        _ => return None,
    };
    let label = n.period.trim_start_matches(['d', 'm']).to_string();
    Some(LifecycleEvent {
        kind,
        detail: Detail {
            event_id: event_id(&record.event_id, kind),
            tenant_id: n.tenant_id.clone(),
            token_id: n.token_id,
            user_id: n.user_id.clone(),
            actor: Some(QUOTA_ACTOR.to_string()),
            reason: None,
            via: None,
            time: n.at,
            name: None,
            scopes: Vec::new(),
            status: StoredStatus::Active,
            expires_at: None,
            rotated_from: None,
            rotated_to: None,
            grace_ends_at: None,
            changed: Vec::new(),
            quota: Some(QuotaDetail {
                limit: n.quota.limit,
                period: n.quota.period.as_str(),
                used: n.used,
                period_label: label,
                period_ends: n.period_ends,
            }),
        },
    })
}

/// The client-editable fields that differ between `old` and `new`.
fn changed_fields(old: &TokenItem, new: &TokenItem) -> Vec<&'static str> {
    [
        ("name", old.name != new.name),
        ("description", old.description != new.description),
        ("metadata", old.metadata != new.metadata),
        ("rate_limit", old.rate_limit != new.rate_limit),
        ("quota", old.quota != new.quota),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect()
}

/// A UUIDv8 from the SHA-256 of the stream record's `eventID` and the event's kind: the
/// same for every redelivery of a record, different for each event of one record.
pub fn event_id(stream_event_id: &str, kind: Kind) -> Uuid {
    let hash = digest(
        &SHA256,
        format!("{stream_event_id}/{}", kind.detail_type()).as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash.as_ref()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::tests::item;

    fn record(change: Change) -> StreamRecord {
        StreamRecord {
            event_id: "c81e728d9d4c2f636f067f89cc14862c".into(),
            sequence_number: "100".into(),
            change,
        }
    }

    fn modified(old: TokenItem, new: TokenItem) -> Change {
        Change::Modified {
            old: Box::new(old),
            new: Box::new(new),
        }
    }

    fn kinds(change: Change) -> Vec<Kind> {
        events_of(&record(change))
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    #[test]
    fn a_last_use_record_and_other_items_are_no_event() {
        let old = item();
        let mut new = old.clone();
        new.last_used_at = Some(time::now());
        new.last_used_ip = Some("203.0.113.7".into());
        assert_eq!(kinds(modified(old, new)), []);
        assert_eq!(kinds(Change::NotAToken), []);
    }

    #[test]
    fn a_rotation_without_grace_period_is_rotated_then_revoked() {
        let old = item();
        let at = time::parse("2026-01-10T00:00:00Z").unwrap();
        let new = TokenItem {
            status: StoredStatus::Revoked,
            rotated_to: Some(Uuid::now_v7()),
            revoked_at: Some(at),
            revoked_by: Some("bob".into()),
            revocation_reason: Some("rotated".into()),
            updated_at: at,
            updated_by: Some("bob".into()),
            ..old.clone()
        };
        let events = events_of(&record(modified(old, new)));
        let kinds: Vec<Kind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [Kind::Rotated, Kind::Revoked]);
        assert_eq!(events[1].detail.reason.as_deref(), Some("rotated"));
        assert_ne!(events[0].detail.event_id, events[1].detail.event_id);
    }

    #[test]
    fn a_revocation_carries_its_provenance_beside_the_claimed_actor() {
        let old = item();
        let at = time::parse("2026-01-10T00:00:00Z").unwrap();
        let new = TokenItem {
            status: StoredStatus::Revoked,
            revoked_at: Some(at),
            revoked_by: Some("okta-scim".into()),
            revoked_via: Some("event:com.example.idp@123456789012".into()),
            updated_at: at,
            ..old.clone()
        };
        let events = events_of(&record(modified(old, new)));
        assert_eq!(events.len(), 1);
        let detail = serde_json::to_value(&events[0].detail).unwrap();
        assert_eq!(detail["actor"], "okta-scim");
        assert_eq!(detail["via"], "event:com.example.idp@123456789012");
        let created = events_of(&record(Change::Inserted { new: item() }));
        assert_eq!(
            serde_json::to_value(&created[0].detail).unwrap()["via"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn only_client_editable_fields_make_an_update() {
        let old = item();
        let new = TokenItem {
            description: Some("deploys".into()),
            metadata: [("team".to_string(), "infra".to_string())].into(),
            updated_by: Some("alice".into()),
            ..old.clone()
        };
        let events = events_of(&record(modified(old, new)));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, Kind::Updated);
        assert_eq!(events[0].detail.changed, ["description", "metadata"]);
    }

    #[test]
    fn an_expiry_is_stamped_with_the_moment_the_token_expired() {
        let old = item();
        let new = TokenItem {
            status: StoredStatus::Expired,
            ..old.clone()
        };
        let events = events_of(&record(modified(old.clone(), new)));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, Kind::Expired);
        assert_eq!(events[0].detail.time, old.expires_at.unwrap());
        assert_eq!(events[0].detail.actor.as_deref(), Some(EXPIRY_ACTOR));
    }

    #[test]
    fn event_ids_are_stable_per_record_and_kind() {
        let a = event_id("c81e728d9d4c2f636f067f89cc14862c", Kind::Revoked);
        assert_eq!(
            a,
            event_id("c81e728d9d4c2f636f067f89cc14862c", Kind::Revoked)
        );
        assert_ne!(
            a,
            event_id("c81e728d9d4c2f636f067f89cc14862c", Kind::Rotated)
        );
        assert_ne!(
            a,
            event_id("eccbc87e4b5ce2fe28308fd9f2a7baf3", Kind::Revoked)
        );
        assert_eq!(a.get_version(), Some(uuid::Version::Custom));
    }
}
