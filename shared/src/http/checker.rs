//! The checks JSON bodies share: a [`Checker`] walks one body object, collecting a field
//! error for each bad field so that one response names them all.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::domain::error::{ApiError, FieldError};
use crate::domain::limits::{
    valid_metadata_key, MAX_LIFETIME, MAX_LIFETIME_DAYS, MAX_METADATA_ENTRIES,
    MAX_METADATA_KEY_CHARS, MAX_METADATA_VALUE_CHARS, MAX_NAME_CHARS,
};
use crate::http::error::loc;
use crate::support::time::{self, Timestamp};

/// Collects field errors while a body is checked, so one response names every bad field.
pub(crate) struct Checker<'a> {
    pub(crate) obj: &'a Map<String, Value>,
    pub(crate) errors: Vec<FieldError>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(body: &'a Value, known: &[&str]) -> Result<Self, ApiError> {
        let obj = body.as_object().ok_or_else(|| {
            ApiError::field(
                loc(&["body"]),
                "dict_type",
                "the body must be a JSON object",
            )
        })?;
        let mut errors: Vec<FieldError> = obj
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| FieldError::new(loc(&["body", k]), "extra_forbidden", "unknown field"))
            .collect();
        errors.sort_by(|a, b| {
            a.loc
                .iter()
                .map(Value::to_string)
                .cmp(b.loc.iter().map(Value::to_string))
        });
        Ok(Self { obj, errors })
    }

    pub(crate) fn fail_body(&mut self, kind: &'static str, msg: impl Into<String>) {
        self.errors.push(FieldError::new(loc(&["body"]), kind, msg));
    }

    pub(crate) fn fail(&mut self, field: &str, kind: &'static str, msg: impl Into<String>) {
        self.errors
            .push(FieldError::new(loc(&["body", field]), kind, msg));
    }

    /// A present, non-null field.
    pub(crate) fn get(&self, field: &str) -> Option<&'a Value> {
        self.obj.get(field).filter(|v| !v.is_null())
    }

    /// An optional string of `min..=max` characters without control characters.
    pub(crate) fn string(&mut self, field: &str, min: usize, max: usize) -> Option<String> {
        let value = self.get(field)?;
        let Some(s) = value.as_str() else {
            self.fail(field, "string_type", "must be a string");
            return None;
        };
        let chars = s.chars().count();
        if chars < min {
            self.fail(
                field,
                "string_too_short",
                format!("must have at least {min} character(s)"),
            );
        } else if chars > max {
            self.fail(
                field,
                "string_too_long",
                format!("must have at most {max} characters"),
            );
        } else if s.chars().any(char::is_control) {
            self.fail(
                field,
                "string_pattern_mismatch",
                "must not contain control characters",
            );
        } else {
            return Some(s.to_string());
        }
        None
    }

    /// An optional token name: 1..=128 characters, not blank.
    pub(crate) fn name(&mut self) -> Option<String> {
        let name = self.string("name", 1, MAX_NAME_CHARS)?;
        if name.trim().is_empty() {
            self.fail("name", "string_too_short", "name must not be blank");
            return None;
        }
        Some(name)
    }

    /// An optional token expiry: an RFC 3339 date-time later than `now` and at most
    /// [`MAX_LIFETIME`] after it.
    pub(crate) fn future_time(&mut self, field: &str, now: Timestamp) -> Option<Timestamp> {
        let latest = now + MAX_LIFETIME;
        match self.get(field)?.as_str().map(time::parse) {
            None => self.fail(field, "string_type", "must be an RFC 3339 date-time string"),
            Some(None) => self.fail(
                field,
                "datetime_parsing",
                "must be an RFC 3339 date-time, e.g. 2027-01-31T00:00:00Z",
            ),
            Some(Some(t)) if t <= now => {
                self.fail(field, "datetime_future", "must be in the future")
            }
            Some(Some(t)) if t > latest => self.fail(
                field,
                "range",
                format!(
                    "a token lives at most {} days: must be at most {}",
                    MAX_LIFETIME_DAYS,
                    time::format(&latest)
                ),
            ),
            Some(Some(t)) => return Some(t),
        }
        None
    }

    /// Optional `metadata`: at most [`MAX_METADATA_ENTRIES`] string labels.
    pub(crate) fn metadata(&mut self) -> Option<BTreeMap<String, String>> {
        let mut metadata = BTreeMap::new();
        match self.get("metadata")? {
            Value::Object(map) => {
                if map.len() > MAX_METADATA_ENTRIES {
                    self.fail(
                        "metadata",
                        "too_long",
                        format!("at most {MAX_METADATA_ENTRIES} entries"),
                    );
                }
                for (k, v) in map {
                    let at = vec!["body".into(), "metadata".into(), Value::from(k.as_str())];
                    match v.as_str() {
                        _ if !valid_metadata_key(k) => self.errors.push(FieldError::new(
                            at,
                            "invalid_key",
                            format!("keys are 1..={MAX_METADATA_KEY_CHARS} of [A-Za-z0-9._:-]"),
                        )),
                        None => self.errors.push(FieldError::new(
                            at,
                            "string_type",
                            "values must be strings",
                        )),
                        Some(s)
                            if s.chars().count() > MAX_METADATA_VALUE_CHARS
                                || s.chars().any(char::is_control) =>
                        {
                            self.errors.push(FieldError::new(
                                at,
                                "string_too_long",
                                format!(
                                    "values are at most {MAX_METADATA_VALUE_CHARS} characters, no control characters"
                                ),
                            ))
                        }
                        Some(s) => {
                            metadata.insert(k.clone(), s.to_string());
                        }
                    }
                }
            }
            _ => self.fail(
                "metadata",
                "dict_type",
                "must be an object of string values",
            ),
        }
        Some(metadata)
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// A JSON integer: `7`, or a number with no fractional part (`7.0`, which JSON Schema also
/// counts as an integer).
pub(crate) fn whole_number(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        let f = v.as_f64()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The kinds of the errors a check of `body` collected.
    fn kinds(body: Value, check: impl FnOnce(&mut Checker)) -> Vec<&'static str> {
        let mut c = Checker::new(&body, &["metadata", "at", "s"]).unwrap();
        check(&mut c);
        c.errors.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn metadata_holds_at_most_its_entries_of_short_printable_values() {
        let full: Map<String, Value> = (0..MAX_METADATA_ENTRIES)
            .map(|i| (format!("k{i}"), json!("v")))
            .collect();
        let read = |m: Value| {
            let body = json!({ "metadata": m });
            let mut c = Checker::new(&body, &["metadata"]).unwrap();
            let metadata = c.metadata();
            (
                metadata,
                c.errors.iter().map(|e| e.kind).collect::<Vec<_>>(),
            )
        };
        let (metadata, errors) = read(Value::Object(full.clone()));
        assert_eq!(
            (metadata.unwrap().len(), errors.len()),
            (MAX_METADATA_ENTRIES, 0)
        );
        let mut over = full;
        over.insert("one-more".into(), json!("v"));
        assert_eq!(read(Value::Object(over)).1, ["too_long"]);
        let longest = "v".repeat(MAX_METADATA_VALUE_CHARS);
        assert_eq!(read(json!({ "k": longest })).0.unwrap()["k"], longest);
        assert_eq!(
            read(json!({ "k": format!("{longest}v") })).1,
            ["string_too_long"]
        );
        assert_eq!(read(json!({ "k": "a\nb" })).1, ["string_too_long"]);
        assert_eq!(read(json!({ "bad key": "v" })).1, ["invalid_key"]);
        assert_eq!(read(json!({ "k": 1 })).1, ["string_type"]);
        assert_eq!(read(json!(["k"])).1, ["dict_type"]);
    }

    #[test]
    fn an_expiry_is_later_than_now_and_at_most_the_longest_lifetime_after_it() {
        let now = time::parse("2026-01-01T00:00:00Z").unwrap();
        let latest = now + MAX_LIFETIME;
        let at = |t: Timestamp| {
            let body = json!({ "at": time::format(&t) });
            let mut c = Checker::new(&body, &["at"]).unwrap();
            (c.future_time("at", now), c.errors.first().map(|e| e.kind))
        };
        assert_eq!(at(latest), (Some(latest), None));
        let one_ms = chrono::Duration::milliseconds(1);
        assert_eq!(at(now + one_ms), (Some(now + one_ms), None));
        assert_eq!(at(latest + one_ms), (None, Some("range")));
        assert_eq!(at(now), (None, Some("datetime_future")));
        let wrong = kinds(json!({ "at": 7 }), |c| {
            assert!(c.future_time("at", now).is_none())
        });
        assert_eq!(wrong, ["string_type"]);
    }

    #[test]
    fn strings_are_bounded_by_characters_not_bytes() {
        let check = |s: &str| kinds(json!({ "s": s }), |c| drop(c.string("s", 2, 3)));
        assert_eq!(check("éé"), Vec::<&str>::new());
        assert_eq!(check("ééé"), Vec::<&str>::new());
        assert_eq!(check("é"), ["string_too_short"]);
        assert_eq!(check("éééé"), ["string_too_long"]);
        assert_eq!(check("a\tb"), ["string_pattern_mismatch"]);
        assert_eq!(
            kinds(json!({ "s": 1 }), |c| drop(c.string("s", 0, 3))),
            ["string_type"]
        );
        assert_eq!(
            kinds(json!({ "s": null }), |c| assert!(c
                .string("s", 2, 3)
                .is_none())),
            Vec::<&str>::new()
        );
    }

    /// Beyond 9 * 10^15 an `f64` no longer holds every whole number: such a number written
    /// with a fraction part (`9e15`) is not taken as an integer.
    #[test]
    fn whole_numbers_are_integers_or_exact_floats() {
        assert_eq!(whole_number(&json!(7)), Some(7));
        assert_eq!(whole_number(&json!(-7.0)), Some(-7));
        assert_eq!(whole_number(&json!(8.0e15)), Some(8_000_000_000_000_000));
        assert_eq!(whole_number(&json!(9.0e15)), None);
        assert_eq!(whole_number(&json!(7.5)), None);
        assert_eq!(whole_number(&json!("7")), None);
    }
}
