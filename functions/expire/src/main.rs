//! Scheduled Lambda: moves tokens past their expiry to the `expired` status.

use api_tokens::Keys;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let service = api_tokens::service_from_env(Keys::NONE).await?;
    run(service_fn(|_: LambdaEvent<Value>| async {
        let moved = service.sweep_expired().await?;
        Ok::<_, Error>(json!({ "moved": moved }))
    }))
    .await
}
