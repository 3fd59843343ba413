//! The DynamoDB requests of the store, built but not sent. `dynamo` sends them (and retries,
//! and reads the answers); the benchmarks send the very same requests through a bare SDK
//! client to measure what the service adds on top of them. Each builder is the whole
//! request: key, expressions, conditions, limits; a transaction's builder gives its items.
//!
//! | file | requests |
//! | --- | --- |
//! | `reads` | `GetItem`, `BatchGetItem`, `Query` |
//! | `transactions` | the items of each `TransactWriteItems` |
//! | `updates` | each single `UpdateItem` |
//! | `counters` | the counter updates in a transaction |
//! | `usage` | a use counted, a usage notice put |

mod counters;
mod reads;
mod transactions;
mod updates;
mod usage;

pub use counters::CounterDeltas;
pub use reads::{batch_get_item, get_item, item_key, page_query};
pub use transactions::{
    batch_revocation_items, create_items, credential_update, insert_items, once_item, revoke_items,
    rotation_items, status_change_items, transact_write, transition_items, MAX_TRANSACTION_ITEMS,
};
pub use updates::{amend_items, amend_update, revoke_credential_update, touch_update};
pub use usage::{count_use_update, notice_put};
