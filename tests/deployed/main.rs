//! The functions as AWS runs them: their release binaries under the Lambda emulator
//! (`tools/lambda-emulator`), frozen between invocations, with the environment `template.yaml`
//! gives each, behind API Gateway stand-ins built from the template's routes and authorizer.
//! Run by `scripts/test-lambda`, which builds the binaries and expands the template first;
//! every AWS call the binaries make is recorded for its IAM check.

mod api;
mod authorizer_cache;
mod cold_starts;
mod consumer;
mod events;
mod faults;
mod freezing;
mod limits;
mod orders;
mod rest;
mod stack;
