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

/// Fixed-width RFC 3339 form, e.g. `2026-01-02T03:04:05.678Z`.
pub fn format(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses any RFC 3339 time (any offset) into UTC milliseconds. Times whose UTC year is
/// outside 0000..=9999 are refused: [`format`] could not write them in fixed width, and a
/// stored one would not read back (`9999-12-31T23:30:00-01:00` is year 10000 in UTC).
pub fn parse(s: &str) -> Option<Timestamp> {
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
        s.serialize_str(&super::format(t))
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
                Some(t) => s.serialize_str(&super::super::format(t)),
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
}
