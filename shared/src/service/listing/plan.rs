//! The plan of a query: which index and partitions serve it, and which of its filters are
//! key conditions there (the others are checked on each item read).

use std::collections::BTreeSet;

use crate::domain::model::Status;
use crate::service::listing::query::{stored, ListQuery, Window};
use crate::store::schema::{self, Index, Partition, SortField};
use crate::store::KeyRange;
use crate::support::time;

/// Which index partitions a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    pub index: Index,
    pub partitions: Vec<String>,
    pub range: KeyRange,
    /// The index partition key already restricts to the owner.
    pub owner_keyed: bool,
}

/// Inclusive sort-key bounds for a window on the sort field (see `SortField::key_of`).
fn key_range(sort: SortField, w: &Window) -> KeyRange {
    // `<time>#~` is above every key at `time`; `<time>#` is below every key at `time`.
    let lower = w.after.map(|t| format!("{}#~", time::format(&t)));
    let upper = w.before.map(|t| format!("{}#", time::format(&t)));
    match sort {
        // Never-used tokens (`!#id`) are in no window: start above them when bounded.
        SortField::LastUsedAt if w.is_set() => KeyRange {
            lower: lower.or_else(|| Some("0".into())),
            upper,
        },
        _ => KeyRange { lower, upper },
    }
}

/// The plan of `q` for `tenant`'s tokens, or only `owner`'s.
pub(super) fn plan(q: &ListQuery, tenant: &str, owner: Option<&str>) -> Plan {
    let statuses = q.wanted_statuses();
    let labels: Vec<&str> = statuses.iter().map(|s| stored(*s).as_str()).collect();
    let window = match q.sort {
        SortField::CreatedAt => &q.created,
        SortField::ExpiresAt => &q.expires,
        SortField::LastUsedAt => &q.last_used,
        SortField::Name => &Window::default(),
    };
    let range = key_range(q.sort, window);
    let live = [Status::Active, Status::Expired];
    let by_group = q.sort == SortField::CreatedAt && live.iter().all(|s| statuses.contains(s));
    let (index, partition, partition_labels): (Index, Partition, Vec<&str>) =
        match (q.sort, owner, by_group) {
            (SortField::CreatedAt, Some(_), true) => {
                (schema::BY_OWNER, Partition::OwnerGroup, groups(&statuses))
            }
            (SortField::CreatedAt, Some(_), false) => {
                (schema::BY_OWNER_STATUS, Partition::OwnerStatus, labels)
            }
            (SortField::CreatedAt, None, true) => {
                (schema::BY_TENANT, Partition::TenantGroup, groups(&statuses))
            }
            (SortField::CreatedAt, None, false) => {
                (schema::BY_STATUS, Partition::TenantStatus, labels)
            }
            (SortField::Name, _, _) => (schema::BY_STATUS_NAME, Partition::TenantStatus, labels),
            (SortField::ExpiresAt, _, _) => {
                (schema::BY_STATUS_EXPIRY, Partition::TenantStatus, labels)
            }
            (SortField::LastUsedAt, _, _) => {
                (schema::BY_STATUS_LAST_USED, Partition::TenantStatus, labels)
            }
        };
    let user = owner.unwrap_or_default();
    Plan {
        index,
        partitions: partition_labels
            .into_iter()
            .map(|l| schema::partition_value(partition, tenant, user, l))
            .collect(),
        range,
        owner_keyed: matches!(partition, Partition::OwnerGroup | Partition::OwnerStatus),
    }
}

fn groups(statuses: &BTreeSet<Status>) -> Vec<&'static str> {
    let mut g = vec!["live"];
    if statuses.contains(&Status::Revoked) {
        g.push("revoked");
    }
    g
}

/// Whether a query has filters that are not key conditions of its plan (besides the
/// computed-expiry check, which only drops tokens the sweeper has not moved yet).
pub(super) fn has_residual_filters(q: &ListQuery, plan: &Plan, owner: Option<&str>) -> bool {
    let keyed_window = |sort| q.sort == sort;
    (owner.is_some() && !plan.owner_keyed)
        || q.name.is_some()
        || q.scope.is_some()
        || !q.metadata.is_empty()
        || q.limited.is_some()
        || (q.created.is_set() && !keyed_window(SortField::CreatedAt))
        || (q.expires.is_set() && !keyed_window(SortField::ExpiresAt))
        || (q.last_used.is_set() && !keyed_window(SortField::LastUsedAt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lists_read_one_live_partition() {
        let q = ListQuery::default();
        let p = plan(&q, "acme", Some("alice"));
        assert_eq!(
            (p.index, p.partitions.clone()),
            (schema::BY_OWNER, vec!["acme#alice#live".to_string()])
        );
        let p = plan(&q, "acme", None);
        assert_eq!(
            (p.index, p.partitions.clone()),
            (schema::BY_TENANT, vec!["acme#live".to_string()])
        );
        assert!(!has_residual_filters(&q, &p, None));
    }

    #[test]
    fn status_filters_are_partitions() {
        let q = ListQuery {
            statuses: Some([Status::Revoked].into()),
            ..Default::default()
        };
        let p = plan(&q, "acme", Some("bob"));
        assert_eq!(
            (p.index, p.partitions),
            (
                schema::BY_OWNER_STATUS,
                vec!["acme#bob#revoked".to_string()]
            )
        );
        let q = ListQuery {
            include_revoked: true,
            ..Default::default()
        };
        assert_eq!(
            plan(&q, "acme", None).partitions,
            ["acme#live", "acme#revoked"]
        );
    }

    #[test]
    fn other_sorts_use_status_partitions_and_filter_the_owner() {
        let q = ListQuery {
            sort: SortField::Name,
            ..Default::default()
        };
        let p = plan(&q, "acme", Some("bob"));
        assert_eq!(p.index, schema::BY_STATUS_NAME);
        assert_eq!(p.partitions, ["acme#active", "acme#expired"]);
        assert!(has_residual_filters(&q, &p, Some("bob")));
        assert!(!has_residual_filters(&q, &p, None));
    }

    #[test]
    fn windows_on_the_sort_field_are_key_ranges() {
        let t = time::parse("2026-01-01T00:00:00Z").unwrap();
        let q = ListQuery {
            created: Window {
                after: Some(t),
                before: None,
            },
            ..Default::default()
        };
        let p = plan(&q, "acme", None);
        assert_eq!(p.range.lower.as_deref(), Some("2026-01-01T00:00:00.000Z#~"));
        assert!(!has_residual_filters(&q, &p, None));
        let q = ListQuery {
            sort: SortField::Name,
            ..q
        };
        assert!(has_residual_filters(&q, &plan(&q, "acme", None), None));
    }
}
