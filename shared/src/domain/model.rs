//! The token as stored in DynamoDB and as shown to clients.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::usage::{Quota, RateLimit};
use crate::support::time::{self, Timestamp};

/// The lifecycle state written to the table. The expiry sweeper moves `active` tokens past
/// `expires_at` to `expired`; until it does, reads still compute `expired` from `expires_at`,
/// so a token reads expired (and fails verification) the moment it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredStatus {
    /// Usable until `expires_at` (if any).
    Active,
    /// Past `expires_at`, moved here by the sweeper.
    Expired,
    /// Revoked for good.
    Revoked,
}

impl StoredStatus {
    /// The value stored in `status` and in the status index keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// The status a client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Usable now.
    Active,
    /// Past `expires_at`.
    Expired,
    /// Revoked.
    Revoked,
}

/// A token record as stored (beside its index keys). It holds no secret material: the hash
/// lives in the separate credential item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenItem {
    /// Token id (UUIDv7, so ids also sort by creation time).
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: String,
    /// User the token acts for.
    pub user_id: String,
    /// Human-readable name, 1..=128 characters.
    pub name: String,
    /// Optional longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Non-secret display form of the secret's start, e.g. `tkn_4fGh2kLp`.
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Stored lifecycle state.
    pub status: StoredStatus,
    /// User who created the token.
    pub created_by: String,
    /// Creation time.
    #[serde(with = "time::rfc3339")]
    pub created_at: Timestamp,
    /// Last change (creation or revocation).
    #[serde(with = "time::rfc3339")]
    pub updated_at: Timestamp,
    /// Last successful verification, if recorded (at most once a minute).
    #[serde(
        default,
        with = "time::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_used_at: Option<Timestamp>,
    /// Source address of that verification, when the authorizer saw one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_ip: Option<String>,
    /// Expiry; `None` never expires.
    #[serde(
        default,
        with = "time::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<Timestamp>,
    /// Revocation time.
    #[serde(
        default,
        with = "time::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub revoked_at: Option<Timestamp>,
    /// User who revoked it: for a revocation event, the `actor` the request claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    /// Where a revocation came from, as the transport vouches for it (unlike `revoked_by`):
    /// `event:<source>@<account>` for an EventBridge revocation event, `sqs:<queue>` for a
    /// bare request on the revocation queue; `None` for the HTTP API (whose `revoked_by` is
    /// the authenticated caller) and rotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_via: Option<String>,
    /// Reason given at revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
    /// Client-defined string labels.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// CIDR blocks requests must come from (empty: anywhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_ips: Vec<String>,
    /// The token this one replaced by rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_from: Option<Uuid>,
    /// The token that replaced this one by rotation. Until its grace period ends (its
    /// `expires_at`) this token still works; then it reads as revoked with reason `rotated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_to: Option<Uuid>,
    /// Who made the last change a client asked for (create, update, rotate, revoke): the
    /// `actor` of lifecycle events. Not part of the client view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// Verified requests per window, enforced by the authorizer; `None`: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Verified requests per period, enforced by the authorizer; `None`: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
}

impl TokenItem {
    /// The status as of `now`.
    pub fn status_at(&self, now: Timestamp) -> Status {
        match self.status {
            StoredStatus::Revoked => Status::Revoked,
            StoredStatus::Expired => Status::Expired,
            StoredStatus::Active if self.expires_at.is_some_and(|e| e <= now) => {
                if self.rotated_to.is_some() {
                    Status::Revoked
                } else {
                    Status::Expired
                }
            }
            StoredStatus::Active => Status::Active,
        }
    }

    /// An upper bound of the bytes of this token's JSON view: every string a client chose
    /// counted twice (JSON escapes a quote or backslash as two bytes; control characters
    /// are refused on input), plus the fixed fields.
    pub fn json_size_bound(&self) -> usize {
        /// Field names, ids, times, status, punctuation and `null`s of one view.
        const FIXED: usize = 1024;
        let strings = self.name.len()
            + self.description.as_ref().map_or(0, String::len)
            + self.prefix.len()
            + self.user_id.len()
            + self.created_by.len()
            + self.last_used_ip.as_ref().map_or(0, String::len)
            + self.revoked_by.as_ref().map_or(0, String::len)
            + self.revoked_via.as_ref().map_or(0, String::len)
            + self.revocation_reason.as_ref().map_or(0, String::len)
            + self.scopes.iter().map(|s| s.len() + 3).sum::<usize>()
            + self.allowed_ips.iter().map(|s| s.len() + 3).sum::<usize>()
            // Two limits and the remaining quota: field names and 20-digit numbers.
            + 160
            + self
                .metadata
                .iter()
                .map(|(k, v)| k.len() + v.len() + 6)
                .sum::<usize>();
        FIXED + 2 * strings
    }

    /// The client's view of this token as of `now`.
    pub fn view(&self, now: Timestamp) -> TokenView<'_> {
        TokenView {
            id: self.id,
            name: &self.name,
            description: self.description.as_deref(),
            prefix: &self.prefix,
            scopes: &self.scopes,
            status: self.status_at(now),
            user_id: &self.user_id,
            created_by: &self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_used_at: self.last_used_at,
            last_used_ip: self.last_used_ip.as_deref(),
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            revoked_by: self.revoked_by.as_deref(),
            revoked_via: self.revoked_via.as_deref(),
            revocation_reason: self.revocation_reason.as_deref(),
            metadata: &self.metadata,
            allowed_ips: &self.allowed_ips,
            rotated_from: self.rotated_from,
            rotated_to: self.rotated_to,
            rate_limit: self.rate_limit,
            quota: self.quota,
            quota_remaining: None,
        }
    }

    /// Whether the token has a rate limit or a quota (the `limited` filter).
    pub fn is_limited(&self) -> bool {
        self.rate_limit.is_some() || self.quota.is_some()
    }
}

/// The token object of the HTTP API. Every field is always present (`null` when unset).
#[derive(Debug, Serialize)]
pub struct TokenView<'a> {
    /// Token id.
    pub id: Uuid,
    /// Name.
    pub name: &'a str,
    /// Description or null.
    pub description: Option<&'a str>,
    /// Non-secret display prefix.
    pub prefix: &'a str,
    /// Granted scopes.
    pub scopes: &'a [String],
    /// `active`, `expired` or `revoked`, computed at response time.
    pub status: Status,
    /// Owner.
    pub user_id: &'a str,
    /// Creator.
    pub created_by: &'a str,
    /// Creation time.
    #[serde(with = "time::rfc3339")]
    pub created_at: Timestamp,
    /// Last change.
    #[serde(with = "time::rfc3339")]
    pub updated_at: Timestamp,
    /// Last use or null.
    #[serde(with = "time::rfc3339::option")]
    pub last_used_at: Option<Timestamp>,
    /// Source address of the last use, or null.
    pub last_used_ip: Option<&'a str>,
    /// Expiry or null.
    #[serde(with = "time::rfc3339::option")]
    pub expires_at: Option<Timestamp>,
    /// Revocation time or null.
    #[serde(with = "time::rfc3339::option")]
    pub revoked_at: Option<Timestamp>,
    /// Revoker or null.
    pub revoked_by: Option<&'a str>,
    /// Where the revocation came from (`event:<source>@<account>`, `sqs:<queue>`), or null.
    pub revoked_via: Option<&'a str>,
    /// Revocation reason or null.
    pub revocation_reason: Option<&'a str>,
    /// Labels.
    pub metadata: &'a BTreeMap<String, String>,
    /// CIDR blocks requests must come from (empty: anywhere).
    pub allowed_ips: &'a [String],
    /// The token this one replaced, or null.
    pub rotated_from: Option<Uuid>,
    /// The token that replaced this one, or null.
    pub rotated_to: Option<Uuid>,
    /// Requests per window, or null.
    pub rate_limit: Option<RateLimit>,
    /// Requests per period, or null.
    pub quota: Option<Quota>,
    /// What is left of the quota in the current period; null without a quota. It lives in
    /// the token's counter, not the record: [`TokenItem::view`] leaves it null and the
    /// readers (`TokenService::get`, the list) fill it in.
    pub quota_remaining: Option<u64>,
}

/// The `201` body of a creation: the token plus its secret, shown this once.
#[derive(Debug, Serialize)]
pub struct CreatedView<'a> {
    /// The token object.
    #[serde(flatten)]
    pub token: TokenView<'a>,
    /// The full secret. It is not stored and cannot be shown again.
    pub secret: &'a str,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn item() -> TokenItem {
        let t = time::parse("2026-01-01T00:00:00Z").unwrap();
        TokenItem {
            id: Uuid::now_v7(),
            tenant_id: "acme".into(),
            user_id: "alice".into(),
            name: "ci".into(),
            description: None,
            prefix: "tkn_abcdefgh".into(),
            scopes: vec!["tokens:read".into()],
            status: StoredStatus::Active,
            created_by: "alice".into(),
            created_at: t,
            updated_at: t,
            last_used_at: None,
            last_used_ip: None,
            expires_at: Some(time::parse("2026-02-01T00:00:00Z").unwrap()),
            revoked_at: None,
            revoked_by: None,
            revoked_via: None,
            revocation_reason: None,
            metadata: BTreeMap::new(),
            allowed_ips: vec![],
            rotated_from: None,
            rotated_to: None,
            updated_by: None,
            rate_limit: None,
            quota: None,
        }
    }

    #[test]
    fn status_is_computed_at_read_time() {
        let mut t = item();
        let expiry = t.expires_at.unwrap();
        assert_eq!(
            t.status_at(expiry - chrono::Duration::milliseconds(1)),
            Status::Active
        );
        assert_eq!(t.status_at(expiry), Status::Expired);
        t.status = StoredStatus::Revoked;
        assert_eq!(t.status_at(expiry), Status::Revoked);
    }

    #[test]
    fn a_rotated_token_reads_revoked_once_its_grace_period_ends() {
        let mut t = item();
        t.rotated_to = Some(Uuid::now_v7());
        let grace_end = t.expires_at.unwrap();
        assert_eq!(
            t.status_at(grace_end - chrono::Duration::milliseconds(1)),
            Status::Active
        );
        assert_eq!(t.status_at(grace_end), Status::Revoked);
    }

    #[test]
    fn the_size_bound_holds_for_the_largest_token() {
        let mut t = item();
        t.name = "\"".repeat(128);
        t.description = Some("𝔸".repeat(1024));
        t.metadata = (0..20)
            .map(|i| (format!("{i:0>64}"), "\\".repeat(512)))
            .collect();
        t.scopes = (0..100).map(|i| format!("scope:{i:0>58}")).collect();
        t.allowed_ips = vec!["2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/128".into(); 32];
        t.revocation_reason = Some("\"".repeat(512));
        let exact = serde_json::to_vec(&t.view(time::now())).unwrap().len();
        assert!(
            exact <= t.json_size_bound(),
            "{exact} > {}",
            t.json_size_bound()
        );
        let plain = item();
        let exact = serde_json::to_vec(&plain.view(time::now())).unwrap().len();
        assert!(exact <= plain.json_size_bound());
    }

    #[test]
    fn the_view_has_every_field_and_no_tenant() {
        let t = item();
        let json = serde_json::to_value(t.view(time::now())).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for k in [
            "id",
            "name",
            "description",
            "prefix",
            "scopes",
            "status",
            "user_id",
            "created_by",
            "created_at",
            "updated_at",
            "last_used_at",
            "last_used_ip",
            "expires_at",
            "revoked_at",
            "revoked_by",
            "revoked_via",
            "revocation_reason",
            "metadata",
            "allowed_ips",
            "rotated_from",
            "rotated_to",
            "rate_limit",
            "quota",
            "quota_remaining",
        ] {
            assert!(keys.contains(&k), "missing {k}");
        }
        assert_eq!(keys.len(), 24);
        assert_eq!(json["created_at"], "2026-01-01T00:00:00.000Z");
        assert_eq!(json["last_used_at"], serde_json::Value::Null);
    }
}
