//! Latency with every DynamoDB request delayed: each route's calls one after another, timed,
//! with the DynamoDB requests they sent counted by the proxy.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use api_tokens::authorizer;
use api_tokens::service::CreateInput;
use fault_proxy::{Fault, FaultProxy, Rule, Stats};
use integration_tests::App;

use crate::routes::{authorizer_event, Route, Target};
use crate::{Bench, OWNER, TENANT};

/// Calls of each route and delay before the timed ones, unrecorded.
pub const WARM_UP: usize = 5;

/// One route at one delay.
pub struct Timed {
    /// Milliseconds per call.
    pub ms: Vec<f64>,
    /// DynamoDB requests the proxy received per call, by operation.
    pub per_call: BTreeMap<String, f64>,
}

impl Timed {
    /// Requests per call, all operations together.
    pub fn requests(&self) -> f64 {
        self.per_call.values().sum()
    }
}

/// What a route's calls work on across the delays: the tokens the create route made (the
/// delete route's targets) and the head of the rotation chain.
pub struct Pool {
    pub created: Vec<String>,
    pub chain: Option<String>,
}

/// Every DynamoDB request through `proxy` delayed by `delay` (none for zero), or no fault.
fn delay_all(proxy: &FaultProxy, delay: Duration) {
    if delay.is_zero() {
        proxy.clear();
    } else {
        proxy.set(vec![Rule::new(Fault::Latency(delay))]);
    }
}

/// Requests per call between two snapshots of the proxy's counts.
fn per_call(before: &Stats, after: &Stats, calls: usize) -> BTreeMap<String, f64> {
    after
        .targets
        .iter()
        .map(|(op, n)| (op, n - before.target(op)))
        .filter(|(_, n)| *n > 0)
        .map(|(op, n)| (op.clone(), n as f64 / calls as f64))
        .collect()
}

/// `calls` timed calls of `route` (after [`WARM_UP`]) with `delay` on every DynamoDB request.
pub async fn route(
    b: &Bench,
    pool: &mut Pool,
    route: Route,
    delay: Duration,
    calls: usize,
) -> Timed {
    let (app, proxy) = (&b.app, b.app.faults());
    proxy.clear();
    // Targets are made before the fault is set, at DynamoDB Local's own speed.
    let mut minted = Vec::new();
    if route.target() == Target::Minted {
        for i in 0..WARM_UP + calls {
            minted.push(mint(app, &format!("victim {i}")).await);
        }
    }
    if route.target() == Target::Chained && pool.chain.is_none() {
        pool.chain = Some(mint(app, "rotated").await);
    }
    let mut minted = minted.into_iter();
    delay_all(proxy, delay);
    let mut t = Timed {
        ms: Vec::with_capacity(calls),
        per_call: BTreeMap::new(),
    };
    let mut before = proxy.stats();
    for i in 0..WARM_UP + calls {
        if i == WARM_UP {
            before = proxy.stats();
        }
        let id = match route.target() {
            Target::None => String::new(),
            Target::Fixed => b.fixed.clone(),
            Target::Minted => minted.next().unwrap_or_default(),
            Target::Created => pool.created.remove(0),
            Target::Chained => pool.chain.clone().unwrap_or_default(),
        };
        let started = Instant::now();
        let reply = route.call(app, &b.admin, &id, i).await;
        let took = started.elapsed();
        assert_eq!(reply.status, route.success(), "{:?}: {}", route, reply.text);
        let made = || reply.json["id"].as_str().unwrap_or_default().to_string();
        match route {
            Route::Create => pool.created.push(made()),
            Route::Rotate => pool.chain = Some(made()),
            _ => {}
        }
        if i >= WARM_UP {
            t.ms.push(took.as_secs_f64() * 1000.0);
        }
    }
    t.per_call = per_call(&before, &proxy.stats(), calls);
    proxy.clear();
    t
}

/// `calls` timed checks of `authorizer::handle` with an uncached token.
pub async fn authorizer(b: &Bench, delay: Duration, calls: usize) -> Timed {
    let (service, proxy) = (&*b.checker.service, b.checker.faults());
    let event = authorizer_event(&b.checked);
    delay_all(proxy, delay);
    let mut t = Timed {
        ms: Vec::with_capacity(calls),
        per_call: BTreeMap::new(),
    };
    let mut before = proxy.stats();
    for i in 0..WARM_UP + calls {
        if i == WARM_UP {
            before = proxy.stats();
        }
        let started = Instant::now();
        let answer = authorizer::handle(service, event.clone()).await;
        let took = started.elapsed();
        match answer {
            Ok(a) => assert_eq!(a["isAuthorized"], true, "{a}"),
            Err(e) => panic!("the authorizer failed: {e:?}"),
        }
        if i >= WARM_UP {
            t.ms.push(took.as_secs_f64() * 1000.0);
        }
    }
    t.per_call = per_call(&before, &proxy.stats(), calls);
    proxy.clear();
    t
}

/// A token of the bench's owner, with no fault set; returns its id.
async fn mint(app: &App, name: &str) -> String {
    let input = CreateInput {
        name: name.into(),
        ..Default::default()
    };
    app.mint_with(TENANT, OWNER, &["tokens:read"], input)
        .await
        .0
}
