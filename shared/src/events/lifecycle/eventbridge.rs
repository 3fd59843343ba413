//! The EventBridge sink: lifecycle events as `PutEvents` entries on the configured bus.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `EVENT_BUS_NAME` | name or ARN of the bus the events go to | required |
//! | `EVENT_SOURCE` | the events' `source` | `api-tokens` |
//! | `AWS_ENDPOINT_URL_EVENTBRIDGE` | EventBridge endpoint override | AWS |

use std::env;

use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::publish::{EntryError, EventSink, SinkError};
use super::LifecycleEvent;
use crate::config::{self, ConfigError};

/// The `source` of lifecycle events unless `EVENT_SOURCE` says otherwise.
pub const DEFAULT_SOURCE: &str = "api-tokens";

/// Where lifecycle events go, read once per cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherConfig {
    /// Name or ARN of the event bus.
    pub event_bus_name: String,
    /// The events' `source`.
    pub event_source: String,
}

impl PublisherConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| env::var(k).ok())
    }

    /// Reads the configuration through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let event_bus_name = get("EVENT_BUS_NAME")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or(ConfigError {
                var: "EVENT_BUS_NAME",
                problem: "is required".into(),
            })?;
        let event_source = get("EVENT_SOURCE")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_SOURCE.into());
        // EventBridge keeps `aws.*` sources for AWS services and refuses them in PutEvents.
        if event_source.len() > 256 || event_source.starts_with("aws.") {
            return Err(ConfigError {
                var: "EVENT_SOURCE",
                problem: "must be at most 256 characters and not start with \"aws.\"".into(),
            });
        }
        Ok(Self {
            event_bus_name,
            event_source,
        })
    }
}

/// [`EventSink`] over EventBridge `PutEvents`.
#[derive(Debug, Clone)]
pub struct EventBridgeSink {
    client: aws_sdk_eventbridge::Client,
    config: PublisherConfig,
}

impl EventBridgeSink {
    /// A sink putting events on `config`'s bus through a client built once per process.
    pub fn new(client: aws_sdk_eventbridge::Client, config: PublisherConfig) -> Self {
        Self { client, config }
    }

    /// The sink as the publisher function runs it: configuration from the environment and
    /// a client on the shared HTTP stack ([`config::lambda_sdk_config`]).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = PublisherConfig::from_env()?;
        let client =
            aws_sdk_eventbridge::Client::new(&config::lambda_sdk_config(config::Budget::EVENTS)?);
        Ok(Self::new(client, config))
    }

    fn entry(&self, event: &LifecycleEvent) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.config.event_bus_name)
            .source(&self.config.event_source)
            .detail_type(event.kind.detail_type())
            .detail(event.detail_json())
            .time(DateTime::from_millis(event.detail.time.timestamp_millis()))
            .build()
    }
}

impl EventSink for EventBridgeSink {
    async fn put(
        &self,
        events: &[LifecycleEvent],
    ) -> Result<Vec<Result<(), EntryError>>, SinkError> {
        let out = self
            .client
            .put_events()
            .set_entries(Some(events.iter().map(|e| self.entry(e)).collect()))
            .send()
            .await
            .map_err(|e| SinkError(DisplayErrorContext(e).to_string()))?;
        // One result per entry, in order: an event id, or an error code and message.
        Ok(out
            .entries()
            .iter()
            .map(|r| match r.error_code() {
                None => Ok(()),
                Some(code) => Err(EntryError {
                    code: code.to_string(),
                    message: r.error_message().unwrap_or_default().to_string(),
                }),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_bus_is_required_and_the_source_has_a_default() {
        let c = PublisherConfig::from_lookup(lookup(&[("EVENT_BUS_NAME", "tokens")])).unwrap();
        assert_eq!(c.event_source, DEFAULT_SOURCE);
        let err = PublisherConfig::from_lookup(lookup(&[("EVENT_BUS_NAME", " ")])).unwrap_err();
        assert_eq!(err.var, "EVENT_BUS_NAME");
        let err = PublisherConfig::from_lookup(lookup(&[
            ("EVENT_BUS_NAME", "tokens"),
            ("EVENT_SOURCE", "aws.tokens"),
        ]))
        .unwrap_err();
        assert_eq!(err.var, "EVENT_SOURCE");
    }
}
