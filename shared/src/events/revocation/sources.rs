//! Which EventBridge events may revoke: only those from a `source` of the allow-list
//! ([`Options`](crate::events::revocation::Options)); any other is logged, counted and
//! dropped. An accepted event's `source` and `account` are what `revoked_via` records.

use serde_json::Value;

use crate::support::metrics::Counter;

/// The log message of a refused event (a `source` not in the list).
pub const REFUSED: &str = "revocation event refused: source not allowed";
/// The metric counting refused events (namespace `metrics::NAMESPACE`).
pub const REFUSED_METRIC: &str = "RevocationEventsRefused";
/// Refused events.
pub static REFUSED_EVENTS: Counter = Counter::new(REFUSED_METRIC);

/// Events refused for their `source` since the process started.
pub fn refused_events() -> u64 {
    REFUSED_EVENTS.get()
}

/// The `source` and `account` of a body that is a whole EventBridge event (the same test
/// [`parse`](crate::events::revocation::parse) makes); `None` for a bare request.
pub(super) fn envelope(body: &Value) -> Option<(&str, &str)> {
    let obj = body.as_object()?;
    (obj.contains_key("detail-type") && obj.contains_key("detail")).then(|| {
        let field = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
        (field("source"), field("account"))
    })
}

/// The `revoked_via` of an accepted EventBridge event.
pub(super) fn event_via(source: &str, account: &str) -> String {
    format!("event:{source}@{account}")
}

/// Counts and logs an event refused for its `source`.
pub(super) fn refuse(id: &str, body: &Value, source: &str, account: &str) {
    REFUSED_EVENTS.add_one();
    let kind = body.get("detail-type").and_then(Value::as_str);
    tracing::warn!(id = %id, source = %source, account = %account, detail_type = kind.unwrap_or_default(), "{REFUSED}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_an_eventbridge_envelope_has_a_source_to_check() {
        let detail = json!({"tenant_id": "acme", "user_id": "bob"});
        assert_eq!(
            envelope(&json!({"detail-type": "RevokeUserTokens", "source": "idp",
                "account": "123456789012", "detail": detail})),
            Some(("idp", "123456789012"))
        );
        // An envelope without a source has the empty one, which no list holds.
        assert_eq!(
            envelope(&json!({"detail-type": "RevokeUserTokens", "detail": detail})),
            Some(("", ""))
        );
        assert_eq!(envelope(&detail), None);
    }
}
