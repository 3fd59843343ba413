//! The bounds every path enforces, whichever adapter a request came through: the sizes of a
//! token's fields, its longest lifetime, and how much one request may read.

use chrono::Duration;

/// Longest token name, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// Longest revocation reason.
pub const MAX_REASON_CHARS: usize = 512;
/// Most metadata entries; longest key and value.
pub const MAX_METADATA_ENTRIES: usize = 20;
pub const MAX_METADATA_KEY_CHARS: usize = 64;
pub const MAX_METADATA_VALUE_CHARS: usize = 512;
/// Most CIDR blocks in `allowed_ips`.
pub const MAX_ALLOWED_IPS: usize = 32;
/// Most entries in a `scopes` array (or the catalog's size, if larger): one error for a longer
/// list rather than one per entry, so a 64 KiB body cannot make a megabyte-sized problem.
pub const MAX_SCOPES: usize = 100;

/// Longest grace period of a rotation.
pub const MAX_GRACE_PERIOD: Duration = Duration::days(7);

/// Longest lifetime of any token, in days: no create, rotation or inherited lifetime
/// yields an expiry later than this from the moment it is minted (tokens may still be
/// minted without an expiry). Ten years keeps every stored time far inside the years
/// 0000..=9999 that `time::format` writes in fixed width.
pub const MAX_LIFETIME_DAYS: i64 = 3650;

/// [`MAX_LIFETIME_DAYS`] as a duration.
pub const MAX_LIFETIME: Duration = Duration::days(MAX_LIFETIME_DAYS);

/// Longest lifetime for `expires_in_days`: the longest any token lives.
pub const MAX_EXPIRES_IN_DAYS: i64 = MAX_LIFETIME_DAYS;

/// Whether `k` can be a metadata key: 1..=64 of `[A-Za-z0-9._:-]`.
pub fn valid_metadata_key(k: &str) -> bool {
    (1..=MAX_METADATA_KEY_CHARS).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// Whether `s` can be a user or tenant id: 1..=128 of `[A-Za-z0-9._@:+-]` (no `#`, which
/// separates index key parts).
pub fn valid_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b':' | b'+' | b'-')
        })
}

/// Default of the most items one list request reads when filters are not key conditions
/// (`LIST_READ_BUDGET`).
pub const READ_BUDGET: usize = 2_000;
/// Most items read to count a filtered total.
pub const COUNT_BUDGET: usize = 10_000;
/// Most ids in `token_ids`.
pub const MAX_TOKEN_IDS: usize = 100;
