//! The API's specification, run over HTTP against the dev server and DynamoDB Local.
//! Start it with `./scripts/test`.

mod authentication;
mod aws_stub;
mod bad_inputs;
mod cli;
mod create;
mod entry_point;
mod errors;
mod hostile;
mod idempotency;
mod lambda_events;
mod lifecycle_events;
mod limits;
mod list;
mod listing;
mod openapi;
mod operator;
mod races;
mod read;
mod revocation_events;
mod revoke;
mod rotate;
mod route_scopes;
mod scopes;
mod secrets;
mod template;
mod update;

/// Scopes of an ordinary user's token.
pub const USER: &[&str] = &["tokens:read", "tokens:write"];
/// Scopes of a tenant admin's token.
pub const ADMIN: &[&str] = &["tokens:read", "tokens:write", "tokens:admin", "orders:read"];
