//! The `POST /orders` body, checked field by field: every invalid field is reported at once,
//! in the token service's `422 validation-error` shape.

use api_tokens_consumer::{FieldError, Problem};
use serde_json::{Map, Value};

/// Longest `item`, in characters.
pub const MAX_ITEM_CHARS: usize = 200;
/// Largest `quantity`.
pub const MAX_QUANTITY: i64 = 1000;

/// A valid `{"item": str, "quantity": int}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub item: String,
    pub quantity: i64,
}

/// The new order in `body`; `400 malformed-json` when it is not JSON (as the token service
/// answers), `422` naming every invalid field otherwise.
pub fn parse_new_order(body: &[u8]) -> Result<NewOrder, Problem> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            400,
            "malformed-json",
            "Malformed JSON",
            format!("the request body is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(fields) = value else {
        return Err(Problem::validation(vec![FieldError::new(
            ["body"],
            "object_type",
            "the body must be a JSON object",
        )]));
    };
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter(|k| !["item", "quantity"].contains(&k.as_str()))
        .map(|k| FieldError::new(["body", k], "extra_forbidden", "unknown field"))
        .collect();
    let item = item(&fields).map_err(|e| errors.push(e));
    let quantity = quantity(&fields).map_err(|e| errors.push(e));
    match (item, quantity) {
        (Ok(item), Ok(quantity)) if errors.is_empty() => Ok(NewOrder { item, quantity }),
        _ => Err(Problem::validation(errors)),
    }
}

fn item(fields: &Map<String, Value>) -> Result<String, FieldError> {
    let err = |kind, msg: &str| FieldError::new(["body", "item"], kind, msg);
    match fields.get("item") {
        None => Err(err("missing", "required")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(err("string_too_short", "must not be blank"))
        }
        Some(Value::String(s)) if s.chars().count() > MAX_ITEM_CHARS => Err(err(
            "string_too_long",
            &format!("at most {MAX_ITEM_CHARS} characters"),
        )),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(err("string_type", "must be a string")),
    }
}

fn quantity(fields: &Map<String, Value>) -> Result<i64, FieldError> {
    let err = |kind, msg: &str| FieldError::new(["body", "quantity"], kind, msg);
    match fields.get("quantity") {
        None => Err(err("missing", "required")),
        Some(v) => match v.as_i64() {
            None => Err(err("int_type", "must be an integer")),
            Some(q) if q < 1 => Err(err("greater_than_equal", "must be at least 1")),
            Some(q) if q > MAX_QUANTITY => Err(err(
                "less_than_equal",
                &format!("must be at most {MAX_QUANTITY}"),
            )),
            Some(q) => Ok(q),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kinds(body: Value) -> Vec<(Vec<Value>, String)> {
        let problem = parse_new_order(body.to_string().as_bytes()).unwrap_err();
        assert_eq!((problem.status, problem.kind), (422, "validation-error"));
        problem
            .errors
            .into_iter()
            .map(|e| (e.loc, e.kind))
            .collect()
    }

    fn at(field: &str, kind: &str) -> (Vec<Value>, String) {
        (vec![json!("body"), json!(field)], kind.into())
    }

    #[test]
    fn an_item_and_a_quantity_make_an_order() {
        let body = json!({"item": "widget", "quantity": 3}).to_string();
        assert_eq!(
            parse_new_order(body.as_bytes()),
            Ok(NewOrder {
                item: "widget".into(),
                quantity: 3
            })
        );
    }

    #[test]
    fn every_invalid_field_is_named() {
        assert_eq!(
            kinds(json!({})),
            [at("item", "missing"), at("quantity", "missing")]
        );
        assert_eq!(
            kinds(json!({"item": 5, "quantity": "3"})),
            [at("item", "string_type"), at("quantity", "int_type")]
        );
        assert_eq!(
            kinds(json!({"item": " ", "quantity": 0})),
            [
                at("item", "string_too_short"),
                at("quantity", "greater_than_equal")
            ]
        );
        assert_eq!(
            kinds(json!({"item": "x".repeat(201), "quantity": 1001})),
            [
                at("item", "string_too_long"),
                at("quantity", "less_than_equal")
            ]
        );
        assert_eq!(
            kinds(json!({"item": "w", "quantity": 1.5})),
            [at("quantity", "int_type")]
        );
        assert_eq!(
            kinds(json!({"item": "w", "quantity": 1, "price": 2})),
            [at("price", "extra_forbidden")]
        );
        assert_eq!(
            kinds(json!(["item"])),
            [(vec![json!("body")], "object_type".into())]
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_a_400() {
        for body in [&b""[..], b"{", b"item=widget"] {
            let problem = parse_new_order(body).unwrap_err();
            assert_eq!((problem.status, problem.kind), (400, "malformed-json"));
        }
    }
}
