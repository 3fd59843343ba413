//! What a list request asks for (validated by the HTTP layer) and what it answers.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use crate::domain::model::{Status, StoredStatus, TokenItem};
use crate::store::schema::SortField;
use crate::store::Page;
use crate::support::time::Timestamp;

/// A time window; both ends exclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Strictly after.
    pub after: Option<Timestamp>,
    /// Strictly before.
    pub before: Option<Timestamp>,
}

impl Window {
    pub(super) fn is_set(&self) -> bool {
        self.after.is_some() || self.before.is_some()
    }

    /// Whether `t` is inside. `None` (never set) is outside any set window.
    pub(super) fn contains(&self, t: Option<Timestamp>) -> bool {
        match t {
            None => !self.is_set(),
            Some(t) => self.after.is_none_or(|a| t > a) && self.before.is_none_or(|b| t < b),
        }
    }
}

/// Validated list parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Page size.
    pub limit: u32,
    /// A `next_cursor` or `prev_cursor`.
    pub cursor: Option<String>,
    /// Explicit status filter.
    pub statuses: Option<BTreeSet<Status>>,
    /// Without a status filter, include revoked tokens.
    pub include_revoked: bool,
    /// Owner filter.
    pub user_id: Option<String>,
    /// Only these ids.
    pub token_ids: Option<Vec<Uuid>>,
    /// Case-insensitive substring of the name (stored lowercased).
    pub name: Option<String>,
    /// Tokens holding this scope.
    pub scope: Option<String>,
    /// Every pair must match.
    pub metadata: BTreeMap<String, String>,
    /// Only tokens with (`true`) or without (`false`) a rate limit or a quota.
    pub limited: Option<bool>,
    /// Creation window.
    pub created: Window,
    /// Expiry window (tokens that never expire are after every time).
    pub expires: Window,
    /// Last-use window (never-used tokens are in no window).
    pub last_used: Window,
    /// Sort field.
    pub sort: SortField,
    /// Largest first.
    pub descending: bool,
    /// Add the exact count of matches.
    pub include_total: bool,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            limit: 50,
            cursor: None,
            statuses: None,
            include_revoked: false,
            user_id: None,
            token_ids: None,
            name: None,
            scope: None,
            metadata: BTreeMap::new(),
            limited: None,
            created: Window::default(),
            expires: Window::default(),
            last_used: Window::default(),
            sort: SortField::CreatedAt,
            descending: true,
            include_total: false,
        }
    }
}

impl ListQuery {
    /// The statuses the query asks for.
    pub(super) fn wanted_statuses(&self) -> BTreeSet<Status> {
        match &self.statuses {
            Some(s) => s.clone(),
            None if self.include_revoked => {
                [Status::Active, Status::Expired, Status::Revoked].into()
            }
            None => [Status::Active, Status::Expired].into(),
        }
    }

    /// Whether a token of `tenant` (and of `owner`, when set) matches every filter at `now`.
    pub(super) fn matches(
        &self,
        t: &TokenItem,
        tenant: &str,
        owner: Option<&str>,
        now: Timestamp,
    ) -> bool {
        t.tenant_id == tenant
            && owner.is_none_or(|o| t.user_id == o)
            && self.wanted_statuses().contains(&t.status_at(now))
            && self
                .name
                .as_deref()
                .is_none_or(|n| t.name.to_lowercase().contains(n))
            && self
                .scope
                .as_deref()
                .is_none_or(|s| t.scopes.iter().any(|x| x == s))
            && self
                .metadata
                .iter()
                .all(|(k, v)| t.metadata.get(k) == Some(v))
            && self.limited.is_none_or(|l| t.is_limited() == l)
            && (!self.created.is_set() || self.created.contains(Some(t.created_at)))
            && (!self.expires.is_set()
                || self
                    .expires
                    .contains(t.expires_at.or(Some(Timestamp::MAX_UTC))))
            && (!self.last_used.is_set() || self.last_used.contains(t.last_used_at))
    }
}

/// The stored partition label of a status.
pub(super) fn stored(s: Status) -> StoredStatus {
    match s {
        Status::Active => StoredStatus::Active,
        Status::Expired => StoredStatus::Expired,
        Status::Revoked => StoredStatus::Revoked,
    }
}

/// What reading cost, from DynamoDB's own answers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadStats {
    /// Requests sent (Query, BatchGetItem, GetItem).
    pub requests: u32,
    /// Items DynamoDB returned to us (and charged for).
    pub items_read: usize,
    /// Read capacity units consumed.
    pub capacity: f64,
}

impl ReadStats {
    /// Adds one `Query`'s answer.
    pub(super) fn add_page(&mut self, page: &Page) {
        self.requests += 1;
        self.items_read += page.examined();
        self.capacity += page.capacity;
    }

    /// Adds what another read cost.
    pub(super) fn add(&mut self, other: ReadStats) {
        self.requests += other.requests;
        self.items_read += other.items_read;
        self.capacity += other.capacity;
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct ListResult {
    /// The tokens, in the requested order.
    pub items: Vec<TokenItem>,
    /// Cursor of the following page.
    pub next_cursor: Option<String>,
    /// Cursor of the preceding page.
    pub prev_cursor: Option<String>,
    /// Exact count of all matches, when asked for and countable within budget.
    pub total: Option<u64>,
    /// Whether the filtered count stopped at [`COUNT_BUDGET`](crate::domain::limits::COUNT_BUDGET).
    pub total_capped: bool,
    /// Cost of this page.
    pub stats: ReadStats,
    /// What is left of the quota of the page's tokens that have one.
    pub quota_remaining: crate::service::QuotaRemaining,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::time;

    #[test]
    fn windows_exclude_their_ends_and_unset_times() {
        let t = time::parse("2026-01-01T00:00:00Z").unwrap();
        let w = Window {
            after: Some(t),
            before: None,
        };
        assert!(!w.contains(Some(t)));
        assert!(w.contains(Some(t + chrono::Duration::milliseconds(1))));
        assert!(!w.contains(None));
        assert!(Window::default().contains(None));
    }
}
