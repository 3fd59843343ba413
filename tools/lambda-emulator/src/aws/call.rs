//! The calls log: one [`Call`] per request IAM evaluates, with the context keys a policy's
//! conditions could test, and never a secret (no item values but partition keys, no
//! parameter values, no event details).

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One request as IAM evaluates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Logical id of the calling function (`unknown` for a key no function has).
    pub function: String,
    /// `dynamodb`, `ssm`, `events`, `sqs`, or the target's prefix for an unknown service.
    pub service: String,
    /// The API operation (`TransactWriteItems`).
    pub operation: String,
    /// The IAM action (`dynamodb:PutItem` for one item of that transaction).
    pub action: String,
    /// The resource's ARN (`*` when the request names none).
    pub resource: String,
    /// Condition keys the request has (`dynamodb:LeadingKeys`, `events:source`, ...).
    pub context: BTreeMap<String, Value>,
    /// The HTTP status answered.
    pub status: u16,
}

/// One IAM request of a call, before its status is known.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct IamRequest {
    /// `dynamodb:GetItem`.
    pub action: String,
    /// The resource's ARN.
    pub resource: String,
    /// Condition keys.
    pub context: BTreeMap<String, Value>,
}

impl IamRequest {
    /// A request without condition keys.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }
}

/// Keeps every call, and appends it to the log file when there is one.
#[derive(Debug, Default)]
pub(super) struct Recorder {
    calls: Mutex<Vec<Call>>,
    log: Option<PathBuf>,
}

impl Recorder {
    /// A recorder appending to `log`, if set.
    pub fn new(log: Option<PathBuf>) -> Self {
        Self {
            calls: Mutex::default(),
            log,
        }
    }

    /// Records the IAM requests of one call by `function`, answered with `status`.
    pub fn record(
        &self,
        function: &str,
        service: &str,
        operation: &str,
        requests: Vec<IamRequest>,
        status: u16,
    ) {
        let calls: Vec<Call> = requests
            .into_iter()
            .map(|r| Call {
                function: function.to_owned(),
                service: service.to_owned(),
                operation: operation.to_owned(),
                action: r.action,
                resource: r.resource,
                context: r.context,
                status,
            })
            .collect();
        let mut kept = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(path) = &self.log {
            let lines: String = calls
                .iter()
                .filter_map(|c| serde_json::to_string(c).ok())
                .map(|line| line + "\n")
                .collect();
            let written = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| file.write_all(lines.as_bytes()));
            if let Err(e) = written {
                eprintln!("lambda-emulator: cannot append to {}: {e}", path.display());
            }
        }
        kept.extend(calls);
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
