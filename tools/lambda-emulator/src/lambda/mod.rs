//! The Lambda service: each function's `bootstrap` run in execution environments that speak
//! the Runtime API, frozen between invocations, started cold when none is idle, killed on
//! timeout, with the variables and credentials Lambda gives them.

mod environment;
mod runtime_api;
mod service;
mod variables;

pub use service::{EnvironmentInfo, FunctionStats, Lambda, LambdaOptions};
