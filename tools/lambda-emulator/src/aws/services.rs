//! SSM Parameter Store, EventBridge and SQS as far as the functions use them, answered from
//! memory: SecureString parameters given up front and the model's String parameters, events
//! and messages kept for the tests to read. Each
//! answer comes with the IAM requests the call is; values and event details stay out of them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::call::IamRequest;
use super::md5::md5_hex;
use crate::model::Deployment;

/// What one call gets: status, JSON body, and the IAM requests it is.
#[derive(Debug)]
pub(super) struct Answer {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// The IAM requests.
    pub requests: Vec<IamRequest>,
}

impl Answer {
    fn ok(body: Value, requests: Vec<IamRequest>) -> Self {
        Self {
            status: 200,
            body,
            requests,
        }
    }

    /// A JSON-protocol error (`__type`), as IAM evaluates it: one request on `resource`.
    pub fn error(status: u16, kind: &str, message: &str, action: &str, resource: &str) -> Self {
        Self {
            status,
            body: json!({"__type": kind, "message": message}),
            requests: vec![IamRequest::new(action, resource)],
        }
    }
}

/// What a SecureString read without decryption answers: ciphertext, here not even derived
/// from the value.
fn ciphertext(name: &str) -> String {
    let opaque = format!("emulated-ciphertext:{name}");
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, opaque)
}

/// The services kept in memory.
pub(super) struct Memory {
    model: Deployment,
    parameters: BTreeMap<String, String>,
    events: Mutex<Vec<Value>>,
    messages: Mutex<Vec<(String, String)>>,
}

impl Memory {
    /// Services with `parameters` (name → value) and nothing sent yet.
    pub fn new(model: Deployment, parameters: BTreeMap<String, String>) -> Self {
        Self {
            model,
            parameters,
            events: Mutex::default(),
            messages: Mutex::default(),
        }
    }

    /// Every entry `PutEvents` accepted.
    pub fn events(&self) -> Vec<Value> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every message sent: (queue URL, body).
    pub fn messages(&self) -> Vec<(String, String)> {
        self.messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        let m = &self.model;
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            m.partition, m.region, m.account
        )
    }

    /// `AmazonSSM.GetParameters`: one IAM request per name; unknown names are invalid. The
    /// parameters given up front are SecureStrings (ciphertext unless decrypted), the
    /// model's `ssm_parameters` (the stack's own `AWS::SSM::Parameter`s) Strings.
    pub fn get_parameters(&self, body: &Value) -> Answer {
        let Some(names) = body["Names"].as_array() else {
            let resource = self.arn("ssm", "parameter/*");
            let action = "ssm:GetParameters";
            return Answer::error(
                400,
                "ValidationException",
                "Names is required",
                action,
                &resource,
            );
        };
        let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
        let decrypt = body["WithDecryption"].as_bool().unwrap_or(false);
        let mut found = Vec::new();
        let mut invalid = Vec::new();
        let mut requests = Vec::new();
        for name in names {
            let arn = self.arn(
                "ssm",
                &format!("parameter/{}", name.trim_start_matches('/')),
            );
            requests.push(IamRequest::new("ssm:GetParameters", arn.clone()));
            let (kind, value) = match (
                self.parameters.get(name),
                self.model.ssm_parameters.get(name),
            ) {
                (Some(_), _) if !decrypt => ("SecureString", ciphertext(name)),
                (Some(secret), _) => ("SecureString", secret.clone()),
                (None, Some(text)) => ("String", text.clone()),
                (None, None) => {
                    invalid.push(name);
                    continue;
                }
            };
            found.push(
                json!({"Name": name, "Type": kind, "Value": value, "Version": 1,
                "ARN": arn, "DataType": "text", "LastModifiedDate": 1.7e9}),
            );
        }
        Answer::ok(
            json!({"Parameters": found, "InvalidParameters": invalid}),
            requests,
        )
    }

    /// `AWSEvents.PutEvents`: every entry kept; one IAM request per bus, with the entries'
    /// sources and detail types as context.
    pub fn put_events(&self, body: &Value) -> Answer {
        let entries = body["Entries"].as_array().cloned().unwrap_or_default();
        let mut buses: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for entry in &entries {
            let bus = entry["EventBusName"].as_str().unwrap_or("default");
            let arn = match self
                .model
                .event_buses
                .values()
                .find(|b| b.name == bus || b.arn == bus)
            {
                Some(known) => known.arn.clone(),
                None if bus.starts_with("arn:") => bus.to_owned(),
                None => self.arn("events", &format!("event-bus/{bus}")),
            };
            let (sources, types) = buses.entry(arn).or_default();
            sources.extend(entry["Source"].as_str().map(str::to_owned));
            types.extend(entry["DetailType"].as_str().map(str::to_owned));
        }
        let requests = buses
            .into_iter()
            .map(|(arn, (sources, types))| {
                let mut request = IamRequest::new("events:PutEvents", arn);
                request
                    .context
                    .insert("events:source".into(), json!(sources));
                request
                    .context
                    .insert("events:detail-type".into(), json!(types));
                request
            })
            .collect();
        let ids: Vec<Value> = entries
            .iter()
            .map(|_| json!({"EventId": uuid::Uuid::now_v7().to_string()}))
            .collect();
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(entries);
        Answer::ok(json!({"Entries": ids, "FailedEntryCount": 0}), requests)
    }

    /// `AmazonSQS.SendMessage` and `SendMessageBatch` (both `sqs:SendMessage` to IAM).
    pub fn send_message(&self, operation: &str, body: &Value) -> Answer {
        let queue = body["QueueUrl"].as_str().unwrap_or_default().to_owned();
        let requests = vec![IamRequest::new("sqs:SendMessage", self.queue_arn(&queue))];
        let sent = |text: &str| {
            self.messages
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((queue.clone(), text.to_owned()));
            (uuid::Uuid::now_v7().to_string(), md5_hex(text.as_bytes()))
        };
        if operation == "SendMessage" {
            let (id, md5) = sent(body["MessageBody"].as_str().unwrap_or_default());
            return Answer::ok(json!({"MessageId": id, "MD5OfMessageBody": md5}), requests);
        }
        let entries = body["Entries"].as_array().cloned().unwrap_or_default();
        let successful: Vec<Value> = entries
            .iter()
            .map(|entry| {
                let (id, md5) = sent(entry["MessageBody"].as_str().unwrap_or_default());
                json!({"Id": entry["Id"], "MessageId": id, "MD5OfMessageBody": md5})
            })
            .collect();
        Answer::ok(json!({"Successful": successful, "Failed": []}), requests)
    }

    /// The queue's ARN: the model's, else from the URL's `/<account>/<name>`.
    fn queue_arn(&self, url: &str) -> String {
        if let Some(queue) = self.model.queues.values().find(|q| q.url == url) {
            return queue.arn.clone();
        }
        let mut parts = url.trim_end_matches('/').rsplit('/');
        match (parts.next(), parts.next()) {
            (Some(name), Some(account)) if !name.is_empty() => format!(
                "arn:{}:sqs:{}:{account}:{name}",
                self.model.partition, self.model.region
            ),
            _ => "*".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Memory {
        let model = serde_json::from_value(json!({
            "stack_name": "s", "region": "us-east-1", "account": "123456789012", "functions": {},
            "ssm_parameters": {"/routes/abc": "{\"version\":1}"}
        }))
        .expect("model");
        let secrets = BTreeMap::from([("/keys/hash".to_string(), "k3y".to_string())]);
        Memory::new(model, secrets)
    }

    #[test]
    fn the_stacks_own_parameters_are_strings_and_the_given_ones_secure_strings() {
        let memory = memory();
        let names = json!({"Names": ["/routes/abc", "/keys/hash", "/nope"]});
        let plain = memory.get_parameters(&names).body;
        assert_eq!(plain["Parameters"][0]["Type"], "String");
        assert_eq!(plain["Parameters"][0]["Value"], "{\"version\":1}");
        assert_eq!(plain["Parameters"][1]["Type"], "SecureString");
        assert_ne!(plain["Parameters"][1]["Value"], "k3y");
        assert_eq!(plain["InvalidParameters"], json!(["/nope"]));
        let decrypted = memory.get_parameters(&json!({
            "Names": ["/routes/abc", "/keys/hash"], "WithDecryption": true}));
        assert_eq!(decrypted.body["Parameters"][0]["Value"], "{\"version\":1}");
        assert_eq!(decrypted.body["Parameters"][1]["Value"], "k3y");
        let arns: Vec<String> = decrypted.requests.into_iter().map(|r| r.resource).collect();
        assert_eq!(
            arns,
            [
                "arn:aws:ssm:us-east-1:123456789012:parameter/routes/abc",
                "arn:aws:ssm:us-east-1:123456789012:parameter/keys/hash"
            ]
        );
    }
}
