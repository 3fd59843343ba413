//! A fault-injecting HTTP/1.1 proxy for tests, Toxiproxy-style: put a [`FaultProxy`] between
//! an AWS SDK client and DynamoDB Local (or any plain-HTTP JSON service) and prove that every
//! request answers within its time budget and nothing is half-written when the network fails.
//!
//! Without rules the proxy is transparent: method, path, query, headers (Host and
//! Content-Length included, so SigV4 signatures hold) and body go upstream as sent, and the
//! answer streams back. [`FaultProxy::set`] puts [`Rule`]s in force; the first rule that fires
//! gives the request its [`Fault`]:
//!
//! | fault | forwarded? | what the client sees |
//! | --- | --- | --- |
//! | `Latency(d)` | yes, after `d` | the real answer, `d` late |
//! | `Hang` | no | nothing, ever: the connection stays open until the client gives up |
//! | `Reset` | no | a TCP RST (SO_LINGER 0), no answer |
//! | `Truncate` | yes | the real status and headers (Content-Length too), half the body, then the connection closes |
//! | `Throttle` | no | 400 [`THROTTLING_BODY`] (`application/x-amz-json-1.0`) |
//! | `ServerError` | no | 500 [`SERVER_ERROR_BODY`] |
//! | `ServiceUnavailable` | no | 503 [`SERVICE_UNAVAILABLE_BODY`] |
//! | `Status { status, body }` | no | `status` with `body` (other services' `__type`s) |
//! | `AfterForward(f)` | yes, answer read in full | `f` instead of the answer: the write happened, the answer was lost |
//!
//! Hung requests stay hung when the rules are cleared (like a real stuck socket); they end
//! when their client closes the connection or the proxy is dropped ([`Stats::hanging`]).
//! If the upstream cannot be reached the proxy answers 502.
//!
//! | module | concern |
//! | --- | --- |
//! | `rules` | [`Fault`], [`Rule`] and choosing a request's fault |
//! | `proxy` | [`FaultProxy`]: listening, the rules in force, the counts |
//! | `forward` | sending a request upstream unchanged |
//! | `faults` | applying one fault |
//! | `stats` | [`Stats`] |
//! | [`control`] | the binary's HTTP control endpoint |

pub mod control;
mod faults;
mod forward;
mod proxy;
mod rules;
mod stats;

pub use faults::{SERVER_ERROR_BODY, SERVICE_UNAVAILABLE_BODY, THROTTLING_BODY};
pub use forward::UpstreamError;
pub use proxy::{FaultProxy, ProxyError};
pub use rules::{Fault, Rule, DEFAULT_SEED};
pub use stats::Stats;
