//! The service with DynamoDB behind a fault-injecting proxy (`tools/fault-proxy`): a hung,
//! slow, resetting, throttling or failing DynamoDB never holds an answer past its time budget
//! (`api_tokens::Budget`), and nothing is lost, doubled or half-written.
//!
//! | file | what it shows |
//! | --- | --- |
//! | `hang.rs` | every route and the authorizer answer within their budgets while DynamoDB hangs |
//! | `retries.rs` | a write whose answer was lost is recognised when sent again, never doubled |
//! | `jobs.rs` | the sweeper and bulk revocation resume and finish under faults |
//! | `publisher.rs` | the lifecycle publisher delivers every event, duplicates only as identical copies |
//!
//! The load test under faults, switched on and off during the run, is in `tests/load/`.

mod hang;
mod jobs;
mod publisher;
mod retries;

#[path = "../spec/aws_stub.rs"]
#[allow(dead_code)]
mod aws_stub;

use std::time::Duration;

/// What a busy two-core machine may add to a budget between the timer firing and the answer
/// arriving.
pub(crate) const SLACK: Duration = Duration::from_millis(750);

pub(crate) const ADMIN: &[&str] = &["tokens:read", "tokens:write", "tokens:admin"];
