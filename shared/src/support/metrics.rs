//! Operational metrics, as CloudWatch Embedded Metric Format (EMF) lines on stdout.
//!
//! In Lambda, a JSON line with an `_aws` member becomes a metric in namespace
//! [`NAMESPACE`] with no API call and no extra permission. Outside Lambda (the dev server,
//! tests) nothing is printed; the process-wide counters below still count, so tests can
//! read them.
//!
//! | metric | unit | counted when |
//! | --- | --- | --- |
//! | `UnreadableRecords` | Count | a stored item or a stream record does not decode: it is logged (key, reason) and skipped |
//! | `RevocationEventsRefused` | Count | a revocation event's `source` is not one allowed to revoke (`revocation`) |

use std::sync::atomic::{AtomicU64, Ordering};

/// The CloudWatch namespace of every metric the service emits.
pub const NAMESPACE: &str = "ApiTokens";

/// A count metric: emitted as EMF in Lambda, and kept in the process for tests to read.
#[derive(Debug)]
pub struct Counter {
    name: &'static str,
    count: AtomicU64,
}

impl Counter {
    /// A counter of the metric `name`.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            count: AtomicU64::new(0),
        }
    }

    /// Counts one.
    pub fn add_one(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
        emit(self.name, 1);
    }

    /// How many since the process started.
    pub fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// The metric of records skipped because they did not decode.
pub const UNREADABLE_METRIC: &str = "UnreadableRecords";

/// Records skipped because they did not decode.
pub static UNREADABLE_RECORDS: Counter = Counter::new(UNREADABLE_METRIC);

/// Items skipped because they did not decode, since the process started.
pub fn unreadable_records() -> u64 {
    UNREADABLE_RECORDS.get()
}

/// Logs a stored item that cannot be read and counts it. `key` is the item's `pk` (a token
/// or credential id, never a secret); `reason` names the field that failed. The caller skips
/// the item and goes on: one bad record never fails a page or a job.
pub fn unreadable_record(key: &str, reason: &str) {
    tracing::error!(key, reason, "unreadable record skipped");
    UNREADABLE_RECORDS.add_one();
}

/// Writes one EMF line for `name` when running in Lambda.
fn emit(name: &str, value: u64) {
    let Ok(function) = std::env::var("AWS_LAMBDA_FUNCTION_NAME") else {
        return;
    };
    println!(
        "{}",
        emf_line(&function, name, value, crate::support::time::now())
    );
}

/// The EMF document of one count, with the function's name as its only dimension.
fn emf_line(function: &str, name: &str, value: u64, at: crate::support::time::Timestamp) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": [{"Name": name, "Unit": "Count"}],
            }],
        },
        "FunctionName": function,
        name: value,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_names_its_metric_namespace_and_dimension() {
        let at = crate::support::time::parse("2026-12-01T00:00:00Z").unwrap();
        let line: serde_json::Value =
            serde_json::from_str(&emf_line("list", "UnreadableRecords", 1, at)).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Metrics"][0]["Name"], "UnreadableRecords");
        assert_eq!(directive["Dimensions"][0][0], "FunctionName");
        assert_eq!(line["FunctionName"], "list");
        assert_eq!(line["UnreadableRecords"], 1);
        assert_eq!(line["_aws"]["Timestamp"], at.timestamp_millis());
    }

    #[test]
    fn each_unreadable_record_is_counted() {
        let before = unreadable_records();
        unreadable_record("TOKEN#x", "token record: created_at is missing");
        assert!(unreadable_records() > before);
    }
}
