//! Leaves: small pieces that know nothing of tokens, tables or HTTP. Nothing here imports
//! another layer of the crate.

pub mod cidr;
pub mod cursor;
pub mod logging;
pub mod metrics;
pub mod secret;
pub mod time;
