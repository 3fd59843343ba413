//! Timestamps: UTC, millisecond precision, always written as fixed-width RFC 3339
//! (`2026-01-02T03:04:05.678Z`) so that stored strings sort in time order.

use chrono::{DateTime, SecondsFormat, Utc};

/// A point in time as the service stores and shows it.
pub type Timestamp = DateTime<Utc>;

/// The current time, truncated to milliseconds.
pub fn now() -> Timestamp {
    truncate(Utc::now())
}

/// Drops sub-millisecond precision so a stored time reads back equal.
pub fn truncate(t: Timestamp) -> Timestamp {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// Fixed-width RFC 3339 form, e.g. `2026-01-02T03:04:05.678Z` (chrono's writer: a
/// hand-written one saved about 5 µs of a list page's 5 ms, docs/benchmarks.md, "Hand-written
/// or library").
pub fn format(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Serializes `t` as [`format`] writes it.
fn serialize_time<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(t))
}

/// The form [`format`] writes, read without chrono's general parser; `None` for anything
/// else (which [`parse`] then hands to chrono).
fn parse_fixed(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'.' || b[23] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let time = date.and_hms_milli_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?)?;
    Some(time.and_utc())
}

/// Parses any RFC 3339 time (any offset) into UTC milliseconds. Times whose UTC year is
/// outside 0000..=9999 are refused: [`format`] could not write them in fixed width, and a
/// stored one would not read back (`9999-12-31T23:30:00-01:00` is year 10000 in UTC).
pub fn parse(s: &str) -> Option<Timestamp> {
    if let Some(t) = parse_fixed(s) {
        return Some(t);
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| truncate(t.with_timezone(&Utc)))
        .filter(|t| (0..=9999).contains(&chrono::Datelike::year(t)))
}

/// Serde helpers writing [`format`] and reading [`parse`].
pub mod rfc3339 {
    use super::Timestamp;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    /// Serializes a timestamp as fixed-width RFC 3339.
    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        super::serialize_time(t, s)
    }

    /// Deserializes an RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        super::parse(&s).ok_or_else(|| D::Error::custom("invalid RFC 3339 time"))
    }

    /// The same for optional timestamps.
    pub mod option {
        use super::super::Timestamp;
        use serde::{de::Error, Deserialize, Deserializer, Serializer};

        /// Serializes `Some` as RFC 3339 and `None` as null.
        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::super::serialize_time(t, s),
                None => s.serialize_none(),
            }
        }

        /// Deserializes an optional RFC 3339 timestamp.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(s) => super::super::parse(&s)
                    .map(Some)
                    .ok_or_else(|| D::Error::custom("invalid RFC 3339 time")),
                None => Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_times_are_fixed_width_and_sort_in_time_order() {
        let a = parse("2026-01-02T03:04:05Z").unwrap();
        let b = parse("2026-01-02T03:04:05.1Z").unwrap();
        assert_eq!(format(&a), "2026-01-02T03:04:05.000Z");
        assert_eq!(format(&b), "2026-01-02T03:04:05.100Z");
        assert!(format(&a) < format(&b));
    }

    #[test]
    fn offsets_are_converted_to_utc_and_precision_to_millis() {
        let t = parse("2026-01-02T05:04:05.123456+02:00").unwrap();
        assert_eq!(format(&t), "2026-01-02T03:04:05.123Z");
        assert!(parse("2026-01-02").is_none());
        assert!(parse("yesterday").is_none());
    }

    #[test]
    fn only_times_with_a_four_digit_utc_year_are_accepted() {
        assert!(parse("9999-12-31T23:59:59.999Z").is_some());
        assert!(parse("0000-01-01T00:00:00Z").is_some());
        assert!(
            parse("9999-12-31T23:30:00-01:00").is_none(),
            "year 10000 in UTC"
        );
        assert!(
            parse("0000-01-01T00:00:00+00:01").is_none(),
            "year -1 in UTC"
        );
        let last = parse("9999-12-31T23:59:59.999Z").unwrap();
        assert_eq!(parse(&format(&last)), Some(last));
    }

    /// Instants spread over years 0000..=9999, the ends and a few day boundaries.
    fn instants() -> Vec<Timestamp> {
        let first = parse("0000-01-01T00:00:00Z").unwrap().timestamp_millis();
        let last = parse("9999-12-31T23:59:59.999Z")
            .unwrap()
            .timestamp_millis();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut out: Vec<Timestamp> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let ms = first + (x % (last - first + 1) as u64) as i64;
                DateTime::from_timestamp_millis(ms).unwrap()
            })
            .collect();
        for s in [
            "0000-01-01T00:00:00.000Z",
            "9999-12-31T23:59:59.999Z",
            "2024-02-29T23:59:59.999Z",
            "2026-12-31T00:00:00.001Z",
        ] {
            out.push(parse(s).unwrap());
        }
        out
    }

    /// `t` as JSON through the serde helpers the records and views use.
    fn serialized(t: Timestamp) -> String {
        #[derive(serde::Serialize)]
        struct Holder(#[serde(with = "rfc3339")] Timestamp);
        serde_json::to_string(&Holder(t)).unwrap()
    }

    #[test]
    fn the_fast_writer_and_reader_agree_with_chrono() {
        for t in instants() {
            let chrono_form = t.to_rfc3339_opts(SecondsFormat::Millis, true);
            assert_eq!(format(&t), chrono_form);
            assert_eq!(serialized(t), format!("\"{chrono_form}\""));
            let parsed = DateTime::parse_from_rfc3339(&chrono_form).unwrap();
            assert_eq!(parse_fixed(&chrono_form), Some(parsed.with_timezone(&Utc)));
        }
        // A leap second and sub-millisecond digits fall back to chrono, as before.
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_500)
            .unwrap()
            .and_utc();
        assert_eq!(
            format(&leap),
            leap.to_rfc3339_opts(SecondsFormat::Millis, true)
        );
        assert_eq!(serialized(leap), format!("\"{}\"", format(&leap)));
        let far = DateTime::from_timestamp_millis(300_000_000_000_000).unwrap();
        assert_eq!(
            serialized(far),
            format!("\"{}\"", far.to_rfc3339_opts(SecondsFormat::Millis, true))
        );
        assert_eq!(
            parse("2016-12-31T23:59:60.500Z"),
            DateTime::parse_from_rfc3339("2016-12-31T23:59:60.500Z")
                .ok()
                .map(|t| truncate(t.with_timezone(&Utc)))
        );
    }

    #[test]
    fn now_is_the_current_time_in_whole_milliseconds() {
        let before = Utc::now();
        let t = now();
        assert!(t <= Utc::now() && before - t < chrono::Duration::milliseconds(1));
        assert_eq!(t.timestamp_subsec_nanos() % 1_000_000, 0);
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Times {
        #[serde(with = "rfc3339")]
        at: Timestamp,
        #[serde(with = "rfc3339::option")]
        until: Option<Timestamp>,
    }

    #[test]
    fn the_serde_helpers_read_what_they_write_and_refuse_the_rest() {
        let at = parse("2026-01-02T03:04:05.678Z").unwrap();
        let json = r#"{"at":"2026-01-02T03:04:05.678Z","until":"2026-01-02T05:04:05.678Z"}"#;
        let times = Times {
            at,
            until: Some(at + chrono::Duration::hours(2)),
        };
        assert_eq!(serde_json::to_string(&times).unwrap(), json);
        assert_eq!(serde_json::from_str::<Times>(json).unwrap(), times);
        let none = r#"{"at":"2026-01-02T03:04:05.678Z","until":null}"#;
        let times = Times { at, until: None };
        assert_eq!(serde_json::to_string(&times).unwrap(), none);
        assert_eq!(serde_json::from_str::<Times>(none).unwrap(), times);
        for bad in [
            r#"{"at":"soon","until":null}"#,
            r#"{"at":"2026-01-02T03:04:05.678Z","until":"soon"}"#,
        ] {
            assert!(serde_json::from_str::<Times>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_fast_reader_refuses_what_is_not_exactly_the_fixed_form() {
        for s in [
            "2026-02-30T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-01-01T24:00:00.000Z",
            "2026-01-01T00:60:00.000Z",
            "2026/01-01T00:00:00.000Z",
            "2026-01/01T00:00:00.000Z",
            "2026-01-01t00:00:00.000Z",
            "2026-01-01T00:00:00.000z",
            "2026-01-01T00:00:00.0000",
            "2026-01-01T00:00:00,000Z",
            "+026-01-01T00:00:00.000Z",
            "2026-01-01T00:00:00.00Z",
            "2026-01-01T00:00:00.0a0Z",
        ] {
            assert_eq!(parse_fixed(s), None, "{s}");
        }
        // Chrono still reads the lower-case forms RFC 3339 allows; invalid dates stay refused.
        assert_eq!(
            parse("2026-01-01t00:00:00.000z"),
            parse("2026-01-01T00:00:00.000Z")
        );
        assert_eq!(parse("2026-02-30T00:00:00.000Z"), None);
    }
}
