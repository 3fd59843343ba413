//! Scheduled Lambda: moves tokens past their expiry to the `expired` status.

use std::time::{Duration, UNIX_EPOCH};

use api_tokens::{Budget, Keys};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let service = api_tokens::service_from_env(Keys::NONE, Budget::EVENTS).await?;
    run(service_fn(|event: LambdaEvent<Value>| {
        let deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
        let service = &service;
        async move {
            let stop_at = Budget::EVENTS.in_effect().stop_at(deadline);
            let moved = service.sweep_expired_until(Some(stop_at)).await?;
            Ok::<_, Error>(json!({ "moved": moved }))
        }
    }))
    .await
}
