//! Lists ordered in memory rather than by an index: `token_ids` (one `BatchGetItem`), and
//! one user's tokens sorted by name, expiry or last use.

use uuid::Uuid;

use crate::domain::error::ApiError;
use crate::domain::model::TokenItem;
use crate::service::listing::query::{stored, ReadStats};
use crate::service::listing::read::{Found, ListContext, Read};
use crate::store::schema::{self, Partition};
use crate::store::{KeyRange, PageRequest, TokenStore};

/// `token_ids`: one `BatchGetItem`, then the same filters and order in memory (the budget
/// is not consulted: at most 100 ids).
pub(super) async fn by_ids<S: TokenStore>(
    cx: &ListContext<'_, S>,
    ids: &[Uuid],
    read: &Read<'_>,
    stats: &mut ReadStats,
) -> Result<Found, ApiError> {
    let items = cx.store.batch_get(ids).await?;
    stats.requests += 1;
    stats.items_read += items.len();
    Ok(in_memory(cx, items, read))
}

/// A user's tokens sorted by name, expiry or last use. The owner's index partitions are
/// sorted by creation only, and the tenant's would let one user's request read (and, with
/// a count, measure) everyone's tokens: so every token of the owner in the asked statuses
/// is read from the owner's own partitions, then filtered and ordered here. At most
/// `read.budget` items are read; a user with more gets a 422 naming `sort`.
pub(super) async fn owner_sorted<S: TokenStore>(
    cx: &ListContext<'_, S>,
    owner: &str,
    read: &Read<'_>,
    stats: &mut ReadStats,
) -> Result<Found, ApiError> {
    let mut items = Vec::new();
    for status in cx.query.wanted_statuses() {
        let partition = schema::partition_value(
            Partition::OwnerStatus,
            cx.tenant,
            owner,
            stored(status).as_str(),
        );
        read_partition(cx, &partition, read.budget, &mut items, stats).await?;
    }
    Ok(in_memory(cx, items, read))
}

/// Appends every token of one of the owner's status partitions to `items`; 422 on `sort`
/// past `budget` items read.
async fn read_partition<S: TokenStore>(
    cx: &ListContext<'_, S>,
    partition: &str,
    budget: usize,
    items: &mut Vec<TokenItem>,
    stats: &mut ReadStats,
) -> Result<(), ApiError> {
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
                    cx.query.sort.attribute().trim_end_matches("_sk")
                ),
            ));
        }
        let page = cx
            .store
            .page(&PageRequest {
                index: schema::BY_OWNER_STATUS,
                partition,
                range: &KeyRange::default(),
                ascending: true,
                limit: left.min(1000) as i32,
                start_after: after.as_deref(),
            })
            .await?;
        stats.add_page(&page);
        items.extend(page.items);
        match (page.more, page.last_key) {
            (true, Some(last)) => after = Some(last),
            _ => return Ok(()),
        }
    }
}

/// `items` filtered, ordered by the query's sort key, from after `read.position`, at most
/// `read.want`.
fn in_memory<S>(cx: &ListContext<'_, S>, items: Vec<TokenItem>, read: &Read<'_>) -> Found {
    let sort = cx.query.sort;
    let mut keyed: Vec<(String, TokenItem)> = items
        .into_iter()
        .filter(|t| cx.matches(t))
        .map(|t| (sort.key_of(&t), t))
        .collect();
    keyed.sort_by(|a, b| {
        if read.descending {
            b.0.cmp(&a.0)
        } else {
            a.0.cmp(&b.0)
        }
    });
    let items = keyed
        .into_iter()
        .filter(|(k, _)| match read.position {
            None => true,
            Some(p) if read.descending => k.as_str() < p,
            Some(p) => k.as_str() > p,
        })
        .map(|(_, t)| t)
        .take(read.want)
        .collect();
    Found {
        items,
        stopped_at: None,
    }
}
