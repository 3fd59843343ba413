//! Lifecycle events: DynamoDB Streams records in, EventBridge `PutEvents` requests out.
//!
//! The input is what Lambda delivers. `fixtures/streams-token-lifecycle.json` is one
//! tenant's day as DynamoDB Local streamed it (the scenario of
//! `events_follow_what_dynamodb_local_really_streamed`), given AWS's identifiers (eventID,
//! region, stream ARN, sequence numbers), with the TTL deletion of the expired token
//! appended. `live_stream.rs` runs the scenario live and publishes what the stream holds. A
//! local endpoint stands in for EventBridge (`eventbridge.rs`): it records every request the
//! SDK sends and answers as EventBridge does, or with the failures a test asks for.

mod delivery;
mod eventbridge;
mod fixture;
mod live_stream;
mod published;
mod quota;
