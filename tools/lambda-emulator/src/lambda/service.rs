//! The Lambda service: per function a pool of environments, most recently used first, a
//! cold start when none is idle, throttling at the reserved concurrency, and the timeout.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::environment::{Environment, Spawn};
use super::runtime_api::{Event, Outcome};
use super::variables::{variables, Extras};
use crate::invoke::{FunctionError, Invocation, Invoke, InvokeFuture};
use crate::model::{Deployment, Function};

/// How the functions are run.
#[derive(Debug, Clone)]
pub struct LambdaOptions {
    /// Holds `<binary>/bootstrap` per function (cargo-lambda's layout).
    pub bin_dir: PathBuf,
    /// Where `<FunctionLogicalId>-<environment>.log` files go.
    pub log_dir: PathBuf,
    /// Stop each process while it waits for an event, as Lambda does.
    pub freeze: bool,
    /// Variables every function gets, after the template's.
    pub extra_env: BTreeMap<String, String>,
    /// The AWS stand-in's URL (`AWS_ENDPOINT_URL`).
    pub aws_endpoint: String,
}

/// What the service did for one function so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionStats {
    /// Environments started (cold starts), including those whose init failed.
    pub environments_started: u64,
    /// Init duration of every cold start that completed its init.
    pub cold_start_init: Vec<Duration>,
    /// Events given to an environment.
    pub invocations: u64,
    /// Invocations that ended without a response (function errors, timeouts, crashes): what
    /// Lambda's `Errors` metric, and so the template's errors alarm, counts.
    pub errors: u64,
}

/// One live environment, as [`Lambda::environments`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentInfo {
    /// Its number among the function's environments, from 1.
    pub number: u64,
    /// Its process.
    pub pid: u32,
    /// Whether an invocation runs in it.
    pub busy: bool,
}

/// The local Lambda service. Cheap to clone; dropping the last clone kills every process.
#[derive(Clone)]
pub struct Lambda {
    inner: Arc<Inner>,
}

struct Inner {
    functions: BTreeMap<String, Slot>,
}

/// One function: how to start it and its pool.
struct Slot {
    function: Function,
    spawn: Spawn,
    pool: Mutex<Pool>,
}

#[derive(Default)]
struct Pool {
    /// Idle environments, the most recently used last.
    idle: Vec<Environment>,
    /// Live busy environments: number → pid.
    busy: BTreeMap<u64, u32>,
    /// Environments being started.
    starting: u32,
    stats: FunctionStats,
    closed: bool,
}

impl Lambda {
    /// The service for every function of `deployment`; starts no process yet.
    pub fn new(deployment: &Deployment, options: LambdaOptions) -> Self {
        let functions = deployment
            .functions
            .iter()
            .map(|(id, function)| {
                let dir = options.bin_dir.join(&function.binary);
                let extras = Extras {
                    extra_env: &options.extra_env,
                    aws_endpoint: &options.aws_endpoint,
                    task_root: &dir,
                };
                let spawn = Spawn {
                    bootstrap: dir.join("bootstrap"),
                    env: variables(deployment, id, function, &extras),
                    log_prefix: options.log_dir.join(id),
                    freeze: options.freeze,
                };
                let slot = Slot {
                    function: function.clone(),
                    spawn,
                    pool: Mutex::default(),
                };
                (id.clone(), slot)
            })
            .collect();
        Self {
            inner: Arc::new(Inner { functions }),
        }
    }

    /// What the service did for `function` (empty for an unknown one).
    pub fn stats(&self, function: &str) -> FunctionStats {
        self.inner
            .functions
            .get(function)
            .map(|slot| slot.lock().stats.clone())
            .unwrap_or_default()
    }

    /// The live environments of `function`, by number.
    pub fn environments(&self, function: &str) -> Vec<EnvironmentInfo> {
        let Some(slot) = self.inner.functions.get(function) else {
            return Vec::new();
        };
        let pool = slot.lock();
        let idle = pool.idle.iter().map(|env| EnvironmentInfo {
            number: env.number,
            pid: env.pid,
            busy: false,
        });
        let busy = pool.busy.iter().map(|(&number, &pid)| EnvironmentInfo {
            number,
            pid,
            busy: true,
        });
        let mut all: Vec<_> = idle.chain(busy).collect();
        all.sort_by_key(|env| env.number);
        all
    }

    /// Waits until no invocation of `function` runs and every environment of it waits for an
    /// event (stopped, when freezing).
    pub async fn wait_idle(&self, function: &str) {
        let Some(slot) = self.inner.functions.get(function) else {
            return;
        };
        loop {
            {
                let pool = slot.lock();
                if pool.busy.is_empty()
                    && pool.starting == 0
                    && pool.idle.iter().all(Environment::idle)
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Kills every process; later invocations fail.
    pub async fn shutdown(&self) {
        for slot in self.inner.functions.values() {
            let idle = {
                let mut pool = slot.lock();
                pool.closed = true;
                for &pid in pool.busy.values() {
                    kill(pid);
                }
                std::mem::take(&mut pool.idle)
            };
            for env in &idle {
                env.kill();
            }
        }
        tokio::task::yield_now().await;
    }

    async fn run(&self, function: &str, payload: serde_json::Value) -> Invocation {
        let Some(slot) = self.inner.functions.get(function) else {
            return failed(0, FunctionError::Runtime(format!("no function {function}")));
        };
        let mut lease = match slot.lease() {
            Ok(lease) => lease,
            Err(error) => return failed(0, error),
        };
        let (env, init) = match lease.idle.take() {
            Some(env) => (env, None),
            None => match Environment::start(&slot.spawn, lease.number).await {
                Ok((env, init)) => {
                    slot.lock().stats.cold_start_init.push(init);
                    (env, Some(init))
                }
                Err(reason) => return failed(lease.number, FunctionError::Runtime(reason)),
            },
        };
        lease.hold(&env);
        slot.invoke(lease, env, init, payload).await
    }
}

impl Invoke for Lambda {
    fn invoke<'a>(&'a self, function: &'a str, payload: serde_json::Value) -> InvokeFuture<'a> {
        Box::pin(self.run(function, payload))
    }
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle environment (most recently used), else the right to start one.
    fn lease(&self) -> Result<Lease<'_>, FunctionError> {
        let mut pool = self.lock();
        if pool.closed {
            return Err(FunctionError::Runtime(
                "the Lambda service is shut down".into(),
            ));
        }
        if let Some(env) = pool.idle.pop() {
            let number = env.number;
            pool.busy.insert(number, env.pid);
            return Ok(Lease {
                slot: self,
                number,
                idle: Some(env),
                starting: false,
            });
        }
        let running = pool.busy.len() as u64 + u64::from(pool.starting);
        if let Some(limit) = self.function.reserved_concurrency {
            if running >= u64::from(limit) {
                return Err(FunctionError::Throttled);
            }
        }
        pool.stats.environments_started += 1;
        pool.starting += 1;
        Ok(Lease {
            slot: self,
            number: pool.stats.environments_started,
            idle: None,
            starting: true,
        })
    }

    /// Runs one event in `env` and puts `env` back unless it broke.
    async fn invoke(
        &self,
        lease: Lease<'_>,
        env: Environment,
        init: Option<Duration>,
        payload: serde_json::Value,
    ) -> Invocation {
        let timeout = Duration::from_secs(u64::from(self.function.timeout_seconds));
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let event = Event {
            id: uuid::Uuid::now_v7().to_string(),
            body: Bytes::from(body),
            deadline_ms: chrono::Utc::now().timestamp_millis() + timeout.as_millis() as i64,
            function_arn: self.function.arn.clone(),
            trace_id: trace_id(),
        };
        self.lock().stats.invocations += 1;
        let started = Instant::now();
        let outcome = tokio::time::timeout(timeout, env.assign(event)).await;
        let duration = started.elapsed();
        let (result, keep) = match outcome {
            Err(_) => (Err(FunctionError::Timeout(timeout)), false),
            Ok(Err(_)) => (
                Err(FunctionError::Runtime("the environment went away".into())),
                false,
            ),
            Ok(Ok(Outcome::Response(body))) => (Ok(body), true),
            Ok(Ok(Outcome::Error {
                error_type,
                message,
            })) => (
                Err(FunctionError::Handled {
                    error_type,
                    message,
                }),
                true,
            ),
            Ok(Ok(Outcome::Broken(reason))) => (Err(FunctionError::Runtime(reason)), false),
        };
        if result.is_err() {
            // What Lambda's `Errors` metric counts: every invocation without a response.
            self.lock().stats.errors += 1;
        }
        let environment = env.number;
        if keep && env.broken().is_none() {
            lease.release(env);
        } else {
            env.kill();
        }
        Invocation {
            result,
            environment,
            init,
            duration,
        }
    }
}

/// A claim on one of a function's environments; dropping it frees the claim.
struct Lease<'a> {
    slot: &'a Slot,
    number: u64,
    idle: Option<Environment>,
    starting: bool,
}

impl Lease<'_> {
    /// The started environment `env` is now busy.
    fn hold(&mut self, env: &Environment) {
        let mut pool = self.slot.lock();
        if self.starting {
            self.starting = false;
            pool.starting -= 1;
        }
        pool.busy.insert(env.number, env.pid);
    }

    /// Puts `env` back among the idle ones.
    fn release(self, env: Environment) {
        let mut pool = self.slot.lock();
        if pool.closed {
            env.kill();
        } else {
            pool.idle.push(env);
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut pool = self.slot.lock();
        if self.starting {
            pool.starting -= 1;
        }
        pool.busy.remove(&self.number);
    }
}

fn failed(environment: u64, error: FunctionError) -> Invocation {
    Invocation {
        result: Err(error),
        environment,
        init: None,
        duration: Duration::ZERO,
    }
}

/// An X-Ray trace header: `Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0`.
fn trace_id() -> String {
    let random = uuid::Uuid::now_v7().simple().to_string();
    let parent = uuid::Uuid::now_v7().simple().to_string();
    format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        chrono::Utc::now().timestamp(),
        &random[8..],
        &parent[16..]
    )
}

fn kill(pid: u32) {
    if pid > 0 {
        // SAFETY: kill(2) has no memory effects; the pid is one of our children.
        unsafe {
            libc::kill(pid as i32, libc::SIGCONT);
            libc::kill(pid as i32, libc::SIGKILL);
        }
    }
}
