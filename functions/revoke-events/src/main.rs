//! Revocation requested by other AWS services: SQS batches and EventBridge events
//! (see `api_tokens::events::revocation`).

use api_tokens::{Budget, Keys};

use api_tokens::events::revocation;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let service = api_tokens::service_from_env(Keys::TOKEN_HASH, Budget::EVENTS).await?;
    // The accepted EventBridge sources and the queue long jobs continue on.
    let options =
        revocation::Options::from_env(&api_tokens::config::lambda_sdk_config(Budget::EVENTS)?)?;
    run(service_fn(|event: LambdaEvent<Value>| {
        let deadline = Some(revocation::deadline(event.context.deadline));
        let (service, options) = (&service, &options);
        async move {
            Ok::<_, Error>(revocation::handle(service, options, event.payload, deadline).await?)
        }
    }))
    .await
}
