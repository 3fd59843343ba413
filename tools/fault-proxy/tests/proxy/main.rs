//! The proxy's specification, against a small upstream started in each test (no DynamoDB
//! needed, except for `sdk`, which runs only when `DYNAMODB_ENDPOINT` is set).

mod control;
mod faults;
mod rules;
mod sdk;
mod support;
mod transparent;
