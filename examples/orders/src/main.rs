//! The orders example's one Lambda function: `GET /orders`, `POST /orders` and
//! `GET /orders/{id}` of both APIs (HTTP and REST) behind the api-tokens authorizer.

mod handler;
mod input;
mod orders;

use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use lambda_http::{run, service_fn, Error};

use crate::orders::Orders;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let table = std::env::var("ORDERS_TABLE").map_err(|_| "ORDERS_TABLE is required")?;
    // Once per cold start: region, credentials and any AWS_ENDPOINT_URL from the environment.
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .load()
        .await;
    let orders = Orders::new(aws_sdk_dynamodb::Client::new(&config), table);
    run(service_fn(|req| handler::handle(&orders, req))).await
}
