//! The quota events: a token reaching its quota's threshold (`QUOTA_WARNING_PERCENT`) and its
//! end is published once each per period, from what DynamoDB Local really streamed.

use api_tokens::domain::usage::QuotaPeriod::Day;
use integration_tests::App;
use serde_json::Value;

use super::eventbridge::EventBridge;
use super::live_stream::stream_event;
use crate::limits::{limited, quota};
use crate::USER;

#[tokio::test]
async fn a_quotas_threshold_and_its_end_are_published_once_each() {
    let app = App::start().await;
    let (id, secret) = limited(&app, "alice", USER, None, Some(quota(5, Day))).await;
    let statuses: Vec<u16> =
        futures_util::future::join_all((0..8).map(|_| app.get("/tokens/self", &secret)))
            .await
            .into_iter()
            .map(|r| r.status)
            .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    let bridge = EventBridge::start().await;
    let response = bridge.publish(&stream_event(&app).await).await;
    assert!(response.batch_item_failures.is_empty());
    let of_token: Vec<Value> = bridge
        .entries()
        .into_iter()
        .filter(|e| e["Detail"]["token_id"] == id.as_str())
        .collect();
    // Each notice is an item of its own, so the stream may deliver them in either order.
    let mut of_token = of_token;
    of_token.sort_by_key(|e| e["Detail"]["quota"]["used"].as_u64());
    let kinds: Vec<&str> = of_token
        .iter()
        .map(|e| e["DetailType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["TokenCreated", "TokenQuotaThreshold", "TokenQuotaExhausted"]
    );
    let today = chrono::Utc::now().date_naive();
    let midnight = format!("{}T00:00:00.000Z", today + chrono::Days::new(1));
    for (event, used) in of_token[1..].iter().zip([4, 5]) {
        let d = &event["Detail"];
        assert_eq!(d["tenant_id"], "acme");
        assert_eq!(d["user_id"], "alice");
        assert_eq!(d["actor"], "tokens-authorizer");
        assert_eq!(d["name"], Value::Null);
        assert_eq!(
            d["quota"],
            serde_json::json!({"limit": 5, "period": "day", "used": used,
                               "period_label": today.to_string(), "period_ends": midnight})
        );
    }
    assert_eq!(of_token[0]["Detail"]["quota"], Value::Null);
}
