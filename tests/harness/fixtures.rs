//! Records, principals and events built without the service: token records, the
//! `tests/fixtures/` events, and the revocation handler's options.

use serde_json::Value;

/// A plain active token record of `tenant` and `user`, created now, for tests and benchmarks
/// that build records without the service (override fields with `..sample_token(..)`).
pub fn sample_token(tenant: &str, user: &str) -> api_tokens::model::TokenItem {
    let now = api_tokens::time::now();
    api_tokens::model::TokenItem {
        id: uuid::Uuid::now_v7(),
        tenant_id: tenant.into(),
        user_id: user.into(),
        name: "sample".into(),
        description: None,
        prefix: "tkn_sample".into(),
        scopes: vec![],
        status: api_tokens::model::StoredStatus::Active,
        created_by: user.into(),
        created_at: now,
        updated_at: now,
        last_used_at: None,
        last_used_ip: None,
        expires_at: None,
        revoked_at: None,
        revoked_by: None,
        revoked_via: None,
        revocation_reason: None,
        metadata: Default::default(),
        allowed_ips: vec![],
        rotated_from: None,
        rotated_to: None,
        updated_by: None,
        rate_limit: None,
        quota: None,
    }
}

/// A fixture of `tests/fixtures/` with its `{{PLACEHOLDERS}}` filled in.
pub fn fixture(name: &str, fill: &[(&str, &str)]) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(path).unwrap();
    for (k, v) in fill {
        text = text.replace(&format!("{{{{{k}}}}}"), v);
    }
    serde_json::from_str(&text).unwrap()
}

/// An SQS event of the fixture's shape with one record per `(message id, body)`.
pub fn sqs_batch(bodies: &[(String, String)]) -> Value {
    let template = fixture("sqs-revoke-batch.json", &[])["Records"][0].clone();
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = serde_json::json!(id);
            r["body"] = serde_json::json!(body);
            r
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// The EventBridge sources of the revocation fixtures (`tests/fixtures/eventbridge-*.json`):
/// the default of `RevocationEventSources` in `template.yaml` (`tests/spec/template.rs`
/// checks that they agree).
pub const EVENT_SOURCES: &[&str] = &[
    "com.example.idp",
    "com.example.security",
    "com.example.secret-scanning",
];

/// The revocation handler's options as the template sets them, without a continuation
/// queue: events of [`EVENT_SOURCES`] only.
pub fn revocation_options() -> api_tokens::events::revocation::Options {
    api_tokens::events::revocation::Options::new(EVENT_SOURCES.iter().copied())
}

/// A principal for calling the service directly (as the authorizer context would).
pub fn principal(tenant: &str, user: &str, scopes: &[&str]) -> api_tokens::Principal {
    api_tokens::Principal {
        tenant_id: tenant.into(),
        user_id: user.into(),
        token_id: uuid::Uuid::now_v7().to_string(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
        allowed_ips: vec![],
        metadata: Default::default(),
        rate_limit: None,
        quota: None,
    }
}

/// Sleeps until `t`, on the wall clock the service reads, has passed by `margin_ms`: a test
/// waits for an expiry measured, never for a fixed time.
pub async fn sleep_past(t: api_tokens::time::Timestamp, margin_ms: u64) {
    let wait = (t - api_tokens::time::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(margin_ms)).await;
}
