//! Responses: JSON that no cache keeps, the `GET /tokens` page, and the `201` of a create or
//! rotation.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::domain::model::{CreatedView, TokenView};
use crate::service::idempotency;
use crate::service::listing::{ListQuery, ListResult};
use crate::service::Minted;
use crate::support::time::{self, Timestamp};

/// A JSON response that no cache may keep.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    json_response_sized(status, body, 1024)
}

/// [`json_response`] writing into `capacity` bytes reserved up front: a list page is tens
/// of kilobytes, which a buffer grown from empty reallocates and copies a dozen times.
fn json_response_sized(
    status: StatusCode,
    body: &impl Serialize,
    capacity: usize,
) -> Response<Body> {
    let mut bytes = Vec::with_capacity(capacity);
    if serde_json::to_writer(&mut bytes, body).is_err() {
        bytes = b"{}".to_vec();
    }
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The `GET /tokens` body.
#[derive(Debug, Serialize)]
pub struct ListBody<'a> {
    /// The page's tokens, newest first.
    pub items: Vec<TokenView<'a>>,
    /// The page size used.
    pub limit: u32,
    /// Whether another page follows.
    pub has_next: bool,
    /// Whether a page precedes this one.
    pub has_prev: bool,
    /// Cursor of the next page (`null` on the last page).
    pub next_cursor: Option<&'a str>,
    /// Cursor of the previous page (`null` on the first page).
    pub prev_cursor: Option<&'a str>,
    /// With `include_total_count=true`: the exact number of matching tokens (`null` when
    /// counting a filtered list would read more than `listing::COUNT_BUDGET` items).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// With `include_total_count=true`: whether counting stopped at its budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_capped: Option<bool>,
}

/// The `200` answer of `GET /tokens`: the page's tokens as the API shows them at `now`.
pub fn list_response(page: &ListResult, query: &ListQuery, now: Timestamp) -> Response<Body> {
    let body = ListBody {
        items: page
            .items
            .iter()
            .map(|t| {
                let mut view = t.view(now);
                view.quota_remaining = page.quota_remaining.of(t);
                view
            })
            .collect(),
        limit: query.limit,
        has_next: page.next_cursor.is_some(),
        has_prev: page.prev_cursor.is_some(),
        next_cursor: page.next_cursor.as_deref(),
        prev_cursor: page.prev_cursor.as_deref(),
        total: page.total,
        total_capped: query.include_total.then_some(page.total_capped),
    };
    // About 460 bytes per token as the API writes them.
    let capacity = 512 * (body.items.len() + 1);
    json_response_sized(StatusCode::OK, &body, capacity)
}

/// The `201` answer of a create or rotation: the token with its secret, and where it lives.
/// A replay (same `Idempotency-Key`) is the same answer, marked `Idempotent-Replayed: true`.
pub(crate) fn minted_response(minted: &Minted) -> Response<Body> {
    let mut token = minted.item.view(time::now());
    // A new token (a rotation's too) has used none of its quota.
    token.quota_remaining = minted.item.quota.map(|q| q.limit);
    let view = CreatedView {
        token,
        secret: minted.secret.expose(),
    };
    let mut resp = json_response(StatusCode::CREATED, &view);
    let headers = resp.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!("/tokens/{}", minted.item.id)) {
        headers.insert(header::LOCATION, location);
    }
    if minted.replayed {
        headers.insert(
            idempotency::REPLAYED_HEADER,
            HeaderValue::from_static("true"),
        );
    }
    resp
}
