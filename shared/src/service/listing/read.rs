//! Reading a plan: what every read of one request shares, the bounds of one read, and the
//! k-way merge of a plan's partitions in sort order under a read budget.

use std::collections::VecDeque;

use futures_util::future::try_join_all;

use crate::domain::error::ApiError;
use crate::domain::model::TokenItem;
use crate::service::listing::plan::Plan;
use crate::service::listing::query::{ListQuery, ReadStats};
use crate::store::{PageRequest, TokenStore};
use crate::support::time::Timestamp;

/// What every read of one list request shares.
pub(super) struct ListContext<'a, S> {
    pub store: &'a S,
    pub query: &'a ListQuery,
    pub tenant: &'a str,
    /// The only owner whose tokens are returned; `None`: the tenant's (for an admin).
    pub owner: Option<&'a str>,
    /// When statuses are computed (a token past its expiry is expired, whatever is stored).
    pub now: Timestamp,
}

impl<S> ListContext<'_, S> {
    /// Whether a token matches every filter.
    pub(super) fn matches(&self, t: &TokenItem) -> bool {
        self.query.matches(t, self.tenant, self.owner, self.now)
    }
}

/// The bounds of one read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Read<'a> {
    /// Largest sort key first.
    pub descending: bool,
    /// Read after this sort key.
    pub position: Option<&'a str>,
    /// Stop after this many matches.
    pub want: usize,
    /// Stop once the stats passed along count this many items read.
    pub budget: usize,
    /// Items read may fail filters that are not key conditions: read in larger chunks.
    pub filtered: bool,
}

/// What a read found.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// The matches, in read order.
    pub items: Vec<TokenItem>,
    /// When the budget stopped the read: where the next read resumes (the sort key of the
    /// last item examined).
    pub stopped_at: Option<String>,
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

/// Reads the plan's partitions merged in sort order until `read.want` matches are found,
/// the data ends, or `read.budget` items have been read.
pub(super) async fn scan<S: TokenStore>(
    cx: &ListContext<'_, S>,
    plan: &Plan,
    read: &Read<'_>,
    stats: &mut ReadStats,
) -> Result<Found, ApiError> {
    let mut merge = Merge::new(plan, read);
    loop {
        let empty = merge.empty_streams();
        if !empty.is_empty() {
            let left = read.budget.saturating_sub(stats.items_read);
            if left == 0 {
                return Ok(merge.stopped());
            }
            // Without residual filters every item read is returned: ask for exactly what is
            // still wanted. With them, read larger chunks within the budget.
            let chunk = if read.filtered {
                left.min(read.want.max(250))
            } else {
                (read.want - merge.found.len()).min(left)
            };
            merge.refill(cx.store, &empty, chunk, stats).await?;
            continue;
        }
        let Some(item) = merge.pop_head() else {
            return Ok(merge.done());
        };
        if cx.matches(&item) {
            merge.skipped = None;
            merge.found.push(item);
            if merge.found.len() == read.want {
                return Ok(merge.done());
            }
        } else {
            merge.skipped = Some(item);
        }
    }
}

/// The k-way merge of a plan's partitions.
struct Merge<'a> {
    plan: &'a Plan,
    descending: bool,
    streams: Vec<Stream>,
    found: Vec<TokenItem>,
    /// Filtered out after the last one found: the last item examined, when set. Its sort
    /// key (a formatted string) is only needed when the budget ends the read.
    skipped: Option<TokenItem>,
}

impl<'a> Merge<'a> {
    fn new(plan: &'a Plan, read: &Read<'_>) -> Self {
        let streams = plan
            .partitions
            .iter()
            .map(|p| Stream {
                partition: p.clone(),
                buffer: VecDeque::new(),
                resume_after: read.position.map(str::to_string),
                read_from: read.position.map(str::to_string),
                exhausted: false,
            })
            .collect();
        Merge {
            plan,
            descending: read.descending,
            streams,
            found: Vec::new(),
            skipped: None,
        }
    }

    /// The streams with nothing buffered and more to read.
    fn empty_streams(&self) -> Vec<usize> {
        (0..self.streams.len())
            .filter(|&i| self.streams[i].buffer.is_empty() && !self.streams[i].exhausted)
            .collect()
    }

    /// Reads the next `chunk` items (at least 1, at most 1000) of each of `empty`, in
    /// parallel.
    async fn refill<S: TokenStore>(
        &mut self,
        store: &S,
        empty: &[usize],
        chunk: usize,
        stats: &mut ReadStats,
    ) -> Result<(), ApiError> {
        let chunk = chunk.clamp(1, 1000) as i32;
        let requests: Vec<PageRequest<'_>> = empty
            .iter()
            .map(|&i| PageRequest {
                index: self.plan.index,
                partition: &self.streams[i].partition,
                range: &self.plan.range,
                ascending: !self.descending,
                limit: chunk,
                start_after: self.streams[i].resume_after.as_deref(),
            })
            .collect();
        let pages = try_join_all(requests.iter().map(|r| store.page(r)))
            .await
            .map_err(ApiError::from)?;
        for (&i, page) in empty.iter().zip(pages) {
            stats.add_page(&page);
            let s = &mut self.streams[i];
            s.read_from = s.resume_after.clone();
            if page.last_key.is_some() {
                s.resume_after = page.last_key;
            }
            s.exhausted = !page.more;
            s.buffer.extend(page.items);
        }
        Ok(())
    }

    /// Takes the head that comes first among the streams' heads (once every stream has a
    /// head or is finished); `None` when all are finished.
    fn pop_head(&mut self) -> Option<TokenItem> {
        let sort = self.plan.index.sort;
        let head = (0..self.streams.len())
            .filter(|&i| !self.streams[i].buffer.is_empty())
            .min_by(|&a, &b| {
                let (ka, kb) = (
                    sort.key_of(&self.streams[a].buffer[0]),
                    sort.key_of(&self.streams[b].buffer[0]),
                );
                if self.descending {
                    kb.cmp(&ka)
                } else {
                    ka.cmp(&kb)
                }
            })?;
        Some(self.streams[head].buffer.pop_front().expect("a head"))
    }

    /// The matches, the read done.
    fn done(self) -> Found {
        Found {
            items: self.found,
            stopped_at: None,
        }
    }

    /// The matches, the budget spent: resume after the last item examined.
    fn stopped(self) -> Found {
        let stopped_at = self
            .skipped
            .as_ref()
            .or(self.found.last())
            .map(|t| self.plan.index.sort.key_of(t))
            .or_else(|| unreadable_frontier(&self.streams, self.descending));
        Found {
            items: self.found,
            stopped_at,
        }
    }
}
