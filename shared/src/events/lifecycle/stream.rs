//! Reading the records of a Lambda DynamoDB Streams event.
//!
//! Lambda delivers `{"Records": [...]}`; each record carries `eventID`, `eventName`
//! (`INSERT`, `MODIFY` or `REMOVE`) and a `dynamodb` object with `Keys`, `NewImage`,
//! `OldImage`, `SequenceNumber` and `ApproximateCreationDateTime` (epoch seconds). Images are
//! DynamoDB JSON (`{"S": ..}`, `{"M": {..}}`, ...). Only token records (`pk` = `TOKEN#<id>`)
//! and the insertion of usage notices (`USAGE_EVENT#...`) are decoded; the images of
//! credentials, counters and idempotency records are never read.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::domain::model::TokenItem;
use crate::domain::usage::{Quota, QuotaPeriod};
use crate::store::schema;
use crate::support::time::{self, Timestamp};

/// The `principalId` of the `userIdentity` DynamoDB puts on the deletions its TTL makes.
const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

/// One stream record, read as far as lifecycle events need.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// The record's `eventID`: unique per stream record, kept across redeliveries.
    pub event_id: String,
    /// Its `SequenceNumber`: what a batch item failure reports.
    pub sequence_number: String,
    /// What was written.
    pub change: Change,
}

/// The write a stream record describes.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// An item that is not a token record (credential, counter, idempotency record).
    NotAToken,
    /// A token record was written for the first time.
    Inserted {
        /// The record as written.
        new: TokenItem,
    },
    /// A token record changed.
    Modified {
        /// Before.
        old: Box<TokenItem>,
        /// After.
        new: Box<TokenItem>,
    },
    /// A usage notice was written: a token reached its quota's threshold or its end.
    Noticed(Box<Notice>),
    /// A token record was deleted.
    Removed {
        /// The record as it was.
        old: TokenItem,
        /// When the deletion was recorded in the stream.
        at: Timestamp,
        /// DynamoDB's TTL deleted it (rather than a client).
        by_ttl: bool,
    },
}

/// A usage notice as the authorizer wrote it (`store::UsageNotice`).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// `threshold` or `exhausted`.
    pub kind: String,
    /// The token's tenant.
    pub tenant_id: String,
    /// Its owner.
    pub user_id: String,
    /// The token.
    pub token_id: uuid::Uuid,
    /// Its quota.
    pub quota: Quota,
    /// The count reached.
    pub used: u64,
    /// The period (`d2026-12-08`, `m2026-12`, `total`).
    pub period: String,
    /// When the period ends (`None`: a total quota).
    pub period_ends: Option<Timestamp>,
    /// When the count was reached.
    pub at: Timestamp,
}

/// Why a stream record cannot be read. Redelivering it would not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// The record is not a JSON object.
    #[error("the record is not a JSON object")]
    NotObject,
    /// A field the record must have is missing or of the wrong type.
    #[error("{0} is missing or not of the expected type")]
    Missing(&'static str),
    /// An `eventName` other than `INSERT`, `MODIFY` and `REMOVE`.
    #[error("unknown eventName {0:?}")]
    UnknownEventName(String),
    /// An image or key is not valid DynamoDB JSON.
    #[error("{field}: invalid DynamoDB JSON: {problem}")]
    AttributeValue {
        /// `Keys`, `NewImage` or `OldImage`.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A token record image that does not decode into a token.
    #[error("{field}: not a token record: {problem}")]
    Token {
        /// `NewImage` or `OldImage`.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// Reads one record of a Lambda DynamoDB Streams event.
pub fn read_record(record: &Value) -> Result<StreamRecord, Malformed> {
    let record = record.as_object().ok_or(Malformed::NotObject)?;
    let text = |obj: &Map<String, Value>, field: &'static str| {
        obj.get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or(Malformed::Missing(field))
    };
    let event_id = text(record, "eventID")?;
    let event_name = text(record, "eventName")?;
    let dynamodb = record
        .get("dynamodb")
        .and_then(Value::as_object)
        .ok_or(Malformed::Missing("dynamodb"))?;
    let sequence_number = text(dynamodb, "SequenceNumber")?;
    let keys = image(dynamodb, "Keys")?;
    let pk = match keys.get(schema::PK) {
        Some(AttributeValue::S(pk)) => pk.as_str(),
        _ => "",
    };
    let is_token = pk.starts_with("TOKEN#");
    let change = match (is_token, event_name.as_str()) {
        (_, name) if !["INSERT", "MODIFY", "REMOVE"].contains(&name) => {
            return Err(Malformed::UnknownEventName(event_name));
        }
        (false, "INSERT") if pk.starts_with(schema::USAGE_NOTICE_PREFIX) => {
            Change::Noticed(Box::new(notice(dynamodb)?))
        }
        (false, _) => Change::NotAToken,
        (true, "INSERT") => Change::Inserted {
            new: token(dynamodb, "NewImage")?,
        },
        (true, "MODIFY") => Change::Modified {
            old: Box::new(token(dynamodb, "OldImage")?),
            new: Box::new(token(dynamodb, "NewImage")?),
        },
        (true, _) => Change::Removed {
            old: token(dynamodb, "OldImage")?,
            at: approximate_time(dynamodb)?,
            by_ttl: record
                .get("userIdentity")
                .and_then(|u| u.get("principalId"))
                .and_then(Value::as_str)
                == Some(TTL_PRINCIPAL),
        },
    };
    Ok(StreamRecord {
        event_id,
        sequence_number,
        change,
    })
}

/// `ApproximateCreationDateTime`: epoch seconds, possibly with a fraction.
fn approximate_time(dynamodb: &Map<String, Value>) -> Result<Timestamp, Malformed> {
    const FIELD: &str = "ApproximateCreationDateTime";
    let seconds = dynamodb
        .get(FIELD)
        .and_then(Value::as_f64)
        .ok_or(Malformed::Missing(FIELD))?;
    chrono::DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
        .map(time::truncate)
        .ok_or(Malformed::Missing(FIELD))
}

/// A token record image.
fn token(dynamodb: &Map<String, Value>, field: &'static str) -> Result<TokenItem, Malformed> {
    serde_dynamo::from_item(image(dynamodb, field)?).map_err(|e| Malformed::Token {
        field,
        problem: e.to_string(),
    })
}

/// A usage notice's image.
fn notice(dynamodb: &Map<String, Value>) -> Result<Notice, Malformed> {
    const FIELD: &str = "NewImage";
    let item = image(dynamodb, FIELD)?;
    let bad = |problem: &str| Malformed::Token {
        field: FIELD,
        problem: format!("not a usage notice: {problem}"),
    };
    let text = |k: &str| match item.get(k) {
        Some(AttributeValue::S(v) | AttributeValue::N(v)) => Some(v.clone()),
        _ => None,
    };
    let quota = match item.get("quota") {
        Some(AttributeValue::M(m)) => {
            let limit = match m.get("limit") {
                Some(AttributeValue::N(n)) => n.parse().ok(),
                _ => None,
            };
            let period = match m.get("period") {
                Some(AttributeValue::S(p)) => QuotaPeriod::parse(p),
                _ => None,
            };
            limit
                .zip(period)
                .map(|(limit, period)| Quota { limit, period })
        }
        _ => None,
    };
    Ok(Notice {
        kind: text("kind").ok_or_else(|| bad("kind"))?,
        tenant_id: text("tenant_id").ok_or_else(|| bad("tenant_id"))?,
        user_id: text("user_id").ok_or_else(|| bad("user_id"))?,
        token_id: text("token_id")
            .and_then(|t| uuid::Uuid::parse_str(&t).ok())
            .ok_or_else(|| bad("token_id"))?,
        quota: quota.ok_or_else(|| bad("quota"))?,
        used: text("used")
            .and_then(|u| u.parse().ok())
            .ok_or_else(|| bad("used"))?,
        period: text("period").ok_or_else(|| bad("period"))?,
        period_ends: match text("period_ends") {
            Some(t) => Some(time::parse(&t).ok_or_else(|| bad("period_ends"))?),
            None => None,
        },
        at: text("at")
            .and_then(|t| time::parse(&t))
            .ok_or_else(|| bad("at"))?,
    })
}

/// An image (or the keys) as DynamoDB attribute values.
fn image(
    dynamodb: &Map<String, Value>,
    field: &'static str,
) -> Result<HashMap<String, AttributeValue>, Malformed> {
    let map = dynamodb
        .get(field)
        .and_then(Value::as_object)
        .ok_or(Malformed::Missing(field))?;
    attributes(map).map_err(|problem| Malformed::AttributeValue { field, problem })
}

fn attributes(map: &Map<String, Value>) -> Result<HashMap<String, AttributeValue>, String> {
    map.iter()
        .map(|(k, v)| {
            attribute(v)
                .map(|v| (k.clone(), v))
                .map_err(|e| format!("{k}: {e}"))
        })
        .collect()
}

/// One DynamoDB JSON value: an object with exactly one type descriptor.
pub fn attribute(value: &Value) -> Result<AttributeValue, String> {
    let obj = value.as_object().filter(|o| o.len() == 1);
    let Some((kind, inner)) = obj.and_then(|o| o.iter().next()) else {
        return Err("expected an object with one type descriptor".into());
    };
    let text = |v: &Value| v.as_str().map(str::to_string);
    let texts = |v: &Value| -> Option<Vec<String>> { v.as_array()?.iter().map(text).collect() };
    let blob = |v: &Value| -> Option<Blob> { STANDARD.decode(v.as_str()?).ok().map(Blob::new) };
    let parsed = match kind.as_str() {
        "S" => text(inner).map(AttributeValue::S),
        "N" => text(inner).map(AttributeValue::N),
        "B" => blob(inner).map(AttributeValue::B),
        "BOOL" => inner.as_bool().map(AttributeValue::Bool),
        "NULL" => inner.as_bool().map(AttributeValue::Null),
        "SS" => texts(inner).map(AttributeValue::Ss),
        "NS" => texts(inner).map(AttributeValue::Ns),
        "BS" => inner
            .as_array()
            .and_then(|a| a.iter().map(blob).collect())
            .map(AttributeValue::Bs),
        "L" => {
            let list = inner.as_array().ok_or("L: expected an array")?;
            return list
                .iter()
                .map(attribute)
                .collect::<Result<_, _>>()
                .map(AttributeValue::L);
        }
        "M" => {
            let map = inner.as_object().ok_or("M: expected an object")?;
            return attributes(map).map(AttributeValue::M);
        }
        other => return Err(format!("unknown type descriptor {other:?}")),
    };
    parsed.ok_or_else(|| format!("{kind}: value of the wrong type"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(event_name: &str, pk: &str, images: Value) -> Value {
        let mut dynamodb = json!({
            "ApproximateCreationDateTime": 1767225600.5,
            "Keys": {"pk": {"S": pk}},
            "SequenceNumber": "4421584500000000017450439091",
            "SizeBytes": 123,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        });
        for (k, v) in images.as_object().unwrap() {
            dynamodb[k] = v.clone();
        }
        json!({
            "eventID": "c81e728d9d4c2f636f067f89cc14862c",
            "eventName": event_name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "eu-west-1",
            "dynamodb": dynamodb,
            "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/tokens/stream/2026-01-01T00:00:00.000"
        })
    }

    fn token_image(status: &str) -> Value {
        json!({
            "pk": {"S": "TOKEN#0194a3c2-0000-7000-8000-000000000001"},
            "id": {"S": "0194a3c2-0000-7000-8000-000000000001"},
            "tenant_id": {"S": "acme"},
            "user_id": {"S": "alice"},
            "name": {"S": "ci"},
            "prefix": {"S": "tkn_AAAAAAAA"},
            "scopes": {"L": [{"S": "tokens:read"}]},
            "status": {"S": status},
            "created_by": {"S": "alice"},
            "created_at": {"S": "2026-01-01T00:00:00.000Z"},
            "updated_at": {"S": "2026-01-01T00:00:00.000Z"},
            "metadata": {"M": {"team": {"S": "infra"}}},
            "purge_at": {"N": "1775001600"}
        })
    }

    #[test]
    fn every_dynamodb_json_type_is_read() {
        let value = json!({"M": {
            "s": {"S": "x"}, "n": {"N": "1.5"}, "b": {"B": "aGk="}, "t": {"BOOL": true},
            "z": {"NULL": true}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1"]},
            "bs": {"BS": ["aGk="]}, "l": {"L": [{"S": "y"}, {"N": "2"}]}
        }});
        let AttributeValue::M(m) = attribute(&value).unwrap() else {
            panic!("not a map")
        };
        assert_eq!(m["s"], AttributeValue::S("x".into()));
        assert_eq!(m["n"], AttributeValue::N("1.5".into()));
        assert_eq!(m["b"], AttributeValue::B(Blob::new(b"hi".to_vec())));
        assert_eq!(m["t"], AttributeValue::Bool(true));
        assert_eq!(m["z"], AttributeValue::Null(true));
        assert_eq!(m["ss"], AttributeValue::Ss(vec!["a".into(), "b".into()]));
        assert_eq!(m["ns"], AttributeValue::Ns(vec!["1".into()]));
        assert_eq!(m["bs"], AttributeValue::Bs(vec![Blob::new(b"hi".to_vec())]));
        assert_eq!(
            m["l"],
            AttributeValue::L(vec![
                AttributeValue::S("y".into()),
                AttributeValue::N("2".into())
            ])
        );
    }

    #[test]
    fn invalid_dynamodb_json_says_where() {
        for bad in [
            json!("x"),
            json!({}),
            json!({"S": "x", "N": "1"}),
            json!({"S": 1}),
            json!({"B": "not base64!"}),
            json!({"X": "x"}),
            json!({"L": [{"S": "ok"}, {"N": 2}]}),
        ] {
            assert!(attribute(&bad).is_err(), "{bad}");
        }
        let err = attribute(&json!({"M": {"team": {"S": 7}}})).unwrap_err();
        assert!(err.contains("team"), "{err}");
    }

    #[test]
    fn token_records_are_decoded_and_other_items_are_not_read() {
        let insert = record(
            "INSERT",
            "TOKEN#0194a3c2-0000-7000-8000-000000000001",
            json!({"NewImage": token_image("active")}),
        );
        let read = read_record(&insert).unwrap();
        assert_eq!(read.event_id, "c81e728d9d4c2f636f067f89cc14862c");
        assert_eq!(read.sequence_number, "4421584500000000017450439091");
        let Change::Inserted { new } = read.change else {
            panic!("not an insert")
        };
        assert_eq!((new.tenant_id.as_str(), new.name.as_str()), ("acme", "ci"));

        // A credential's image is never decoded, whatever it holds.
        let cred = record(
            "MODIFY",
            "CRED#0194a3c2-0000-7000-8000-000000000001",
            json!({"NewImage": {"junk": {"?": 1}}}),
        );
        assert_eq!(read_record(&cred).unwrap().change, Change::NotAToken);
    }

    #[test]
    fn a_ttl_deletion_is_recognised_by_its_user_identity() {
        let mut remove = record(
            "REMOVE",
            "TOKEN#0194a3c2-0000-7000-8000-000000000001",
            json!({"OldImage": token_image("expired")}),
        );
        remove["userIdentity"] =
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
        let Change::Removed { at, by_ttl, .. } = read_record(&remove).unwrap().change else {
            panic!("not a removal")
        };
        assert!(by_ttl);
        assert_eq!(time::format(&at), "2026-01-01T00:00:00.500Z");
    }

    #[test]
    fn a_record_that_cannot_be_read_says_why() {
        let token = "TOKEN#0194a3c2-0000-7000-8000-000000000001";
        let no_old = record("MODIFY", token, json!({"NewImage": token_image("active")}));
        assert_eq!(read_record(&no_old), Err(Malformed::Missing("OldImage")));
        let bad_status = record("INSERT", token, json!({"NewImage": token_image("paused")}));
        assert!(matches!(
            read_record(&bad_status),
            Err(Malformed::Token {
                field: "NewImage",
                ..
            })
        ));
        let mut unknown = record("INSERT", token, json!({"NewImage": token_image("active")}));
        unknown["eventName"] = json!("UPSERT");
        assert_eq!(
            read_record(&unknown),
            Err(Malformed::UnknownEventName("UPSERT".into()))
        );
        let mut no_sequence = unknown.clone();
        no_sequence["dynamodb"]
            .as_object_mut()
            .unwrap()
            .remove("SequenceNumber");
        assert_eq!(
            read_record(&no_sequence),
            Err(Malformed::Missing("SequenceNumber"))
        );
        assert_eq!(read_record(&json!([])), Err(Malformed::NotObject));
    }
}
