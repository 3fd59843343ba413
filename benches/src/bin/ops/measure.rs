//! Measuring an operation: runs it, reads the meter, and formats what it cost.

use api_tokens_benches::{Meter, Tally};

/// Runs of each operation; the tables show the mean per run.
pub const RUNS: u32 = 20;

/// The mean of `runs` tallies, per run.
pub struct Mean {
    pub tally: Tally,
    pub runs: u32,
}

impl Mean {
    pub fn requests(&self) -> String {
        if self.tally.requests.is_empty() {
            return "0".into();
        }
        self.tally
            .requests
            .iter()
            .map(|(op, n)| format!("{} {op}", num(f64::from(*n) / f64::from(self.runs))))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    pub fn rcu(&self) -> f64 {
        self.tally.read_units / f64::from(self.runs)
    }

    pub fn wcu(&self) -> f64 {
        self.tally.write_units / f64::from(self.runs)
    }

    /// Write units DynamoDB attributed to indexes, per run.
    pub fn index_wcu(&self) -> f64 {
        self.tally.index_units / f64::from(self.runs)
    }
}

/// A figure, without decimals when it is whole.
pub fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// Runs `op` [`RUNS`] times after one unmetered warm-up, and returns what it cost per run.
pub async fn measure<F, Fut>(meter: &Meter, mut op: F) -> Mean
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    op(RUNS).await;
    // Let anything the warm-up left in flight land before counting.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    meter.take();
    for i in 0..RUNS {
        op(i).await;
    }
    let tally = meter.take();
    Mean { tally, runs: RUNS }
}

/// A row of the writes table: the operation in the handler, and over HTTP.
pub fn row(what: &str, handler: &Mean, over_http: &Mean) {
    println!(
        "| {what} | {} | {} | {} | {} | {} | {} |",
        handler.requests(),
        num(handler.rcu()),
        num(handler.wcu()),
        over_http.requests(),
        num(over_http.rcu()),
        num(over_http.wcu()),
    );
}
