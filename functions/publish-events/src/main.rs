//! DynamoDB Streams Lambda: publishes every committed token change as a lifecycle event on
//! EventBridge (see `api_tokens::events::lifecycle`), reporting failed records for retry.

use std::time::{Duration, UNIX_EPOCH};

use api_tokens::events::lifecycle::{self, EventBridgeSink};
use api_tokens::Budget;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let sink = &EventBridgeSink::from_env().await?;
    run(service_fn(|event: LambdaEvent<Value>| async move {
        let deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
        let stop_at = Budget::EVENTS.in_effect().stop_at(deadline);
        Ok::<_, Error>(lifecycle::publish_until(sink, &event.payload, Some(stop_at)).await?)
    }))
    .await
}
