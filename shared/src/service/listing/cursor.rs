//! List cursors: a direction (`>` onward, `<` back) and a sort key to resume after, sealed
//! and bound to the caller and to the query's fingerprint, so a cursor only resumes the
//! query that made it.

use uuid::Uuid;

use crate::domain::error::ApiError;
use crate::service::listing::query::{stored, ListQuery, Window};
use crate::store::schema;
use crate::support::cursor::{CursorBinding, CursorCodec};
use crate::support::time;

/// Which way a page reads, relative to the display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Forward,
    Backward,
}

impl Direction {
    fn mark(self) -> &'static str {
        match self {
            Direction::Forward => ">",
            Direction::Backward => "<",
        }
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Position {
    pub direction: Direction,
    /// The sort key the page reads after; `None` on the first page.
    pub after: Option<String>,
}

/// Opens and seals the cursors of one query for one caller.
pub(super) struct ListCursors<'a> {
    pub codec: &'a CursorCodec,
    pub binding: CursorBinding<'a>,
}

impl ListCursors<'_> {
    /// Where the page `cursor` names starts (the first page without one).
    pub(super) fn open(&self, cursor: Option<&str>) -> Result<Position, ApiError> {
        let Some(c) = cursor else {
            return Ok(Position {
                direction: Direction::Forward,
                after: None,
            });
        };
        let opened = self
            .codec
            .open(&self.binding, c)
            .map_err(|_| ApiError::InvalidCursor)?;
        let (dir, pos) = opened.split_at(1);
        let direction = match dir {
            ">" => Direction::Forward,
            "<" => Direction::Backward,
            _ => return Err(ApiError::InvalidCursor),
        };
        schema::id_from_sort_key(pos).ok_or(ApiError::InvalidCursor)?;
        Ok(Position {
            direction,
            after: Some(pos.to_string()),
        })
    }

    /// A cursor reading `direction` after the sort key `after`.
    pub(super) fn seal(&self, direction: Direction, after: &str) -> String {
        self.codec
            .seal(&self.binding, &format!("{}{after}", direction.mark()))
    }
}

/// The canonical text of everything that selects and orders results (not `limit`,
/// `cursor` or `include_total_count`): cursors are bound to it.
pub(super) fn fingerprint(q: &ListQuery, owner: Option<&str>) -> String {
    let fmt = |w: &Window| {
        format!(
            "{}..{}",
            w.after.map(|t| time::format(&t)).unwrap_or_default(),
            w.before.map(|t| time::format(&t)).unwrap_or_default()
        )
    };
    let statuses: Vec<&str> = q
        .wanted_statuses()
        .iter()
        .map(|s| stored(*s).as_str())
        .collect();
    let mut text = serde_json::json!({
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
    });
    // Only when set: cursors of queries without it stay valid across the upgrade that added it.
    if let Some(limited) = q.limited {
        text["limited"] = serde_json::Value::Bool(limited);
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::SortField;

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
                limited: Some(true),
                ..base.clone()
            },
            ListQuery {
                limited: Some(false),
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
