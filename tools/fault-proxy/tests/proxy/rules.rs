//! Which requests a rule takes: its share, its target, its window and its limit.

use std::time::Duration;

use fault_proxy::{Fault, FaultProxy, Rule};
use http_body_util::BodyExt;

use crate::support::{dynamodb, pooled, proxied, to};

/// The statuses of `n` requests for `operation`, one after another over a pooled client.
async fn statuses(proxy: &FaultProxy, operation: &str, n: usize) -> Vec<u16> {
    let client = pooled();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let answer = client
            .request(to(proxy, dynamodb(operation, "{}")))
            .await
            .unwrap();
        out.push(answer.status().as_u16());
        answer.into_body().collect().await.unwrap();
    }
    out
}

#[tokio::test]
async fn a_share_takes_that_fraction_of_requests_the_same_ones_every_time() {
    let (upstream, proxy) = proxied().await;

    proxy.set(vec![Rule::new(Fault::Throttle).share(0.3)]);
    let first = statuses(&proxy, "GetItem", 1000).await;
    proxy.set(vec![Rule::new(Fault::Throttle).share(0.3)]);
    let again = statuses(&proxy, "GetItem", 1000).await;

    let throttled = first.iter().filter(|&&s| s == 400).count();
    assert!(
        (250..=350).contains(&throttled),
        "{throttled} of 1000 throttled"
    );
    assert_eq!(first, again, "the same seed must pick the same requests");
    assert_eq!(upstream.seen().len(), 2 * (1000 - throttled));
    assert_eq!(proxy.stats().applied("throttle"), 2 * throttled as u64);
}

#[tokio::test]
async fn another_seed_picks_other_requests() {
    let (_upstream, proxy) = proxied().await;
    proxy.set_seeded(vec![Rule::new(Fault::Throttle).share(0.5)], 1);
    let one = statuses(&proxy, "GetItem", 100).await;
    proxy.set_seeded(vec![Rule::new(Fault::Throttle).share(0.5)], 2);
    let two = statuses(&proxy, "GetItem", 100).await;
    assert_ne!(one, two);
}

#[tokio::test]
async fn a_target_takes_only_its_operation() {
    let (upstream, proxy) = proxied().await;
    proxy.set(vec![Rule::new(Fault::Throttle).target("GetItem")]);

    assert_eq!(statuses(&proxy, "GetItem", 3).await, [400, 400, 400]);
    assert_eq!(statuses(&proxy, "BatchGetItem", 2).await, [200, 200]);
    assert_eq!(statuses(&proxy, "PutItem", 1).await, [200]);

    assert_eq!(upstream.seen().len(), 3);
    let stats = proxy.stats();
    assert_eq!(
        (
            stats.target("GetItem"),
            stats.target("BatchGetItem"),
            stats.target("PutItem")
        ),
        (3, 2, 1)
    );
    assert_eq!(
        (stats.requests, stats.forwarded, stats.applied("throttle")),
        (6, 3, 3)
    );
}

#[tokio::test]
async fn a_rule_ends_with_its_window() {
    let (_upstream, proxy) = proxied().await;
    proxy.set(vec![
        Rule::new(Fault::ServerError).lasting(Duration::from_millis(300))
    ]);

    assert_eq!(statuses(&proxy, "GetItem", 1).await, [500]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(statuses(&proxy, "GetItem", 1).await, [200]);
}

#[tokio::test]
async fn a_limit_caps_how_often_a_rule_applies_and_set_starts_it_again() {
    let (_upstream, proxy) = proxied().await;
    let rules = vec![Rule::new(Fault::Throttle).limit(2)];

    proxy.set(rules.clone());
    assert_eq!(statuses(&proxy, "GetItem", 4).await, [400, 400, 200, 200]);
    proxy.set(rules);
    assert_eq!(statuses(&proxy, "GetItem", 3).await, [400, 400, 200]);
}

#[tokio::test]
async fn rules_are_tried_in_order_and_clear_removes_them() {
    let (_upstream, proxy) = proxied().await;
    proxy.set(vec![
        Rule::new(Fault::ServerError).target("PutItem").limit(1),
        Rule::new(Fault::Throttle).target("PutItem"),
    ]);
    assert_eq!(statuses(&proxy, "PutItem", 3).await, [500, 400, 400]);

    proxy.clear();
    assert_eq!(statuses(&proxy, "PutItem", 2).await, [200, 200]);
    proxy.reset_stats();
    assert_eq!(proxy.stats(), fault_proxy::Stats::default());
}
