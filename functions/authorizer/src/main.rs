//! API Gateway Lambda authorizer: verifies `Authorization: Bearer <token>`.

use api_tokens::authorizer;
use api_tokens::Keys;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let service = api_tokens::service_from_env(Keys::TOKEN_HASH).await?;
    run(service_fn(|event: LambdaEvent<Value>| async {
        // A refused token is an answer (deny); only a failure is an error.
        authorizer::handle(&service, event.payload)
            .await
            .map_err(Error::from)
    }))
    .await
}
