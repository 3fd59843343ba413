//! What the benchmark binaries (`scripts/bench`) share: a capacity meter on the DynamoDB
//! client, fast seeders of a tenant's token records, and small statistics helpers.
//!
//! The binaries send DynamoDB requests of their own only through the store's builders
//! (`api_tokens::store::requests`), so a "bare" request is the service's request.

pub mod meter;
pub mod seed;
pub mod stats;

pub use meter::{metered_client, Meter, Tally};
pub use seed::{put_records, seed_tenant, seeded_token};
pub use stats::{median, percentile};
