//! What the clients did, merged: the operations, statuses and failures, and the latency of
//! each kind of operation, printed (`--nocapture`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::client::{Kind, Maybe, Outcome, Tok};

/// Every client's outcome, added up.
#[derive(Default)]
pub(crate) struct Totals {
    pub(crate) ledger: Vec<Tok>,
    pub(crate) timings: BTreeMap<Kind, Vec<Duration>>,
    pub(crate) statuses: BTreeMap<(Kind, u16), usize>,
    pub(crate) failures: Vec<String>,
    pub(crate) ops: usize,
    /// Creates that answered 503 (under faults).
    pub(crate) maybes: Vec<Maybe>,
}

impl Totals {
    pub(crate) fn merge(outcomes: Vec<Outcome>) -> Self {
        let mut t = Totals::default();
        for o in outcomes {
            t.ops += o.ops;
            t.ledger.extend(o.ledger);
            for (k, v) in o.timings {
                t.timings.entry(k).or_default().extend(v);
            }
            for (k, n) in o.statuses {
                *t.statuses.entry(k).or_default() += n;
            }
            t.failures.extend(o.failures);
            t.maybes.extend(o.maybes);
        }
        t
    }

    /// Answers with a `5xx` status.
    pub(crate) fn server_errors(&self) -> usize {
        self.statuses
            .iter()
            .filter(|((_, s), _)| *s >= 500)
            .map(|(_, n)| n)
            .sum()
    }

    /// The slowest answer of any kind.
    pub(crate) fn slowest(&self) -> Duration {
        self.timings
            .values()
            .flatten()
            .max()
            .copied()
            .unwrap_or_default()
    }

    /// Prints p50, p99 and the maximum of each kind of operation, the statuses, and the first
    /// failures.
    pub(crate) fn print(&self) {
        eprintln!("  operation        count    p50 ms   p99 ms   max ms");
        for (kind, v) in &self.timings {
            let mut v = v.clone();
            v.sort();
            eprintln!(
                "  {:<15} {:>6}  {:>7}  {:>7}  {:>7}",
                format!("{kind:?}"),
                v.len(),
                ms(percentile(&v, 50)),
                ms(percentile(&v, 99)),
                ms(*v.last().unwrap())
            );
        }
        eprintln!("  statuses: {:?}", self.statuses);
        for f in self.failures.iter().take(20) {
            eprintln!("  FAILED {f}");
        }
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() - 1) * p / 100]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}
