//! `total`: the exact number of matches. O(1) from the counters when only status and owner
//! filter (plus the sweeper's backlog, usually empty); otherwise by reading the matches, at
//! most [`COUNT_BUDGET`] items (past that the count is capped: no `total`).

use crate::domain::error::ApiError;
use crate::domain::limits::COUNT_BUDGET;
use crate::domain::model::Status;
use crate::service::listing::memory::by_ids;
use crate::service::listing::plan::plan;
use crate::service::listing::query::{stored, ListQuery, ReadStats};
use crate::service::listing::read::{scan, ListContext, Read};
use crate::store::schema::{self, Partition, SortField};
use crate::store::{KeyRange, PageRequest, StoreError, TokenStore};
use crate::support::time::{self, Timestamp};

/// The count of `cx.query`'s matches, or `(None, true)` when capped.
pub(super) async fn count<S: TokenStore>(
    cx: &ListContext<'_, S>,
    stats: &mut ReadStats,
) -> Result<(Option<u64>, bool), ApiError> {
    let q = cx.query;
    let plain = q.token_ids.is_none()
        && q.name.is_none()
        && q.scope.is_none()
        && q.metadata.is_empty()
        && !q.created.is_set()
        && !q.expires.is_set()
        && !q.last_used.is_set();
    if plain {
        from_counters(cx, stats).await
    } else {
        by_reading(cx, stats).await
    }
}

/// The counters of the asked statuses, corrected by the sweeper's backlog.
async fn from_counters<S: TokenStore>(
    cx: &ListContext<'_, S>,
    stats: &mut ReadStats,
) -> Result<(Option<u64>, bool), ApiError> {
    let statuses = cx.query.wanted_statuses();
    // Tokens past expiry that the sweeper has not moved yet count as expired (or, at the
    // end of a rotation's grace period, revoked), not active: read that backlog (usually
    // empty) beside the counters unless every status is wanted.
    let mut lag_stats = ReadStats::default();
    let backlog = async {
        if statuses.len() == 3 {
            return Ok(Some(Lag::default()));
        }
        lagging(cx, &mut lag_stats).await
    };
    let (counts, lag) =
        futures_util::future::join(cx.store.counts(cx.tenant, cx.owner), backlog).await;
    let (counts, lag) = (counts?, lag?);
    stats.add(lag_stats);
    stats.requests += 1;
    let Some(lag) = lag else {
        return Ok((None, true));
    };
    let mut total: i64 = statuses.iter().map(|s| counts.of(stored(*s))).sum();
    let wants = |s| statuses.contains(&s);
    let moved = |to: Status, n: usize| match (wants(Status::Active), wants(to)) {
        (true, false) => -(n as i64),
        (false, true) => n as i64,
        _ => 0,
    };
    total += moved(Status::Expired, lag.expired) + moved(Status::Revoked, lag.revoked);
    Ok((Some(total.max(0) as u64), false))
}

/// Reads the matches, at most [`COUNT_BUDGET`] items.
async fn by_reading<S: TokenStore>(
    cx: &ListContext<'_, S>,
    stats: &mut ReadStats,
) -> Result<(Option<u64>, bool), ApiError> {
    let q = cx.query;
    // A count does not depend on the order: for one user's tokens, count in creation
    // order, which the owner's own partitions serve.
    let counting = ListQuery {
        cursor: None,
        sort: if cx.owner.is_some() {
            SortField::CreatedAt
        } else {
            q.sort
        },
        ..q.clone()
    };
    let cx = ListContext {
        query: &counting,
        ..*cx
    };
    let read = Read {
        descending: true,
        position: None,
        want: usize::MAX,
        budget: COUNT_BUDGET,
        filtered: true,
    };
    let found = if let Some(ids) = &q.token_ids {
        by_ids(&cx, ids, &read, stats).await?
    } else {
        let plan = plan(&counting, cx.tenant, cx.owner);
        // The budget counts this read's items only.
        let mut own = ReadStats::default();
        let found = scan(&cx, &plan, &read, &mut own).await?;
        stats.add(own);
        found
    };
    Ok(match found.stopped_at {
        Some(_) => (None, true),
        None => (Some(found.items.len() as u64), false),
    })
}

/// The sweeper's backlog: stored-active tokens already past expiry.
#[derive(Debug, Default)]
struct Lag {
    /// Past their expiry: they read expired.
    expired: usize,
    /// Rotated, past their grace period: they read revoked.
    revoked: usize,
}

/// Counts the sweeper's backlog, for exact counts. For the tenant: the range of its active
/// partition by expiry that is already past (usually empty). For one user, whose partition
/// has no expiry order: first one item of that tenant range, to learn whether there is any
/// backlog at all (usually not: done); only then every active token of the user, at most
/// [`COUNT_BUDGET`] (`None` past that: the count is capped). So a user's count never reads
/// more than one item that is not the user's, whatever the tenant's backlog.
async fn lagging<S: TokenStore>(
    cx: &ListContext<'_, S>,
    stats: &mut ReadStats,
) -> Result<Option<Lag>, StoreError> {
    let (store, now) = (cx.store, cx.now);
    let tenant_active = schema::partition_value(Partition::TenantStatus, cx.tenant, "", "active");
    let past = KeyRange {
        lower: None,
        upper: Some(format!("{}$", time::format(&now))),
    };
    let tenant_backlog = |limit| PageRequest {
        index: schema::BY_STATUS_EXPIRY,
        partition: &tenant_active,
        range: &past,
        ascending: true,
        limit,
        start_after: None,
    };
    let Some(user) = cx.owner else {
        return past_due(store, tenant_backlog(1000), usize::MAX, now, stats).await;
    };
    let probe = store.page(&tenant_backlog(1)).await?;
    stats.add_page(&probe);
    if probe.examined() == 0 {
        return Ok(Some(Lag::default()));
    }
    let own_active = schema::partition_value(Partition::OwnerStatus, cx.tenant, user, "active");
    let every = KeyRange::default();
    let own = PageRequest {
        index: schema::BY_OWNER_STATUS,
        partition: &own_active,
        range: &every,
        ascending: true,
        limit: 1000,
        start_after: None,
    };
    past_due(store, own, COUNT_BUDGET, now, stats).await
}

/// The tokens past their expiry among those `first` and the pages after it read, reading
/// at most `budget` items (`None` past that).
async fn past_due<S: TokenStore>(
    store: &S,
    first: PageRequest<'_>,
    budget: usize,
    now: Timestamp,
    stats: &mut ReadStats,
) -> Result<Option<Lag>, StoreError> {
    let mut after: Option<String> = None;
    let mut lag = Lag::default();
    let mut read = 0;
    loop {
        if read >= budget {
            return Ok(None);
        }
        let page = store
            .page(&PageRequest {
                start_after: after.as_deref(),
                ..first
            })
            .await?;
        stats.add_page(&page);
        read += page.examined();
        for t in page
            .items
            .iter()
            .filter(|t| t.expires_at.is_some_and(|e| e <= now))
        {
            match t.rotated_to {
                Some(_) => lag.revoked += 1,
                None => lag.expired += 1,
            }
        }
        match (page.more, page.last_key) {
            (true, Some(last)) => after = Some(last),
            _ => return Ok(Some(lag)),
        }
    }
}
