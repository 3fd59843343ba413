//! DynamoDB Streams Lambda: publishes every committed token change as a lifecycle event on
//! EventBridge (see `api_tokens::events::lifecycle`), reporting failed records for retry.

use api_tokens::events::lifecycle::{self, EventBridgeSink};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let sink = &EventBridgeSink::from_env().await?;
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(lifecycle::publish(sink, &event.payload).await?)
    }))
    .await
}
