//! Adapters for events: revocation requested by other AWS services, and the token lifecycle
//! published from the table's stream to EventBridge.

pub mod lifecycle;
pub mod revocation;
