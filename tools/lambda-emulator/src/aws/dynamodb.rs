//! DynamoDB calls as IAM evaluates them: the action and ARN of every request a call makes
//! (one per item of a transaction, one per table of a batch) and its condition keys:
//! `dynamodb:LeadingKeys` (partition-key values only, the one item value the log keeps),
//! `dynamodb:Attributes`, `dynamodb:Select` and `dynamodb:ReturnValues`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::call::IamRequest;
use super::expression::{attributes, equality_value};
use crate::model::{Deployment, Table};

/// Expression fields whose attribute names count.
const EXPRESSIONS: [&str; 5] = [
    "UpdateExpression",
    "ConditionExpression",
    "ProjectionExpression",
    "FilterExpression",
    "KeyConditionExpression",
];

/// The IAM requests of the DynamoDB call `operation` with JSON `body`.
pub(super) fn requests(model: &Deployment, operation: &str, body: &Value) -> Vec<IamRequest> {
    let tables = Tables(model);
    match operation {
        "GetItem" | "PutItem" | "UpdateItem" | "DeleteItem" | "Query" | "Scan" => {
            vec![tables.request(&format!("dynamodb:{operation}"), body)]
        }
        "TransactWriteItems" | "TransactGetItems" => transact(&tables, body),
        "BatchGetItem" | "BatchWriteItem" => batch(&tables, operation, body),
        _ => {
            let resource = match body["TableName"].as_str() {
                Some(name) => tables.arn(name),
                None => "*".into(),
            };
            vec![IamRequest::new(format!("dynamodb:{operation}"), resource)]
        }
    }
}

/// One request per item: `Put` → `dynamodb:PutItem`, `ConditionCheck` → `dynamodb:ConditionCheckItem`, ...
fn transact(tables: &Tables<'_>, body: &Value) -> Vec<IamRequest> {
    let items = body["TransactItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|item| item.iter())
        .map(|(kind, request)| {
            let action = match kind.as_str() {
                "ConditionCheck" => "dynamodb:ConditionCheckItem".to_owned(),
                other => format!("dynamodb:{other}Item"),
            };
            tables.request(&action, request)
        })
        .collect()
}

/// One request per table, with the keys and names of all its items.
fn batch(tables: &Tables<'_>, operation: &str, body: &Value) -> Vec<IamRequest> {
    let Some(items) = body["RequestItems"].as_object() else {
        return Vec::new();
    };
    items
        .iter()
        .map(|(table, request)| {
            let mut keys = Vec::new();
            let mut names = BTreeSet::new();
            let mut record = |item: &Value| {
                if let Some(item) = item.as_object() {
                    names.extend(item.keys().cloned());
                }
                keys.extend(tables.leading_key(table, item));
            };
            match request {
                // BatchWriteItem: [{"PutRequest": {"Item"}} | {"DeleteRequest": {"Key"}}]
                Value::Array(writes) => writes.iter().for_each(|w| {
                    record(&w["PutRequest"]["Item"]);
                    record(&w["DeleteRequest"]["Key"]);
                }),
                // BatchGetItem: {"Keys": [...], "ProjectionExpression", ...}
                _ => {
                    for key in request["Keys"].as_array().into_iter().flatten() {
                        record(key);
                    }
                    names.extend(expression_attributes(request));
                }
            }
            let mut iam = IamRequest::new(format!("dynamodb:{operation}"), tables.arn(table));
            insert_list(&mut iam.context, "dynamodb:LeadingKeys", keys);
            insert_list(&mut iam.context, "dynamodb:Attributes", names);
            iam
        })
        .collect()
}

/// Top-level names in the request's expressions and legacy name lists.
fn expression_attributes(request: &Value) -> BTreeSet<String> {
    let empty = Map::new();
    let names = request["ExpressionAttributeNames"]
        .as_object()
        .unwrap_or(&empty);
    let mut out: BTreeSet<String> = EXPRESSIONS
        .iter()
        .filter_map(|field| request[*field].as_str())
        .flat_map(|expression| attributes(expression, names))
        .collect();
    out.extend(
        request["AttributesToGet"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_owned)),
    );
    for legacy in [
        "KeyConditions",
        "QueryFilter",
        "ScanFilter",
        "Expected",
        "AttributeUpdates",
    ] {
        if let Some(map) = request[legacy].as_object() {
            out.extend(map.keys().cloned());
        }
    }
    out
}

/// The model's tables, by physical name.
struct Tables<'a>(&'a Deployment);

impl Tables<'_> {
    fn table(&self, name: &str) -> Option<&Table> {
        self.0
            .tables
            .values()
            .find(|t| t.name == name || t.arn == name)
    }

    /// The table's ARN (a `TableName` may itself be one).
    fn arn(&self, name: &str) -> String {
        match self.table(name) {
            Some(table) => table.arn.clone(),
            None if name.starts_with("arn:") => name.to_owned(),
            None => format!(
                "arn:{}:dynamodb:{}:{}:table/{name}",
                self.0.partition, self.0.region, self.0.account
            ),
        }
    }

    /// The partition-key value of `item` (a `Key` or an `Item`) of `table`.
    fn leading_key(&self, table: &str, item: &Value) -> Option<Value> {
        let key = &self.table(table)?.partition_key;
        attribute_text(&item[key.as_str()])
    }

    /// The one request of an item operation, Query or Scan.
    fn request(&self, action: &str, request: &Value) -> IamRequest {
        let table = request["TableName"].as_str().unwrap_or_default();
        let index = request["IndexName"].as_str();
        let mut resource = self.arn(table);
        if let Some(index) = index {
            resource = format!("{resource}/index/{index}");
        }
        let mut iam = IamRequest::new(action, resource);
        let mut names = expression_attributes(request);
        let mut keys = Vec::new();
        for field in ["Key", "Item"] {
            if let Some(item) = request[field].as_object() {
                names.extend(item.keys().cloned());
                keys.extend(self.leading_key(table, &request[field]));
            }
        }
        if action == "dynamodb:Query" {
            keys.extend(self.queried_key(table, index, request));
        }
        insert_list(&mut iam.context, "dynamodb:LeadingKeys", keys);
        insert_list(&mut iam.context, "dynamodb:Attributes", names);
        for (field, key) in [
            ("Select", "dynamodb:Select"),
            ("ReturnValues", "dynamodb:ReturnValues"),
        ] {
            if let Some(value) = request[field].as_str() {
                iam.context.insert(key.into(), Value::String(value.into()));
            }
        }
        iam
    }

    /// The partition-key value a Query's key condition fixes, on the table or its index.
    fn queried_key(&self, table: &str, index: Option<&str>, request: &Value) -> Option<Value> {
        let table = self.table(table)?;
        let key = match index {
            Some(index) => &table.indexes.get(index)?.partition_key,
            None => &table.partition_key,
        };
        if let Some(condition) = request["KeyConditions"][key.as_str()].as_object() {
            return attribute_text(&condition.get("AttributeValueList")?[0]);
        }
        let empty = Map::new();
        let names = request["ExpressionAttributeNames"]
            .as_object()
            .unwrap_or(&empty);
        let condition = request["KeyConditionExpression"].as_str()?;
        let placeholder = equality_value(condition, names, key)?;
        attribute_text(&request["ExpressionAttributeValues"][placeholder.as_str()])
    }
}

/// An attribute value's text: `{"S": "x"}` → `"x"`, `{"N": "1"}` → `"1"`, `{"B": "..."}` → base64.
fn attribute_text(value: &Value) -> Option<Value> {
    let (_, text) = value
        .as_object()?
        .iter()
        .find(|(kind, _)| matches!(kind.as_str(), "S" | "N" | "B"))?;
    Some(Value::String(text.as_str()?.to_owned()))
}

/// Inserts `values` (deduplicated, in order) under `key` unless there are none.
fn insert_list<I, T>(context: &mut BTreeMap<String, Value>, key: &str, values: I)
where
    I: IntoIterator<Item = T>,
    T: Into<Value>,
{
    let mut out: Vec<Value> = Vec::new();
    for value in values.into_iter().map(Into::into) {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    if !out.is_empty() {
        context.insert(key.into(), Value::Array(out));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/tokens-table";

    fn model() -> Deployment {
        serde_json::from_value(json!({
            "stack_name": "s", "region": "us-east-1", "account": "123456789012", "functions": {},
            "tables": {"TokensTable": {"name": "tokens-table", "arn": TABLE, "partition_key": "pk",
                "indexes": {"by_owner": {"partition_key": "owner_pk", "sort_key": "created_sk"}}}}
        }))
        .expect("model")
    }

    /// The calls log's view of the requests: (action, resource, context).
    fn iam(operation: &str, body: Value) -> Vec<(String, String, Value)> {
        requests(&model(), operation, &body)
            .into_iter()
            .map(|r| (r.action, r.resource, json!(r.context)))
            .collect()
    }

    fn one(action: &str, resource: &str, context: Value) -> Vec<(String, String, Value)> {
        vec![(action.into(), resource.into(), context)]
    }

    #[test]
    fn get_item_names_its_key_and_projection() {
        let body = json!({"TableName": "tokens-table", "Key": {"pk": {"S": "TOKEN#1"}},
            "ProjectionExpression": "#st, owner_pk", "ExpressionAttributeNames": {"#st": "status"}});
        assert_eq!(
            iam("GetItem", body),
            one(
                "dynamodb:GetItem",
                TABLE,
                json!({
                "dynamodb:LeadingKeys": ["TOKEN#1"],
                "dynamodb:Attributes": ["owner_pk", "pk", "status"]})
            )
        );
    }

    #[test]
    fn put_item_keeps_the_partition_key_value_and_only_the_names_of_the_rest() {
        let body = json!({"TableName": "tokens-table",
            "Item": {"pk": {"S": "TOKEN#1"}, "secret_hash": {"B": "c2VjcmV0"}, "n": {"N": "3"}},
            "ConditionExpression": "attribute_not_exists(#pk)", "ExpressionAttributeNames": {"#pk": "pk"},
            "ReturnValues": "NONE"});
        let calls = iam("PutItem", body);
        assert_eq!(
            calls,
            one(
                "dynamodb:PutItem",
                TABLE,
                json!({
                "dynamodb:LeadingKeys": ["TOKEN#1"],
                "dynamodb:Attributes": ["n", "pk", "secret_hash"],
                "dynamodb:ReturnValues": "NONE"})
            )
        );
        assert!(
            !format!("{calls:?}").contains("c2VjcmV0"),
            "no other item value"
        );
    }

    #[test]
    fn update_item_names_what_its_expressions_name() {
        let body = json!({"TableName": TABLE, "Key": {"pk": {"S": "TOKEN#2"}},
            "UpdateExpression": "SET #st = :revoked, #m.#k = :v REMOVE expires_sk",
            "ConditionExpression": "attribute_exists(#pk) AND tenant_id = :tn",
            "ExpressionAttributeNames": {"#st": "status", "#m": "metadata", "#k": "deep", "#pk": "pk"},
            "ExpressionAttributeValues": {":revoked": {"S": "revoked"}, ":v": {"S": "x"}, ":tn": {"S": "t"}},
            "ReturnValues": "ALL_NEW"});
        assert_eq!(
            iam("UpdateItem", body),
            one(
                "dynamodb:UpdateItem",
                TABLE,
                json!({
                "dynamodb:LeadingKeys": ["TOKEN#2"],
                "dynamodb:Attributes": ["expires_sk", "metadata", "pk", "status", "tenant_id"],
                "dynamodb:ReturnValues": "ALL_NEW"})
            )
        );
    }

    #[test]
    fn delete_item_is_one_request_on_the_table() {
        let body = json!({"TableName": "tokens-table", "Key": {"pk": {"S": "TOKEN#3"}}});
        assert_eq!(
            iam("DeleteItem", body),
            one(
                "dynamodb:DeleteItem",
                TABLE,
                json!({
                "dynamodb:LeadingKeys": ["TOKEN#3"], "dynamodb:Attributes": ["pk"]})
            )
        );
    }

    #[test]
    fn a_query_on_an_index_leads_with_the_index_partition_key() {
        let body = json!({"TableName": "tokens-table", "IndexName": "by_owner",
            "KeyConditionExpression": "#p = :p AND #s BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#p": "owner_pk", "#s": "created_sk"},
            "ExpressionAttributeValues": {":p": {"S": "OWNER#t#u"}, ":lo": {"S": "a"}, ":hi": {"S": "b"}},
            "ExclusiveStartKey": {"pk": {"S": "TOKEN#9"}}, "Limit": 10, "Select": "ALL_ATTRIBUTES"});
        assert_eq!(
            iam("Query", body),
            one(
                "dynamodb:Query",
                &format!("{TABLE}/index/by_owner"),
                json!({
                "dynamodb:LeadingKeys": ["OWNER#t#u"],
                "dynamodb:Attributes": ["created_sk", "owner_pk"],
                "dynamodb:Select": "ALL_ATTRIBUTES"})
            )
        );
    }

    #[test]
    fn a_query_on_the_table_leads_with_the_table_partition_key() {
        let body = json!({"TableName": "tokens-table", "KeyConditionExpression": "pk = :v",
            "ExpressionAttributeValues": {":v": {"S": "TOKEN#4"}}, "FilterExpression": "#st = :s",
            "ExpressionAttributeNames": {"#st": "status"}});
        assert_eq!(
            iam("Query", body),
            one(
                "dynamodb:Query",
                TABLE,
                json!({
                "dynamodb:LeadingKeys": ["TOKEN#4"], "dynamodb:Attributes": ["pk", "status"]})
            )
        );
    }

    #[test]
    fn batch_get_item_is_one_request_per_table_with_every_key() {
        let body = json!({"RequestItems": {"tokens-table": {
            "Keys": [{"pk": {"S": "TOKEN#1"}}, {"pk": {"S": "TOKEN#2"}}, {"pk": {"S": "TOKEN#1"}}],
            "ProjectionExpression": "#a", "ExpressionAttributeNames": {"#a": "status"}}}});
        assert_eq!(
            iam("BatchGetItem", body),
            one(
                "dynamodb:BatchGetItem",
                TABLE,
                json!({
                "dynamodb:LeadingKeys": ["TOKEN#1", "TOKEN#2"], "dynamodb:Attributes": ["pk", "status"]})
            )
        );
    }

    #[test]
    fn transact_write_items_is_one_request_per_item() {
        let body = json!({"TransactItems": [
            {"Put": {"TableName": "tokens-table", "Item": {"pk": {"S": "TOKEN#1"}, "status": {"S": "active"}},
                "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": {"TableName": "tokens-table", "Key": {"pk": {"S": "QUOTA#u"}},
                "UpdateExpression": "ADD #n :one", "ExpressionAttributeNames": {"#n": "count"},
                "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Delete": {"TableName": "tokens-table", "Key": {"pk": {"S": "NAME#x"}}}},
            {"ConditionCheck": {"TableName": "tokens-table", "Key": {"pk": {"S": "USER#u"}},
                "ConditionExpression": "attribute_exists(pk)"}}
        ]});
        let ctx = |pk: &str, attributes: Value| json!({"dynamodb:LeadingKeys": [pk], "dynamodb:Attributes": attributes});
        assert_eq!(
            iam("TransactWriteItems", body),
            vec![
                (
                    "dynamodb:PutItem".into(),
                    TABLE.into(),
                    ctx("TOKEN#1", json!(["pk", "status"]))
                ),
                (
                    "dynamodb:UpdateItem".into(),
                    TABLE.into(),
                    ctx("QUOTA#u", json!(["count", "pk"]))
                ),
                (
                    "dynamodb:DeleteItem".into(),
                    TABLE.into(),
                    ctx("NAME#x", json!(["pk"]))
                ),
                (
                    "dynamodb:ConditionCheckItem".into(),
                    TABLE.into(),
                    ctx("USER#u", json!(["pk"]))
                ),
            ]
        );
    }

    #[test]
    fn transact_get_items_is_one_get_item_per_item() {
        let body = json!({"TransactItems": [
            {"Get": {"TableName": "tokens-table", "Key": {"pk": {"S": "TOKEN#1"}}}},
            {"Get": {"TableName": "other", "Key": {"id": {"S": "x"}}}}
        ]});
        assert_eq!(
            iam("TransactGetItems", body),
            vec![
                (
                    "dynamodb:GetItem".into(),
                    TABLE.into(),
                    json!({"dynamodb:LeadingKeys": ["TOKEN#1"], "dynamodb:Attributes": ["pk"]})
                ),
                (
                    "dynamodb:GetItem".into(),
                    "arn:aws:dynamodb:us-east-1:123456789012:table/other".into(),
                    json!({"dynamodb:Attributes": ["id"]})
                ),
            ]
        );
    }

    #[test]
    fn table_operations_name_the_table_and_list_tables_names_none() {
        assert_eq!(
            iam("CreateTable", json!({"TableName": "tokens-table"})),
            one("dynamodb:CreateTable", TABLE, json!({}))
        );
        assert_eq!(
            iam("ListTables", json!({})),
            one("dynamodb:ListTables", "*", json!({}))
        );
    }
}
