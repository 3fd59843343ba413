//! One execution environment: a `bootstrap` process with the variables Lambda sets, its own
//! runtime API listener, and its output appended to a log file. Dropping it kills the process.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::runtime_api::{serve, Event, Outcome, RuntimeApi};

/// Lambda's limit on the init phase.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// What an environment of one function is started from.
#[derive(Debug, Clone)]
pub(super) struct Spawn {
    /// `<bin_dir>/<binary>/bootstrap`.
    pub bootstrap: PathBuf,
    /// Every variable but `AWS_LAMBDA_RUNTIME_API` and `AWS_LAMBDA_LOG_STREAM_NAME`, in order.
    pub env: Vec<(String, String)>,
    /// `<log_dir>/<LogicalId>`; `-<n>.log` is appended.
    pub log_prefix: PathBuf,
    /// Whether to stop the process while it waits for an event.
    pub freeze: bool,
}

/// A running environment.
pub(super) struct Environment {
    /// Its number among the function's environments, from 1.
    pub number: u64,
    /// The process id.
    pub pid: u32,
    api: Arc<RuntimeApi>,
    server: JoinHandle<()>,
    /// Dropping it makes the watcher kill the process.
    _kill: oneshot::Sender<()>,
}

impl Environment {
    /// Starts environment `number` and waits for its init (the first `/next`).
    pub async fn start(spawn: &Spawn, number: u64) -> Result<(Self, Duration), String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen for the runtime API: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("cannot listen for the runtime API: {e}"))?
            .port();
        let (init_tx, init_rx) = oneshot::channel();
        let api = RuntimeApi::new(spawn.freeze, init_tx);
        let server = tokio::spawn(serve(listener, api.clone()));
        let started = Instant::now();
        let child = match command(spawn, number, port).and_then(|mut c| {
            c.spawn()
                .map_err(|e| format!("cannot start {}: {e}", spawn.bootstrap.display()))
        }) {
            Ok(child) => child,
            Err(e) => {
                server.abort();
                return Err(e);
            }
        };
        let pid = child.id().unwrap_or(0);
        api.set_pid(pid as i32);
        let (kill_tx, kill_rx) = oneshot::channel();
        tokio::spawn(watch(child, kill_rx, api.clone()));
        let env = Self {
            number,
            pid,
            api,
            server,
            _kill: kill_tx,
        };
        match tokio::time::timeout(INIT_LIMIT, init_rx).await {
            Ok(Ok(Ok(at))) => Ok((env, at.duration_since(started))),
            Ok(Ok(Err(reason))) => Err(reason),
            Ok(Err(_)) => Err("the environment went away during init".into()),
            Err(_) => Err(format!(
                "Runtime.InitTimeout: no event requested within {INIT_LIMIT:?}"
            )),
        }
    }

    /// Gives the runtime `event`; the receiver hears how the invocation ended.
    pub fn assign(&self, event: Event) -> oneshot::Receiver<Outcome> {
        self.api.assign(event)
    }

    /// Whether it waits for an event with nothing in flight (and, when freezing, the process
    /// is stopped).
    pub fn idle(&self) -> bool {
        self.api.parked() && (!self.api.freezes() || process_state(self.pid) == Some('T'))
    }

    /// Why it cannot take another invocation, if it cannot.
    pub fn broken(&self) -> Option<String> {
        self.api.broken()
    }

    /// Kills the process now (continued first, so nothing stays stopped).
    pub fn kill(&self) {
        self.api.break_with("the environment was killed".into());
        signal(self.pid, libc::SIGCONT);
        signal(self.pid, libc::SIGKILL);
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn command(spawn: &Spawn, number: u64, port: u16) -> Result<Command, String> {
    let log = PathBuf::from(format!("{}-{number}.log", spawn.log_prefix.display()));
    let open = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("cannot open the log {}: {e}", log.display()))
    };
    let (stdout, stderr) = (open()?, open()?);
    let stream = format!(
        "{}/[$LATEST]{}",
        chrono::Utc::now().format("%Y/%m/%d"),
        uuid::Uuid::now_v7().simple()
    );
    let mut command = Command::new(&spawn.bootstrap);
    command
        .env_clear()
        .envs(spawn.env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", stream)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true);
    if let Some(dir) = spawn.bootstrap.parent() {
        command.current_dir(dir);
    }
    Ok(command)
}

/// Waits for the process to exit (breaking the environment) or to be told to kill it.
async fn watch(
    mut child: tokio::process::Child,
    kill: oneshot::Receiver<()>,
    api: Arc<RuntimeApi>,
) {
    tokio::select! {
        status = child.wait() => {
            let reason = match status {
                Ok(status) => format!("Runtime.ExitError: the runtime exited ({status})"),
                Err(e) => format!("Runtime.ExitError: cannot wait for the runtime: {e}"),
            };
            api.break_with(reason);
        }
        _ = kill => {
            if let Some(pid) = child.id() {
                signal(pid, libc::SIGCONT);
            }
            let _ = child.kill().await;
        }
    }
}

fn signal(pid: u32, signal: libc::c_int) {
    if pid > 0 {
        // SAFETY: kill(2) has no memory effects; the pid is our own child's.
        unsafe { libc::kill(pid as i32, signal) };
    }
}

/// The state letter of `/proc/<pid>/stat` (`T` when stopped).
pub(super) fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: the state follows the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}
