//! One invocation of a function, as the Lambda service reports it to its caller, and the
//! [`Router`] that runs several deployments' functions together.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

mod router;
pub use router::Router;

/// Why an invocation produced no response payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunctionError {
    /// The function reported an error (`/invocation/{id}/error`), e.g. `Unauthorized`.
    #[error("{error_type}: {message}")]
    Handled {
        /// `errorType` of the error payload.
        error_type: String,
        /// `errorMessage` of the error payload.
        message: String,
    },
    /// No response within the function's timeout; the environment was discarded.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The runtime exited, failed its init, or broke the runtime API; the environment was
    /// discarded.
    #[error("runtime failed: {0}")]
    Runtime(String),
    /// Every environment the function may have is busy (reserved concurrency).
    #[error("throttled: reserved concurrency reached")]
    Throttled,
}

/// What one invocation returned, and how.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The response payload (bytes the function posted), or why there is none.
    pub result: Result<Vec<u8>, FunctionError>,
    /// The environment that ran it (numbered from 1 per function).
    pub environment: u64,
    /// Whether the environment was started for this invocation; then its init duration
    /// (process start to its first request for an event).
    pub init: Option<Duration>,
    /// From giving the event to receiving the response.
    pub duration: Duration,
}

/// A future an [`Invoke`] returns.
pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Invocation> + Send + 'a>>;

/// Invokes a function by its logical id in the model (`TokensListFunction`) with a JSON
/// payload: what API Gateway and tests call.
pub trait Invoke: Send + Sync {
    /// Invokes `function` synchronously (RequestResponse) with `payload`.
    fn invoke<'a>(&'a self, function: &'a str, payload: serde_json::Value) -> InvokeFuture<'a>;
}
