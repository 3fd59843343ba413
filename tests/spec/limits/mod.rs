//! Rate limits and quotas: who may set them and how they narrow (`setting`), what the
//! service's own API answers a token over them (`answers`), that they hold exactly across
//! concurrent clients and authorizer instances and refill with their period (`counting`),
//! and how the authorizer answers other APIs (`edge`).

mod answers;
mod counting;
mod edge;
mod setting;

use api_tokens::domain::usage::{Quota, QuotaPeriod, RateLimit};
use api_tokens::service::CreateInput;
use integration_tests::App;

/// `limit` requests per `window_seconds`.
pub fn rate(limit: u64, window_seconds: u64) -> RateLimit {
    RateLimit {
        limit,
        window_seconds,
    }
}

/// `limit` requests per `period`.
pub fn quota(limit: u64, period: QuotaPeriod) -> Quota {
    Quota { limit, period }
}

/// Mints a token of `user` in `acme` with `scopes` and these limits; its id and secret.
pub async fn limited(
    app: &App,
    user: &str,
    scopes: &[&str],
    rate_limit: Option<RateLimit>,
    quota: Option<Quota>,
) -> (String, String) {
    app.mint_with(
        "acme",
        user,
        scopes,
        CreateInput {
            rate_limit,
            quota,
            ..CreateInput::default()
        },
    )
    .await
}

/// The value of token `id`'s usage counter for the window or period `label`, read straight
/// from the table (`None`: no such counter).
pub async fn counter(app: &App, id: &str, label: &str) -> Option<u64> {
    counter_item(app, id, label).await.and_then(|(n, _)| n)
}

/// A usage counter's `n` and `purge_at` (its TTL, epoch seconds).
pub async fn counter_item(app: &App, id: &str, label: &str) -> Option<(Option<u64>, Option<i64>)> {
    let id = uuid::Uuid::parse_str(id).unwrap();
    let out = app
        .dynamodb
        .get_item()
        .table_name(&app.table)
        .key(
            api_tokens::schema::PK,
            aws_sdk_dynamodb::types::AttributeValue::S(api_tokens::schema::usage_pk(id, label)),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = out.item?;
    let number = |k: &str| item.get(k)?.as_n().ok()?.parse::<i64>().ok();
    Some((
        number("n").map(|n| n as u64),
        number(api_tokens::schema::PURGE_AT),
    ))
}
