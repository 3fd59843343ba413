//! A hostile user of a tenant: whatever they send or store, (a) no other request of the tenant
//! fails, (b) no token yields one more powerful, longer-lived or less restricted than itself,
//! (c) no background job stops for other tokens. Issue 14's findings, each as a test.

mod allowed_ips;
mod lists;
mod records;
mod replays;
mod revocation_race;
mod times;

use chrono::Duration;
use integration_tests::Reply;

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// Every `5xx` is a defect, whatever was asked.
fn no_server_error(r: &Reply, what: &str) {
    assert!(r.status < 500, "{what}: {} {}", r.status, r.text);
}
