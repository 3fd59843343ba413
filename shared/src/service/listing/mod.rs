//! `GET /tokens`: parameters, the plan (which index partitions to read, which filters are key
//! conditions), and the executor (a k-way merge of partitions under a read budget, with
//! cursors both ways). `docs/listing.md` has the indexes and costs in full.
//!
//! Every plan reads index partitions sorted by the requested sort key, so one cursor position
//! (a sort key value, which ends in the token id) resumes every partition of the plan.
//!
//! | file | holds |
//! | --- | --- |
//! | `query.rs` | [`ListQuery`], [`Window`], [`ListResult`], [`ReadStats`]; the filters a token matches |
//! | `cursor.rs` | cursors (direction and position), bound to the query's fingerprint |
//! | `plan.rs` | the index, partitions and key range that serve a query |
//! | `read.rs` | what every read of a request shares; the merge of a plan's partitions |
//! | `memory.rs` | `token_ids`, and one user's tokens sorted by name, expiry or last use |
//! | `page.rs` | the page: [`MAX_PAGE_BYTES`], cursors both ways |
//! | `count.rs` | `total`: counters, or the matches read again |
//!
//! | query | reads |
//! | --- | --- |
//! | `sort=created_at`, tenant (admin) or one user | `by_tenant` / `by_owner` (live, + revoked), or `by_status` / `by_owner_status` for other status sets: one partition per group or status, merged |
//! | other sorts, tenant (admin) | `by_status_name` / `_expiry` / `_last_used`, one partition per status, merged |
//! | other sorts, one user | every token of the user's `by_owner_status` partitions in the asked statuses, ordered in memory |
//! | `token_ids` | one `BatchGetItem`, filtered and ordered in memory |
//! | `include_total_count` | the counter shards (+ the sweeper's backlog), or the matches read again |
//!
//! Worst case, items read by one request (`B` the read budget, `C` [`COUNT_BUDGET`], `p`
//! the partitions of the plan, `n` the user's tokens in the asked statuses):
//!
//! | plan | items read |
//! | --- | --- |
//! | key conditions only | `p × (limit + 1)` |
//! | residual filters (`name`, `scope`, `metadata`, windows off the sort field) | `B` |
//! | one user, sorted by name, expiry or last use | `min(n, B)` (a 422 naming `sort` past `B`) |
//! | `token_ids` | 100 |
//! | count, status and owner only | 8 counter shards + the backlog (for one user: 1 item of the tenant's, then at most `C` of the user's) |
//! | count, other filters | `C` |
//!
//! Invariant: a request limited to one user (every caller without `tokens:admin`, and an
//! admin's `user_id=`) reads only that user's partitions, but for the one item that tells
//! whether the tenant has a sweeper backlog.
//!
//! [`COUNT_BUDGET`]: crate::domain::limits::COUNT_BUDGET

mod count;
mod cursor;
mod memory;
mod page;
mod plan;
mod query;
mod read;

pub use page::MAX_PAGE_BYTES;
pub use query::{ListQuery, ListResult, ReadStats, Window};

use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use crate::domain::scope::{TOKENS_ADMIN, TOKENS_READ};
use crate::store::schema::SortField;
use crate::store::TokenStore;
use crate::support::cursor::{CursorBinding, CursorCodec};
use crate::support::time;

use cursor::{fingerprint, Direction, ListCursors};
use read::{Found, ListContext, Read};

/// Runs a list query for a caller.
pub async fn list<S: TokenStore>(
    store: &S,
    cursors: &CursorCodec,
    read_budget: usize,
    caller: &Principal,
    q: &ListQuery,
) -> Result<ListResult, ApiError> {
    let owner = owner_of(caller, q)?;
    let owner = owner.as_deref();
    let query_text = fingerprint(q, owner);
    let cursors = ListCursors {
        codec: cursors,
        binding: CursorBinding {
            tenant_id: &caller.tenant_id,
            user_id: &caller.user_id,
            query: &query_text,
        },
    };
    let from = cursors.open(q.cursor.as_deref())?;
    let cx = ListContext {
        store,
        query: q,
        tenant: &caller.tenant_id,
        owner,
        now: time::now(),
    };
    let limit = q.limit as usize;
    let mut stats = ReadStats::default();
    let read = Read {
        // Read in the display order for forward pages, against it for backward ones.
        descending: q.descending == (from.direction == Direction::Forward),
        position: from.after.as_deref(),
        want: limit + 1,
        budget: read_budget,
        filtered: false,
    };
    let found = find(&cx, read, &mut stats).await?;
    let page = page::page(found, limit, q.sort, &from, &cursors);
    let (total, total_capped) = if q.include_total {
        count::count(&cx, &mut stats).await?
    } else {
        (None, false)
    };
    tracing::debug!(
        requests = stats.requests,
        items_read = stats.items_read,
        capacity = stats.capacity,
        "list page"
    );
    Ok(ListResult {
        items: page.items,
        next_cursor: page.next_cursor,
        prev_cursor: page.prev_cursor,
        total,
        total_capped,
        stats,
        quota_remaining: Default::default(),
    })
}

/// The owner the caller may list: its own tokens, or, for an admin, any user's or (`None`)
/// the tenant's.
fn owner_of(caller: &Principal, q: &ListQuery) -> Result<Option<String>, ApiError> {
    if !caller.can_read() {
        return Err(ApiError::MissingScope(TOKENS_READ));
    }
    match (&q.user_id, caller.is_admin()) {
        (Some(u), false) if *u != caller.user_id => Err(ApiError::MissingScope(TOKENS_ADMIN)),
        (Some(u), _) => Ok(Some(u.clone())),
        (None, true) => Ok(None),
        (None, false) => Ok(Some(caller.user_id.clone())),
    }
}

/// The page's matches (and one more), by the read that serves the query.
async fn find<S: TokenStore>(
    cx: &ListContext<'_, S>,
    read: Read<'_>,
    stats: &mut ReadStats,
) -> Result<Found, ApiError> {
    let q = cx.query;
    match (cx.owner, &q.token_ids) {
        (Some(owner), None) if q.sort != SortField::CreatedAt => {
            memory::owner_sorted(cx, owner, &read, stats).await
        }
        (_, Some(ids)) => memory::by_ids(cx, ids, &read, stats).await,
        (_, None) => {
            let plan = plan::plan(q, cx.tenant, cx.owner);
            let read = Read {
                filtered: plan::has_residual_filters(q, &plan, cx.owner),
                ..read
            };
            read::scan(cx, &plan, &read, stats).await
        }
    }
}
