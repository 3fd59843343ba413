//! The use cases: create, rotate, update, get, list, revoke, verify. Transport-free: the
//! HTTP layer ([`crate::http`]), the authorizer and the event handlers call them with a
//! verified [`crate::Principal`] (or, for events and tools, a tenant and an actor).
//!
//! [`TokenService`] is one struct (in `token_service.rs`); each operation is an `impl` block
//! in the file named after it:
//!
//! | operation | file | DynamoDB requests |
//! | --- | --- | --- |
//! | `create`, `issue` | `create.rs` | 1 `TransactWriteItems`: record, credential, counters (+ idempotency record) |
//! | `rotate` | `rotate.rs` | 1 `GetItem` + 1 `TransactWriteItems` per attempt (at most 4, while the old token changes under it); + 1 `GetItem` of the idempotency record when a keyed retry finds the token rotated |
//! | `update` (`PATCH`) | `update.rs` | 1 conditional `UpdateItem`; changing `metadata`: 1 `TransactWriteItems` (record, credential) + 1 `GetItem`; changing a limit: + 1 `GetItem` first |
//! | `get`, `get_self` | `read.rs` | 1 `GetItem` (+ `quota_remaining`'s read for a token with a quota) |
//! | `list` | `read.rs`, [`listing`] | see [`listing`] |
//! | `revoke` | `revoke.rs` | 1 `GetItem` + 1 `TransactWriteItems` |
//! | `delete`, `revoke_in` | `revoke.rs` | 1 `TransactWriteItems` with the owner known (+ 1 when the token had expired); else as `revoke` |
//! | `revoke_leaked` | `revoke.rs` | 1 `GetItem` of the credential, then as `revoke_in` |
//! | `revoke_user` | `bulk.rs` | per page: 1 `Query`, 1 `TransactWriteItems` per ≤ 25 tokens of one counter shard (each token alone when that fails); per damaged record 1 `TransactWriteItems` (+ 1 `UpdateItem` of its credential) |
//! | `sweep_expired` | `sweep.rs` | per shard step: 1 `Query`; per due token 1 `GetItem` + 1 `TransactWriteItems` |
//! | `verify` | `verify.rs` | 1 `GetItem` of the credential |
//! | `verify_cached` | `verify.rs`, [`verify_cache`] | none on a fresh cached answer, else as `verify`; + at most 1 `UpdateItem` (last use) per token and `LAST_USED_INTERVAL_SECONDS`, off the response path |
//! | `admit` | `usage.rs` | none for a token without limits; 1 conditional `UpdateItem` per limit (rate, quota) |
//! | `quota_remaining` | `usage.rs` | none when no token has a quota; else 1 `BatchGetItem` per 100 tokens with one |
//!
//! Invariants every operation keeps:
//! - Authority only shrinks (`authority.rs`): a minted token (created, rotated or replayed)
//!   never has a scope, an expiry, addresses, a rate limit or a quota beyond the presenting
//!   token's.
//! - A caller sees only its tenant's tokens, and only its own without `tokens:admin`;
//!   anything else reads as not found.
//! - No secret is stored: the credential holds its HMAC, and an idempotency record holds
//!   it sealed, for the key's window only ([`idempotency`]).

pub mod bootstrap;
pub mod idempotency;
pub mod listing;
pub mod verify_cache;

mod authority;
mod bulk;
mod create;
mod read;
mod revoke;
mod rotate;
mod sweep;
mod token_service;
mod update;
mod usage;
mod verify;

pub use bulk::BulkRevocation;
pub use create::{CreateInput, Minted};
pub use revoke::LeakOutcome;
pub use rotate::{RotateInput, ROTATED};
pub use token_service::{service_from_env, TokenService};
pub use usage::QuotaRemaining;
pub use verify::VerifyError;
