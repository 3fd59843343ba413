//! `GET /tokens`: parameters, the plan (which index partitions to read, which filters are key
//! conditions), and the executor (a k-way merge of partitions under a read budget, with
//! cursors both ways).
//!
//! Every plan reads index partitions sorted by the requested sort key, so one cursor position
//! (a sort key value, which ends in the token id) resumes every partition of the plan.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use futures_util::future::try_join_all;
use uuid::Uuid;

use crate::domain::error::ApiError;
use crate::domain::limits::COUNT_BUDGET;
use crate::domain::model::{Status, StoredStatus, TokenItem};
use crate::domain::principal::Principal;
use crate::domain::scope::{TOKENS_ADMIN, TOKENS_READ};
use crate::store::schema::{self, Index, Partition, SortField};
use crate::store::{KeyRange, PageRequest, StoreError, TokenStore};
use crate::support::cursor::{CursorBinding, CursorCodec};
use crate::support::time::{self, Timestamp};

/// A time window; both ends exclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Strictly after.
    pub after: Option<Timestamp>,
    /// Strictly before.
    pub before: Option<Timestamp>,
}

impl Window {
    fn is_set(&self) -> bool {
        self.after.is_some() || self.before.is_some()
    }

    /// Whether `t` is inside. `None` (never set) is outside any set window.
    fn contains(&self, t: Option<Timestamp>) -> bool {
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
            created: Window::default(),
            expires: Window::default(),
            last_used: Window::default(),
            sort: SortField::CreatedAt,
            descending: true,
            include_total: false,
        }
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
    /// Whether the filtered count stopped at [`COUNT_BUDGET`].
    pub total_capped: bool,
    /// Cost of this page.
    pub stats: ReadStats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

/// Which index partitions a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    index: Index,
    partitions: Vec<String>,
    range: KeyRange,
    /// The index partition key already restricts to the owner.
    owner_keyed: bool,
}

/// The statuses a query asks for.
fn wanted_statuses(q: &ListQuery) -> BTreeSet<Status> {
    match &q.statuses {
        Some(s) => s.clone(),
        None if q.include_revoked => [Status::Active, Status::Expired, Status::Revoked].into(),
        None => [Status::Active, Status::Expired].into(),
    }
}

fn stored(s: Status) -> StoredStatus {
    match s {
        Status::Active => StoredStatus::Active,
        Status::Expired => StoredStatus::Expired,
        Status::Revoked => StoredStatus::Revoked,
    }
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

fn plan(q: &ListQuery, tenant: &str, owner: Option<&str>) -> Plan {
    let statuses = wanted_statuses(q);
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
fn has_residual_filters(q: &ListQuery, plan: &Plan, owner: Option<&str>) -> bool {
    let keyed_window = |sort| q.sort == sort;
    (owner.is_some() && !plan.owner_keyed)
        || q.name.is_some()
        || q.scope.is_some()
        || !q.metadata.is_empty()
        || (q.created.is_set() && !keyed_window(SortField::CreatedAt))
        || (q.expires.is_set() && !keyed_window(SortField::ExpiresAt))
        || (q.last_used.is_set() && !keyed_window(SortField::LastUsedAt))
}

/// Every filter, checked on one record.
fn matches(
    q: &ListQuery,
    t: &TokenItem,
    tenant: &str,
    owner: Option<&str>,
    now: Timestamp,
) -> bool {
    let statuses = wanted_statuses(q);
    t.tenant_id == tenant
        && owner.is_none_or(|o| t.user_id == o)
        && statuses.contains(&t.status_at(now))
        && q.name
            .as_deref()
            .is_none_or(|n| t.name.to_lowercase().contains(n))
        && q.scope
            .as_deref()
            .is_none_or(|s| t.scopes.iter().any(|x| x == s))
        && q.metadata.iter().all(|(k, v)| t.metadata.get(k) == Some(v))
        && (!q.created.is_set() || q.created.contains(Some(t.created_at)))
        && (!q.expires.is_set()
            || q.expires
                .contains(t.expires_at.or(Some(Timestamp::MAX_UTC))))
        && (!q.last_used.is_set() || q.last_used.contains(t.last_used_at))
}

/// The canonical text of everything that selects and orders results (not `limit`,
/// `cursor` or `include_total_count`): cursors are bound to it.
fn fingerprint(q: &ListQuery, owner: Option<&str>) -> String {
    let fmt = |w: &Window| {
        format!(
            "{}..{}",
            w.after.map(|t| time::format(&t)).unwrap_or_default(),
            w.before.map(|t| time::format(&t)).unwrap_or_default()
        )
    };
    let statuses: Vec<&str> = wanted_statuses(q)
        .iter()
        .map(|s| stored(*s).as_str())
        .collect();
    serde_json::json!({
        "v": 2,
        "owner": owner,
        "statuses": statuses,
        "ids": q.token_ids.as_ref().map(|ids| ids.iter().map(Uuid::to_string).collect::<Vec<_>>()),
        "name": q.name,
        "scope": q.scope,
        "metadata": q.metadata,
        "created": fmt(&q.created),
        "expires": fmt(&q.expires),
        "last_used": fmt(&q.last_used),
        "sort": q.sort.attribute(),
        "desc": q.descending,
    })
    .to_string()
}

/// One partition being read in order.
struct Stream {
    partition: String,
    buffer: VecDeque<TokenItem>,
    /// Where the next read starts: after the last item read, readable or not.
    resume_after: Option<String>,
    /// Where the read that filled `buffer` started.
    read_from: Option<String>,
    exhausted: bool,
}

/// Where to resume when the budget ran out before any readable item was examined (every
/// item read so far did not decode): the position no stream has read past with items still
/// to examine. `None` when some stream has not moved from where the request started.
fn unreadable_frontier(streams: &[Stream], descending: bool) -> Option<String> {
    let mut least: Option<String> = None;
    for s in streams
        .iter()
        .filter(|s| !(s.exhausted && s.buffer.is_empty()))
    {
        let at = if s.buffer.is_empty() {
            s.resume_after.clone()
        } else {
            s.read_from.clone()
        }?;
        let behind = |l: &String| if descending { at > *l } else { at < *l };
        if least.as_ref().is_none_or(behind) {
            least = Some(at);
        }
    }
    least
}

/// Runs a list query for a caller.
pub async fn list<S: TokenStore>(
    store: &S,
    cursors: &CursorCodec,
    read_budget: usize,
    caller: &Principal,
    q: &ListQuery,
) -> Result<ListResult, ApiError> {
    if !caller.can_read() {
        return Err(ApiError::MissingScope(TOKENS_READ));
    }
    let owner: Option<String> = match (&q.user_id, caller.is_admin()) {
        (Some(u), false) if *u != caller.user_id => {
            return Err(ApiError::MissingScope(TOKENS_ADMIN))
        }
        (Some(u), _) => Some(u.clone()),
        (None, true) => None,
        (None, false) => Some(caller.user_id.clone()),
    };
    let owner = owner.as_deref();
    let tenant = caller.tenant_id.as_str();
    let query_text = fingerprint(q, owner);
    let binding = CursorBinding {
        tenant_id: tenant,
        user_id: &caller.user_id,
        query: &query_text,
    };
    let (direction, position) = match &q.cursor {
        None => (Direction::Forward, None),
        Some(c) => {
            let opened = cursors
                .open(&binding, c)
                .map_err(|_| ApiError::InvalidCursor)?;
            let (dir, pos) = opened.split_at(1);
            let dir = match dir {
                ">" => Direction::Forward,
                "<" => Direction::Backward,
                _ => return Err(ApiError::InvalidCursor),
            };
            schema::id_from_sort_key(pos).ok_or(ApiError::InvalidCursor)?;
            (dir, Some(pos.to_string()))
        }
    };
    let seal = |dir: Direction, pos: &str| {
        let d = if dir == Direction::Forward { ">" } else { "<" };
        cursors.seal(&binding, &format!("{d}{pos}"))
    };
    let now = time::now();
    let limit = q.limit as usize;
    let mut stats = ReadStats::default();

    // Read in the display order for forward pages, against it for backward ones.
    let descending = q.descending == (direction == Direction::Forward);
    let (found, stopped_at) =
        if let (Some(owner), None, false) = (owner, &q.token_ids, q.sort == SortField::CreatedAt) {
            owner_sorted(
                store,
                q,
                tenant,
                owner,
                now,
                descending,
                position.as_deref(),
                limit + 1,
                read_budget,
                &mut stats,
            )
            .await?
        } else if let Some(ids) = &q.token_ids {
            by_ids(
                store,
                q,
                ids,
                tenant,
                owner,
                now,
                descending,
                position.as_deref(),
                limit + 1,
                &mut stats,
            )
            .await?
        } else {
            let plan = plan(q, tenant, owner);
            let filtered = has_residual_filters(q, &plan, owner);
            scan(
                store,
                q,
                &plan,
                filtered,
                tenant,
                owner,
                now,
                descending,
                position.as_deref(),
                limit + 1,
                read_budget,
                &mut stats,
            )
            .await?
        };
    let looked_ahead = found.len() > limit;
    let mut items = found;
    items.truncate(limit);
    // A page of the largest tokens could outgrow Lambda's 6 MB response: end it early.
    let fits = fitting(&items);
    let cut = fits < items.len();
    items.truncate(fits);
    let more_beyond = looked_ahead || cut || stopped_at.is_some();
    let sort_key = |t: &TokenItem| q.sort.key_of(t);
    // Where the next read in this direction resumes: after the last returned item, or after
    // the last examined one when the budget ran out before the page filled.
    let resume = match (items.len() == limit || cut, &stopped_at) {
        (true, _) => items.last().map(sort_key),
        (false, Some(p)) => Some(p.clone()),
        (false, None) => None,
    };
    if direction == Direction::Backward {
        items.reverse();
    }
    // Onward: further in the direction just read, when more lies there. Back: the other way,
    // from the page's edge nearest the cursor we came from (there is nothing back on page one).
    let onward = if more_beyond {
        resume.map(|p| seal(direction, &p))
    } else {
        None
    };
    let back = position.as_ref().map(|p| {
        let (edge, opposite) = match direction {
            Direction::Forward => (items.first(), Direction::Backward),
            Direction::Backward => (items.last(), Direction::Forward),
        };
        seal(opposite, &edge.map(sort_key).unwrap_or_else(|| p.clone()))
    });
    let (next_cursor, prev_cursor) = match direction {
        Direction::Forward => (onward, back),
        Direction::Backward => (back, onward),
    };
    let (total, total_capped) = if q.include_total {
        count(store, q, tenant, owner, now, &mut stats).await?
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
        items,
        next_cursor,
        prev_cursor,
        total,
        total_capped,
        stats,
    })
}

/// Most bytes of a page's items, as bounded by [`TokenItem::json_size_bound`]. The body is
/// escaped once more inside Lambda's response envelope (at most doubling it), and Lambda
/// refuses responses over 6 MB: 2.5 MiB keeps the worst case under that.
pub const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024 / 2;

/// How many of `items`, from the first, fit in [`MAX_PAGE_BYTES`] (always at least one:
/// a single token is far below it).
fn fitting(items: &[TokenItem]) -> usize {
    let mut bytes = 0;
    items
        .iter()
        .take_while(|t| {
            bytes += t.json_size_bound();
            bytes <= MAX_PAGE_BYTES
        })
        .count()
        .max(1)
        .min(items.len())
}

/// Reads the plan's partitions merged in sort order until `want` matches are found, the data
/// ends, or `budget` items have been read. Returns the matches and, when reading stopped
/// early, the sort key of the last item examined.
#[allow(clippy::too_many_arguments)]
async fn scan<S: TokenStore>(
    store: &S,
    q: &ListQuery,
    plan: &Plan,
    filtered: bool,
    tenant: &str,
    owner: Option<&str>,
    now: Timestamp,
    descending: bool,
    position: Option<&str>,
    want: usize,
    budget: usize,
    stats: &mut ReadStats,
) -> Result<(Vec<TokenItem>, Option<String>), ApiError> {
    let mut streams: Vec<Stream> = plan
        .partitions
        .iter()
        .map(|p| Stream {
            partition: p.clone(),
            buffer: VecDeque::new(),
            resume_after: position.map(str::to_string),
            read_from: position.map(str::to_string),
            exhausted: false,
        })
        .collect();
    let mut found: Vec<TokenItem> = Vec::new();
    // The last item examined: the last one found, or one filtered out after it. Its sort key
    // (a formatted string) is only needed when the budget ends the read.
    let mut skipped: Option<TokenItem> = None;
    let last_examined = |found: &[TokenItem], skipped: Option<TokenItem>| {
        skipped
            .as_ref()
            .or(found.last())
            .map(|t| plan.index.sort.key_of(t))
    };
    loop {
        // Refill every empty, unfinished stream (in parallel).
        let empty: Vec<usize> = (0..streams.len())
            .filter(|&i| streams[i].buffer.is_empty() && !streams[i].exhausted)
            .collect();
        if !empty.is_empty() {
            let left = budget.saturating_sub(stats.items_read);
            if left == 0 {
                let stopped_at = last_examined(&found, skipped)
                    .or_else(|| unreadable_frontier(&streams, descending));
                return Ok((found, stopped_at));
            }
            // Without residual filters every item read is returned: ask for exactly what is
            // still wanted. With them, read larger chunks within the budget.
            let chunk = if filtered {
                left.min(want.max(250))
            } else {
                (want - found.len()).min(left)
            };
            let chunk = chunk.clamp(1, 1000) as i32;
            let requests: Vec<PageRequest<'_>> = empty
                .iter()
                .map(|&i| PageRequest {
                    index: plan.index,
                    partition: &streams[i].partition,
                    range: &plan.range,
                    ascending: !descending,
                    limit: chunk,
                    start_after: streams[i].resume_after.as_deref(),
                })
                .collect();
            let pages = try_join_all(requests.iter().map(|r| store.page(r)))
                .await
                .map_err(ApiError::from)?;
            for (&i, page) in empty.iter().zip(pages) {
                stats.requests += 1;
                stats.items_read += page.examined();
                stats.capacity += page.capacity;
                let s = &mut streams[i];
                s.read_from = s.resume_after.clone();
                if page.last_key.is_some() {
                    s.resume_after = page.last_key;
                }
                s.exhausted = !page.more;
                s.buffer.extend(page.items);
            }
            continue;
        }
        // Every stream has a head or is finished: take the head that comes first.
        let head = (0..streams.len())
            .filter(|&i| !streams[i].buffer.is_empty())
            .min_by(|&a, &b| {
                let (ka, kb) = (
                    plan.index.sort.key_of(&streams[a].buffer[0]),
                    plan.index.sort.key_of(&streams[b].buffer[0]),
                );
                if descending {
                    kb.cmp(&ka)
                } else {
                    ka.cmp(&kb)
                }
            });
        let Some(i) = head else {
            return Ok((found, None));
        };
        let item = streams[i].buffer.pop_front().expect("a head");
        if matches(q, &item, tenant, owner, now) {
            skipped = None;
            found.push(item);
            if found.len() == want {
                return Ok((found, None));
            }
        } else {
            skipped = Some(item);
        }
    }
}

/// `token_ids`: one `BatchGetItem`, then the same filters and order in memory.
#[allow(clippy::too_many_arguments)]
async fn by_ids<S: TokenStore>(
    store: &S,
    q: &ListQuery,
    ids: &[Uuid],
    tenant: &str,
    owner: Option<&str>,
    now: Timestamp,
    descending: bool,
    position: Option<&str>,
    want: usize,
    stats: &mut ReadStats,
) -> Result<(Vec<TokenItem>, Option<String>), ApiError> {
    let items = store.batch_get(ids).await?;
    stats.requests += 1;
    stats.items_read += items.len();
    Ok(in_memory(
        q, items, tenant, owner, now, descending, position, want,
    ))
}

/// A user's tokens sorted by name, expiry or last use. The owner's index partitions are
/// sorted by creation only, and the tenant's would let one user's request read (and, with
/// a count, measure) everyone's tokens: so every token of the owner in the asked statuses
/// is read from the owner's own partitions, then filtered and ordered here. At most
/// `budget` items are read; a user with more gets a 422 naming `sort`.
#[allow(clippy::too_many_arguments)]
async fn owner_sorted<S: TokenStore>(
    store: &S,
    q: &ListQuery,
    tenant: &str,
    owner: &str,
    now: Timestamp,
    descending: bool,
    position: Option<&str>,
    want: usize,
    budget: usize,
    stats: &mut ReadStats,
) -> Result<(Vec<TokenItem>, Option<String>), ApiError> {
    let items = owner_tokens(store, q, tenant, owner, budget, stats).await?;
    Ok(in_memory(
        q,
        items,
        tenant,
        owner.into(),
        now,
        descending,
        position,
        want,
    ))
}

/// Every token of `owner` in the statuses `q` asks for, from the owner's status partitions;
/// 422 on `sort` past `budget` items read.
async fn owner_tokens<S: TokenStore>(
    store: &S,
    q: &ListQuery,
    tenant: &str,
    owner: &str,
    budget: usize,
    stats: &mut ReadStats,
) -> Result<Vec<TokenItem>, ApiError> {
    let mut items = Vec::new();
    for status in wanted_statuses(q) {
        let partition = schema::partition_value(
            Partition::OwnerStatus,
            tenant,
            owner,
            stored(status).as_str(),
        );
        let mut after: Option<String> = None;
        loop {
            let left = budget.saturating_sub(stats.items_read);
            if left == 0 {
                return Err(ApiError::field(
                    vec!["query".into(), "sort".into()],
                    "too_many_tokens",
                    format!(
                        "sorting one user's tokens by {} reads all of them, and this user has \
                         more than {budget} in the asked statuses: sort by created_at, or \
                         narrow the statuses",
                        q.sort.attribute().trim_end_matches("_sk")
                    ),
                ));
            }
            let page = store
                .page(&PageRequest {
                    index: schema::BY_OWNER_STATUS,
                    partition: &partition,
                    range: &KeyRange::default(),
                    ascending: true,
                    limit: left.min(1000) as i32,
                    start_after: after.as_deref(),
                })
                .await?;
            stats.requests += 1;
            stats.items_read += page.examined();
            stats.capacity += page.capacity;
            items.extend(page.items);
            match (page.more, page.last_key) {
                (true, Some(last)) => after = Some(last),
                _ => break,
            }
        }
    }
    Ok(items)
}

/// `items` filtered by `q`, ordered by its sort key, from after `position`, at most `want`.
#[allow(clippy::too_many_arguments)]
fn in_memory(
    q: &ListQuery,
    items: Vec<TokenItem>,
    tenant: &str,
    owner: Option<&str>,
    now: Timestamp,
    descending: bool,
    position: Option<&str>,
    want: usize,
) -> (Vec<TokenItem>, Option<String>) {
    let mut keyed: Vec<(String, TokenItem)> = items
        .into_iter()
        .filter(|t| matches(q, t, tenant, owner, now))
        .map(|t| (q.sort.key_of(&t), t))
        .collect();
    keyed.sort_by(|a, b| {
        if descending {
            b.0.cmp(&a.0)
        } else {
            a.0.cmp(&b.0)
        }
    });
    let found = keyed
        .into_iter()
        .filter(|(k, _)| match position {
            None => true,
            Some(p) if descending => k.as_str() < p,
            Some(p) => k.as_str() > p,
        })
        .map(|(_, t)| t)
        .take(want)
        .collect();
    (found, None)
}

/// The exact number of matches: O(1) from the counters when only status and owner filter,
/// otherwise by reading matches (at most [`COUNT_BUDGET`] items; `capped` when exceeded).
async fn count<S: TokenStore>(
    store: &S,
    q: &ListQuery,
    tenant: &str,
    owner: Option<&str>,
    now: Timestamp,
    stats: &mut ReadStats,
) -> Result<(Option<u64>, bool), ApiError> {
    let plain = q.token_ids.is_none()
        && q.name.is_none()
        && q.scope.is_none()
        && q.metadata.is_empty()
        && !q.created.is_set()
        && !q.expires.is_set()
        && !q.last_used.is_set();
    if plain {
        let statuses = wanted_statuses(q);
        // Tokens past expiry that the sweeper has not moved yet count as expired (or, at the
        // end of a rotation's grace period, revoked), not active: read that backlog (usually
        // empty) beside the counters unless every status is wanted.
        let mut lag_stats = ReadStats::default();
        let backlog = async {
            if statuses.len() == 3 {
                return Ok(Some(Lag::default()));
            }
            lagging(store, tenant, owner, now, &mut lag_stats).await
        };
        let (counts, lag) = futures_util::future::join(store.counts(tenant, owner), backlog).await;
        let (counts, lag) = (counts?, lag?);
        stats.requests += 1 + lag_stats.requests;
        stats.items_read += lag_stats.items_read;
        stats.capacity += lag_stats.capacity;
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
        return Ok((Some(total.max(0) as u64), false));
    }
    // A count does not depend on the order: for one user's tokens, count in creation
    // order, which the owner's own partitions serve.
    let counting = ListQuery {
        cursor: None,
        sort: if owner.is_some() {
            SortField::CreatedAt
        } else {
            q.sort
        },
        ..q.clone()
    };
    let (found, stopped) = if let Some(ids) = &q.token_ids {
        by_ids(
            store,
            &counting,
            ids,
            tenant,
            owner,
            now,
            true,
            None,
            usize::MAX,
            stats,
        )
        .await?
    } else {
        let plan = plan(&counting, tenant, owner);
        let mut own = ReadStats::default();
        let r = scan(
            store,
            &counting,
            &plan,
            true,
            tenant,
            owner,
            now,
            true,
            None,
            usize::MAX,
            COUNT_BUDGET,
            &mut own,
        )
        .await?;
        stats.requests += own.requests;
        stats.items_read += own.items_read;
        stats.capacity += own.capacity;
        r
    };
    Ok(match stopped {
        Some(_) => (None, true),
        None => (Some(found.len() as u64), false),
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
    store: &S,
    tenant: &str,
    owner: Option<&str>,
    now: Timestamp,
    stats: &mut ReadStats,
) -> Result<Option<Lag>, StoreError> {
    let tenant_active = schema::partition_value(Partition::TenantStatus, tenant, "", "active");
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
    let Some(user) = owner else {
        return past_due(store, tenant_backlog(1000), usize::MAX, now, stats).await;
    };
    let probe = store.page(&tenant_backlog(1)).await?;
    stats.requests += 1;
    stats.items_read += probe.examined();
    stats.capacity += probe.capacity;
    if probe.examined() == 0 {
        return Ok(Some(Lag::default()));
    }
    let own_active = schema::partition_value(Partition::OwnerStatus, tenant, user, "active");
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
        stats.requests += 1;
        stats.items_read += page.examined();
        stats.capacity += page.capacity;
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

    #[test]
    fn the_fingerprint_covers_every_selecting_parameter_but_not_the_page_size() {
        let base = ListQuery::default();
        let f = |q: &ListQuery| fingerprint(q, Some("alice"));
        let variants = [
            ListQuery {
                include_revoked: true,
                ..base.clone()
            },
            ListQuery {
                name: Some("x".into()),
                ..base.clone()
            },
            ListQuery {
                scope: Some("x".into()),
                ..base.clone()
            },
            ListQuery {
                metadata: [("k".to_string(), "v".to_string())].into(),
                ..base.clone()
            },
            ListQuery {
                sort: SortField::Name,
                ..base.clone()
            },
            ListQuery {
                descending: false,
                ..base.clone()
            },
            ListQuery {
                token_ids: Some(vec![Uuid::nil()]),
                ..base.clone()
            },
            ListQuery {
                created: Window {
                    after: Some(time::now()),
                    before: None,
                },
                ..base.clone()
            },
        ];
        for v in &variants {
            assert_ne!(f(v), f(&base), "{v:?}");
        }
        assert_eq!(
            f(&ListQuery {
                limit: 7,
                include_total: true,
                ..base.clone()
            }),
            f(&base)
        );
        assert_ne!(fingerprint(&base, None), f(&base));
    }
}
