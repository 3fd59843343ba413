//! What the proxy saw, so a test can check that its faults were really injected (a fault test
//! that passes because no fault fired proves nothing).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// Counts since the proxy started (or since [`crate::FaultProxy::reset_stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Requests received from clients.
    pub requests: u64,
    /// Requests sent to the upstream (plain, delayed, truncated and after-forward ones).
    pub forwarded: u64,
    /// Faults applied, by [`crate::Fault::kind`].
    pub faults: BTreeMap<String, u64>,
    /// Requests received, by the operation of their `X-Amz-Target` (the part after the last
    /// `.`, for example `GetItem`); requests without the header are not counted here.
    pub targets: BTreeMap<String, u64>,
    /// Requests held by a hang right now (they end when their client closes the connection).
    pub hanging: u64,
}

impl Stats {
    /// How many times the fault of this [`crate::Fault::kind`] was applied.
    pub fn applied(&self, kind: &str) -> u64 {
        self.faults.get(kind).copied().unwrap_or(0)
    }

    /// How many requests for this operation (`"GetItem"`) were received.
    pub fn target(&self, operation: &str) -> u64 {
        self.targets.get(operation).copied().unwrap_or(0)
    }

    /// Faults applied, all kinds together.
    pub fn faults_total(&self) -> u64 {
        self.faults.values().sum()
    }
}

/// The proxy's counters behind one lock (held for a few increments per request).
#[derive(Debug, Default, Clone)]
pub(crate) struct Recorder(Arc<Mutex<Stats>>);

impl Recorder {
    fn with<T>(&self, f: impl FnOnce(&mut Stats) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn request(&self, target: Option<&str>) {
        self.with(|s| {
            s.requests += 1;
            if let Some(target) = target {
                let op = target.rsplit_once('.').map_or(target, |(_, op)| op);
                *s.targets.entry(op.to_owned()).or_default() += 1;
            }
        });
    }

    pub(crate) fn forwarded(&self) {
        self.with(|s| s.forwarded += 1);
    }

    pub(crate) fn applied(&self, kind: String) {
        self.with(|s| *s.faults.entry(kind).or_default() += 1);
    }

    /// Counts a hung request until the guard is dropped (when hyper drops the request).
    pub(crate) fn hanging(&self) -> HangGuard {
        self.with(|s| s.hanging += 1);
        HangGuard(self.clone())
    }

    pub(crate) fn snapshot(&self) -> Stats {
        self.with(|s| s.clone())
    }

    /// Zeroes every count but `hanging`, which counts requests still held.
    pub(crate) fn reset(&self) {
        self.with(|s| {
            *s = Stats {
                hanging: s.hanging,
                ..Stats::default()
            }
        });
    }
}

pub(crate) struct HangGuard(Recorder);

impl Drop for HangGuard {
    fn drop(&mut self) {
        self.0.with(|s| s.hanging = s.hanging.saturating_sub(1));
    }
}
