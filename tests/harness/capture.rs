//! The suite's record of what the service logged and answered, for `tests/after_suite.rs`.
//!
//! When `SUITE_CAPTURE_DIR` is set (`scripts/test` sets it), each test process writes, in that
//! directory, every tracing event of the service (dev server, authorizer, handlers) as JSON
//! lines to `logs-<pid>.jsonl`, and every answer of an [`crate::App`]'s dev server to an
//! [`crate::HttpClient`] as one JSON line `{method, path, status, body}` to `http-<pid>.jsonl`. One
//! file per process, each line written whole under a mutex, so parallel tests and parallel
//! test binaries never interleave. Unset (benchmarks, single tests), nothing is captured.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use subscriber::layer::SubscriberExt as _;
use subscriber::util::SubscriberInitExt as _;
use tracing_subscriber as subscriber;

/// The environment variable naming the capture directory.
pub const DIR_VAR: &str = "SUITE_CAPTURE_DIR";
/// File name prefix of the captured logs.
pub const LOGS: &str = "logs-";
/// File name prefix of the captured HTTP answers.
pub const HTTP: &str = "http-";
/// What is logged: everything of ours, `info` and above of the libraries.
pub const FILTER: &str = "info,api_tokens=trace,dev_server=trace,integration_tests=trace";

/// The capture directory, when capturing.
pub fn dir() -> Option<PathBuf> {
    std::env::var_os(DIR_VAR)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

fn open(prefix: &str) -> Option<File> {
    let dir = dir()?;
    std::fs::create_dir_all(&dir).expect("create the capture directory");
    let path = dir.join(format!("{prefix}{}.jsonl", std::process::id()));
    Some(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display())),
    )
}

/// Sends this process's tracing events to `logs-<pid>.jsonl` (once; no-op when not
/// capturing or when the process already has a global subscriber).
pub fn install_log_capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let Some(file) = open(LOGS) else { return };
        let filter: subscriber::filter::Targets = FILTER.parse().expect("the capture filter");
        let collector = subscriber::registry().with(filter).with(
            subscriber::fmt::layer()
                .json()
                .with_writer(Mutex::new(file)),
        );
        // Another global subscriber (a test's own) wins; its output is then not captured.
        let _ = collector.try_init();
    });
}

fn services() -> &'static Mutex<HashSet<SocketAddr>> {
    static SERVICES: OnceLock<Mutex<HashSet<SocketAddr>>> = OnceLock::new();
    SERVICES.get_or_init(Default::default)
}

/// Marks `addr` as the service's (a dev server an [`crate::App`] started): only its
/// answers are recorded, not those of DynamoDB Local that some tests call over HTTP.
pub fn register_service(addr: SocketAddr) {
    services()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(addr);
}

/// Whether `addr` is a registered service address.
pub fn is_service(addr: SocketAddr) -> bool {
    services()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&addr)
}

/// Appends one HTTP answer to `http-<pid>.jsonl` (no-op when not capturing).
pub fn record_http(method: &str, path: &str, status: u16, body: &str) {
    static FILE: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    let Some(file) = FILE.get_or_init(|| open(HTTP).map(Mutex::new)) else {
        return;
    };
    let mut line = serde_json::to_vec(&serde_json::json!({
        "method": method, "path": path, "status": status, "body": body,
    }))
    .expect("a JSON line");
    line.push(b'\n');
    let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
    f.write_all(&line).expect("append to the HTTP capture");
}
