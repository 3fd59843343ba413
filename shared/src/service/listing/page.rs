//! A page from what a read found: at most `limit` tokens and [`MAX_PAGE_BYTES`], in display
//! order, with cursors both ways.

use crate::domain::model::TokenItem;
use crate::service::listing::cursor::{Direction, ListCursors, Position};
use crate::service::listing::read::Found;
use crate::store::schema::SortField;

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

/// A page's tokens and cursors.
pub(super) struct Page {
    pub items: Vec<TokenItem>,
    pub next_cursor: Option<String>,
    pub prev_cursor: Option<String>,
}

/// The page of `found` (read from `from`, looking one item ahead past `limit`).
pub(super) fn page(
    found: Found,
    limit: usize,
    sort: SortField,
    from: &Position,
    cursors: &ListCursors<'_>,
) -> Page {
    let looked_ahead = found.items.len() > limit;
    let mut items = found.items;
    items.truncate(limit);
    // A page of the largest tokens could outgrow Lambda's 6 MB response: end it early.
    let fits = fitting(&items);
    let cut = fits < items.len();
    items.truncate(fits);
    let more_beyond = looked_ahead || cut || found.stopped_at.is_some();
    let sort_key = |t: &TokenItem| sort.key_of(t);
    // Where the next read in this direction resumes: after the last returned item, or after
    // the last examined one when the budget ran out before the page filled.
    let resume = match (items.len() == limit || cut, &found.stopped_at) {
        (true, _) => items.last().map(sort_key),
        (false, Some(p)) => Some(p.clone()),
        (false, None) => None,
    };
    let direction = from.direction;
    if direction == Direction::Backward {
        items.reverse();
    }
    // Onward: further in the direction just read, when more lies there. Back: the other way,
    // from the page's edge nearest the cursor we came from (there is nothing back on page one).
    let onward = if more_beyond {
        resume.map(|p| cursors.seal(direction, &p))
    } else {
        None
    };
    let back = from.after.as_ref().map(|p| {
        let (edge, opposite) = match direction {
            Direction::Forward => (items.first(), Direction::Backward),
            Direction::Backward => (items.last(), Direction::Forward),
        };
        cursors.seal(opposite, &edge.map(sort_key).unwrap_or_else(|| p.clone()))
    });
    let (next_cursor, prev_cursor) = match direction {
        Direction::Forward => (onward, back),
        Direction::Backward => (back, onward),
    };
    Page {
        items,
        next_cursor,
        prev_cursor,
    }
}
