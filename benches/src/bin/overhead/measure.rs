//! Timing both sides of a route, interleaved.

use std::time::Instant;

use futures_util::future::LocalBoxFuture;
use integration_tests::RequestCounter;

/// Iterations run before the measured ones, unrecorded.
pub const WARM_UP: usize = 20;

/// One route's measurements.
pub struct Measured {
    pub route: &'static str,
    pub server_ms: Vec<f64>,
    pub bare_ms: Vec<f64>,
    pub server_requests: f64,
    pub bare_requests: f64,
}

/// Runs `server` and `bare` once per iteration, alternating which goes first, and keeps the
/// timings after the warm-up. Requests are counted over the measured iterations.
pub async fn interleave<'a>(
    route: &'static str,
    iterations: usize,
    counters: (&RequestCounter, &RequestCounter),
    mut server: impl FnMut(usize) -> LocalBoxFuture<'a, ()>,
    mut bare: impl FnMut(usize) -> LocalBoxFuture<'a, ()>,
) -> Measured {
    let mut m = Measured {
        route,
        server_ms: Vec::with_capacity(iterations),
        bare_ms: Vec::with_capacity(iterations),
        server_requests: 0.0,
        bare_requests: 0.0,
    };
    let mut before = (0, 0);
    for i in 0..WARM_UP + iterations {
        if i == WARM_UP {
            before = (counters.0.get(), counters.1.get());
        }
        let mut time_one = async |server_side: bool| {
            let t = Instant::now();
            if server_side {
                server(i).await;
            } else {
                bare(i).await;
            }
            t.elapsed().as_secs_f64() * 1000.0
        };
        let (a, b) = if i % 2 == 0 {
            let a = time_one(true).await;
            (a, time_one(false).await)
        } else {
            let b = time_one(false).await;
            (time_one(true).await, b)
        };
        if i >= WARM_UP {
            m.server_ms.push(a);
            m.bare_ms.push(b);
        }
    }
    m.server_requests = (counters.0.get() - before.0) as f64 / iterations as f64;
    m.bare_requests = (counters.1.get() - before.1) as f64 / iterations as f64;
    m
}
