//! The DynamoDB store: the only module that speaks to the table.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `port` | [`TokenStore`], the interface the service needs, and the types it speaks |
//! | `error` | [`StoreError`], how SDK failures sort into it, the API's answer to it |
//! | `schema` | the table: keys, indexes, partitions, counters; `create_table` |
//! | `record` | a token record's attributes, written and read |
//! | `requests` | every DynamoDB request the store sends, built (the benchmarks send them too) |
//! | `dynamo` | [`DynamoStore`]: [`TokenStore`] over the table, sending those requests |
//!
//! What each operation costs:
//!
//! | operation | requests |
//! | --- | --- |
//! | create | 1 `TransactWriteItems`: record, credential, tenant and user counters (+ idempotency record) |
//! | rotate | 1 `GetItem` + 1 `TransactWriteItems`: new token, old token retired, counters (+ idempotency record) |
//! | update (`PATCH`) | 1 `UpdateItem`; when it changes the metadata, 1 `TransactWriteItems` (record, credential) + 1 `GetItem` |
//! | revoke a user's tokens | per page: 1 `Query` + 1 `TransactWriteItems` per ≤ 25 tokens of one counter shard; per damaged record 1 `TransactWriteItems` (+ 1 `UpdateItem` of its credential alone when its status is damaged too) |
//! | get, verify | 1 `GetItem` (record, or credential) |
//! | revoke, returning the record | 1 `GetItem` + 1 `TransactWriteItems` (record moves partitions, credential, counters) |
//! | revoke, write only, owner known | 1 `TransactWriteItems` (conditioned on tenant, owner, `active`); + 1 when the token was `expired` |
//! | list page | 1 `Query` per index partition read (usually one) |
//! | counts | 1 `BatchGetItem` (the counter shards) |
//! | by ids | 1 `BatchGetItem` (≤ 100 ids) |
//! | count a use | 1 conditional `UpdateItem` of the window's or period's counter |
//! | usage counters | 1 `BatchGetItem` (≤ 100 counters) |
//! | usage notice | 1 conditional `PutItem` |

mod dynamo;
pub mod error;
pub mod port;
mod record;
pub mod requests;
pub mod schema;

pub use dynamo::DynamoStore;
pub use error::StoreError;
pub use port::{
    Amendment, Counts, Credential, KeyRange, Once, Page, PageRequest, Patch, Revocation,
    RevokeOutcome, RotateOutcome, Rotation, SweepStep, TokenStore, UsageNotice, UseCount,
    MAX_BATCH_REVOCATIONS,
};
pub use record::record_attributes;
