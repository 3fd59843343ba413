//! The single-table design. `template.yaml` declares the same table; a test keeps them equal.
//!
//! | item | `pk` | holds |
//! | --- | --- | --- |
//! | token record | `TOKEN#<id>` | the public token attributes and every index key |
//! | credential | `CRED#<id>` | the secret hash and what verification needs; in no index |
//! | counters | `COUNT#<tenant>##<shard>`, `COUNT#<tenant>#<user>#<shard>` | `active`, `expired`, `revoked` |
//! | idempotency record | `IDEM#<tenant>#<user>#<key digest>` | request fingerprint, sealed result, 24 h TTL |
//! | usage counter | `USE#<id>#<window or period>` | `n`, the token's verified requests in that window or period; TTL after it ends |
//! | usage notice | `USAGE_EVENT#<id>#<period>#<threshold or exhausted>` | written once per period, for the lifecycle publisher |
//!
//! The id is encoded in the secret, so a verifier finds the credential with one `GetItem`.
//! Records carry no secret material, so every index projects `ALL` and lists never need a
//! second read. Index partitions (`group` is `live` for active or expired, or `revoked`):
//!
//! | index | partition | sort | serves |
//! | --- | --- | --- | --- |
//! | `by_owner` | `<tenant>#<user>#<group>` | `created_sk` | a user's tokens (default: live) |
//! | `by_owner_status` | `<tenant>#<user>#<status>` | `created_sk` | a user's tokens in one status |
//! | `by_tenant` | `<tenant>#<group>` | `created_sk` | the tenant's tokens (default: live) |
//! | `by_status` | `<tenant>#<status>` | `created_sk` | the tenant's tokens in one status |
//! | `by_status_name` | `<tenant>#<status>` | `name_sk` | sort by name |
//! | `by_status_expiry` | `<tenant>#<status>` | `expires_sk` | sort or range by expiry |
//! | `by_status_last_used` | `<tenant>#<status>` | `last_used_sk` | sort or range by last use |
//! | `by_due` | `DUE#<shard>` (stored-active tokens with an expiry only) | `expires_sk` | the expiry sweeper |

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use uuid::Uuid;

use crate::domain::model::{StoredStatus, TokenItem};
use crate::support::time::{self, Timestamp};

/// Partition key of the table.
pub const PK: &str = "pk";
/// The stored secret hash: only on credential items.
pub const SECRET_HASH: &str = "secret_hash";
/// Epoch seconds after which DynamoDB's TTL may delete an expired or revoked token.
pub const PURGE_AT: &str = "purge_at";
/// How many `by_due` partitions the sweeper walks (spreads its writes and reads).
pub const DUE_SHARDS: u32 = 4;

/// A sort order an index can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    /// `created_sk`: `<created_at>#<id>`.
    CreatedAt,
    /// `name_sk`: `<lowercase name>\u{1}<id>`.
    Name,
    /// `expires_sk`: `<expires_at | "~" for never>#<id>`.
    ExpiresAt,
    /// `last_used_sk`: `<last_used_at | "!" for never>#<id>`.
    LastUsedAt,
}

impl SortField {
    /// The sort key attribute.
    pub fn attribute(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_sk",
            Self::Name => "name_sk",
            Self::ExpiresAt => "expires_sk",
            Self::LastUsedAt => "last_used_sk",
        }
    }

    /// The value of this sort key for a record.
    pub fn key_of(self, t: &TokenItem) -> String {
        match self {
            Self::CreatedAt => created_sk(&t.created_at, t.id),
            Self::Name => name_sk(&t.name, t.id),
            Self::ExpiresAt => match &t.expires_at {
                Some(e) => format!("{}#{}", time::format(e), t.id),
                None => format!("~#{}", t.id),
            },
            Self::LastUsedAt => match &t.last_used_at {
                Some(u) => format!("{}#{}", time::format(u), t.id),
                None => format!("!#{}", t.id),
            },
        }
    }
}

/// Which partition key attribute an index uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Partition {
    /// `owner_pk` = `<tenant>#<user>#<group>`.
    OwnerGroup,
    /// `owner_status_pk` = `<tenant>#<user>#<status>`.
    OwnerStatus,
    /// `tenant_pk` = `<tenant>#<group>`.
    TenantGroup,
    /// `status_pk` = `<tenant>#<status>`.
    TenantStatus,
    /// `due_pk` = `DUE#<shard>`.
    Due,
}

impl Partition {
    /// The partition key attribute.
    pub fn attribute(self) -> &'static str {
        match self {
            Self::OwnerGroup => "owner_pk",
            Self::OwnerStatus => "owner_status_pk",
            Self::TenantGroup => "tenant_pk",
            Self::TenantStatus => "status_pk",
            Self::Due => "due_pk",
        }
    }
}

/// A global secondary index of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Index {
    /// Index name.
    pub name: &'static str,
    /// Its partition key.
    pub partition: Partition,
    /// Its sort key.
    pub sort: SortField,
}

impl Index {
    /// The partition key attribute.
    pub fn partition_key(&self) -> &'static str {
        self.partition.attribute()
    }

    /// The sort key attribute.
    pub fn sort_key(&self) -> &'static str {
        self.sort.attribute()
    }
}

/// A user's tokens by lifecycle group.
pub const BY_OWNER: Index = Index {
    name: "by_owner",
    partition: Partition::OwnerGroup,
    sort: SortField::CreatedAt,
};
/// A user's tokens in one status.
pub const BY_OWNER_STATUS: Index = Index {
    name: "by_owner_status",
    partition: Partition::OwnerStatus,
    sort: SortField::CreatedAt,
};
/// A tenant's tokens by lifecycle group.
pub const BY_TENANT: Index = Index {
    name: "by_tenant",
    partition: Partition::TenantGroup,
    sort: SortField::CreatedAt,
};
/// A tenant's tokens in one status, newest first.
pub const BY_STATUS: Index = Index {
    name: "by_status",
    partition: Partition::TenantStatus,
    sort: SortField::CreatedAt,
};
/// A tenant's tokens in one status, by name.
pub const BY_STATUS_NAME: Index = Index {
    name: "by_status_name",
    partition: Partition::TenantStatus,
    sort: SortField::Name,
};
/// A tenant's tokens in one status, by expiry.
pub const BY_STATUS_EXPIRY: Index = Index {
    name: "by_status_expiry",
    partition: Partition::TenantStatus,
    sort: SortField::ExpiresAt,
};
/// A tenant's tokens in one status, by last use.
pub const BY_STATUS_LAST_USED: Index = Index {
    name: "by_status_last_used",
    partition: Partition::TenantStatus,
    sort: SortField::LastUsedAt,
};
/// Stored-active tokens with an expiry, soonest first (sparse; for the sweeper).
pub const BY_DUE: Index = Index {
    name: "by_due",
    partition: Partition::Due,
    sort: SortField::ExpiresAt,
};
/// Every index, in declaration order.
pub const INDEXES: [Index; 8] = [
    BY_OWNER,
    BY_OWNER_STATUS,
    BY_TENANT,
    BY_STATUS,
    BY_STATUS_NAME,
    BY_STATUS_EXPIRY,
    BY_STATUS_LAST_USED,
    BY_DUE,
];

/// `live` (active or expired) or `revoked`: the lifecycle group of a stored status.
pub fn group(status: StoredStatus) -> &'static str {
    match status {
        StoredStatus::Active | StoredStatus::Expired => "live",
        StoredStatus::Revoked => "revoked",
    }
}

/// Base-table key of a token record.
pub fn token_pk(id: Uuid) -> String {
    format!("TOKEN#{id}")
}

/// The token id of a token record's key (`TOKEN#<id>`).
pub fn id_from_token_pk(pk: &str) -> Option<Uuid> {
    Uuid::parse_str(pk.strip_prefix("TOKEN#")?).ok()
}

/// The `name_sk` of a token: names sort case-insensitively, ties by id.
pub fn name_sk(name: &str, id: Uuid) -> String {
    format!("{}\u{1}{}", name.to_lowercase(), id)
}

/// Base-table key of an idempotency record: the caller's tenant and user, and a digest of the
/// client's `Idempotency-Key` (so any key text fits, and none is stored).
pub fn idempotency_pk(tenant_id: &str, user_id: &str, key_digest: &str) -> String {
    format!("IDEM#{tenant_id}#{user_id}#{key_digest}")
}

/// Base-table key of a token's credential.
pub fn credential_pk(id: Uuid) -> String {
    format!("CRED#{id}")
}

/// Base-table key of one of a token's usage counters (`label`: a [`Span`] label, e.g.
/// `w1765188000` or `d2026-12-08`).
///
/// [`Span`]: crate::domain::usage::Span
pub fn usage_pk(id: Uuid, label: &str) -> String {
    format!("USE#{id}#{label}")
}

/// What every usage notice's key starts with: the lifecycle publisher's stream filter.
pub const USAGE_NOTICE_PREFIX: &str = "USAGE_EVENT#";

/// Base-table key of a usage notice: one per token, period and kind.
pub fn usage_notice_pk(id: Uuid, label: &str, kind: &str) -> String {
    format!("{USAGE_NOTICE_PREFIX}{id}#{label}#{kind}")
}

/// Counters are split into this many items, so concurrent writes in one tenant rarely touch
/// the same item (DynamoDB cancels conflicting transactions rather than queueing them).
pub const COUNTER_SHARDS: u32 = 8;

/// Key of one shard of a tenant's counters, or of one user's when `user` is given.
pub fn counter_pk(tenant_id: &str, user: Option<&str>, shard: u32) -> String {
    match user {
        Some(u) => format!("COUNT#{tenant_id}#{u}#{shard}"),
        None => format!("COUNT#{tenant_id}##{shard}"),
    }
}

/// The counter shard a token's changes are counted in (always the same one).
pub fn counter_shard(id: Uuid) -> u32 {
    ((id.as_u128() >> 8) % u128::from(COUNTER_SHARDS)) as u32
}

/// The partition value of `partition` for a tenant, an optional user and a status or group
/// label (`active`, `expired`, `revoked`, `live`).
pub fn partition_value(partition: Partition, tenant: &str, user: &str, label: &str) -> String {
    match partition {
        Partition::OwnerGroup | Partition::OwnerStatus => format!("{tenant}#{user}#{label}"),
        Partition::TenantGroup | Partition::TenantStatus => format!("{tenant}#{label}"),
        Partition::Due => format!("DUE#{label}"),
    }
}

/// The `by_due` shard of a token.
pub fn due_shard(id: Uuid) -> u32 {
    (id.as_u128() % u128::from(DUE_SHARDS)) as u32
}

/// `created_sk` of a token: creation time, then id, so the order is total.
pub fn created_sk(created_at: &Timestamp, id: Uuid) -> String {
    format!("{}#{id}", time::format(created_at))
}

/// The token id at the end of any sort key, if it is well formed.
pub fn id_from_sort_key(sort_key: &str) -> Option<Uuid> {
    let tail = sort_key.get(sort_key.len().checked_sub(36)?..)?;
    Uuid::parse_str(tail).ok()
}

/// Every index key attribute of a record, for its current state.
pub fn index_keys(t: &TokenItem) -> Vec<(&'static str, String)> {
    let mut keys = status_partitions(&t.tenant_id, &t.user_id, t.status).to_vec();
    for sort in [
        SortField::CreatedAt,
        SortField::Name,
        SortField::ExpiresAt,
        SortField::LastUsedAt,
    ] {
        keys.push((sort.attribute(), sort.key_of(t)));
    }
    if t.status == StoredStatus::Active && t.expires_at.is_some() {
        keys.push((
            Partition::Due.attribute(),
            partition_value(
                Partition::Due,
                &t.tenant_id,
                &t.user_id,
                &due_shard(t.id).to_string(),
            ),
        ));
    }
    keys
}

/// The four partition keys that follow from a token's tenant, owner and status (the indexes
/// by owner and by tenant, each by group and by status). Sort keys and `by_due` are apart:
/// they follow from other fields.
pub fn status_partitions(
    tenant: &str,
    user: &str,
    status: StoredStatus,
) -> [(&'static str, String); 4] {
    let of = |p: Partition, label: &str| (p.attribute(), partition_value(p, tenant, user, label));
    [
        of(Partition::OwnerGroup, group(status)),
        of(Partition::OwnerStatus, status.as_str()),
        of(Partition::TenantGroup, group(status)),
        of(Partition::TenantStatus, status.as_str()),
    ]
}

/// Creates the table with its keys, indexes and stream (what `template.yaml` declares), and
/// enables TTL on [`PURGE_AT`]. Used by the local dev server and the tests.
pub async fn create_table(client: &Client, table: &str) -> Result<(), aws_sdk_dynamodb::Error> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key schema is complete")
    };
    let string_attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition is complete")
    };
    let mut attributes = vec![PK];
    for index in INDEXES {
        for a in [index.partition_key(), index.sort_key()] {
            if !attributes.contains(&a) {
                attributes.push(a);
            }
        }
    }
    let mut req = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("stream spec is complete"),
        )
        .key_schema(key(PK, KeyType::Hash))
        .set_attribute_definitions(Some(attributes.into_iter().map(string_attr).collect()));
    for index in INDEXES {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.partition_key(), KeyType::Hash))
                .key_schema(key(index.sort_key(), KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("index is complete"),
        );
    }
    req.send().await?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(PURGE_AT)
                .enabled(true)
                .build()
                .expect("ttl spec is complete"),
        )
        .send()
        .await?;
    Ok(())
}

/// Most UTF-8 bytes one character of a name takes once lowercased, as `name_sk` stores it. A
/// character of 4 bytes lowercases to 4 at most; the few whose lowercase is longer than
/// themselves are short to begin with ('İ', 2 bytes, becomes "i̇", 3; 'Ⱥ', 2, becomes 'ⱥ', 3).
/// A unit test checks every `char`.
const MAX_LOWERCASE_UTF8: usize = 4;

/// Longest sort key a listing resumes from, in bytes: the `name_sk` of a name of
/// [`MAX_NAME_CHARS`](crate::domain::limits::MAX_NAME_CHARS) characters, `<lowercase name>\u{1}<id>` (`schema::name_sk`). The other
/// sort keys are a time or a one-character mark, `#`, and the id: far shorter.
pub const MAX_SORT_KEY_LEN: usize =
    crate::domain::limits::MAX_NAME_CHARS * MAX_LOWERCASE_UTF8 + 1 + uuid::fmt::Hyphenated::LENGTH;

const _: () = assert!(1 + MAX_SORT_KEY_LEN == crate::support::cursor::MAX_POSITION_LEN);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_by_value_then_id_and_give_the_id_back() {
        let mut a = crate::domain::model::tests::item();
        let mut b = a.clone();
        a.id = Uuid::from_u128(1);
        b.id = Uuid::from_u128(2);
        for sort in [
            SortField::CreatedAt,
            SortField::Name,
            SortField::ExpiresAt,
            SortField::LastUsedAt,
        ] {
            assert!(sort.key_of(&a) < sort.key_of(&b), "{sort:?}");
            assert_eq!(id_from_sort_key(&sort.key_of(&a)), Some(a.id));
        }
        b.created_at = a.created_at + chrono::Duration::milliseconds(1);
        b.id = Uuid::from_u128(0);
        assert!(SortField::CreatedAt.key_of(&a) < SortField::CreatedAt.key_of(&b));
        assert_eq!(id_from_sort_key("junk"), None);
    }

    #[test]
    fn names_sort_case_insensitively_and_a_prefix_sorts_first() {
        let mut a = crate::domain::model::tests::item();
        let mut b = a.clone();
        let mut c = a.clone();
        a.name = "Deploy".into();
        b.name = "deploy-2".into();
        c.name = "alpha".into();
        (a.id, b.id, c.id) = (Uuid::from_u128(9), Uuid::from_u128(1), Uuid::from_u128(5));
        let k = |t: &TokenItem| SortField::Name.key_of(t);
        assert!(k(&c) < k(&a) && k(&a) < k(&b));
    }

    #[test]
    fn missing_times_sort_at_the_documented_ends() {
        let dated = crate::domain::model::tests::item();
        let mut never = dated.clone();
        never.expires_at = None;
        assert!(SortField::ExpiresAt.key_of(&never) > SortField::ExpiresAt.key_of(&dated));
        let mut used = dated.clone();
        used.last_used_at = Some(dated.created_at);
        assert!(SortField::LastUsedAt.key_of(&dated) < SortField::LastUsedAt.key_of(&used));
    }

    #[test]
    fn only_stored_active_tokens_with_an_expiry_are_due() {
        let mut t = crate::domain::model::tests::item();
        let has_due = |t: &TokenItem| index_keys(t).iter().any(|(k, _)| *k == "due_pk");
        assert!(has_due(&t));
        t.status = StoredStatus::Revoked;
        assert!(!has_due(&t));
        t.status = StoredStatus::Active;
        t.expires_at = None;
        assert!(!has_due(&t));
    }

    #[test]
    fn group_partitions_hold_live_and_revoked_tokens_apart() {
        let mut t = crate::domain::model::tests::item();
        let key = |t: &TokenItem, attr: &str| {
            index_keys(t)
                .into_iter()
                .find(|(k, _)| *k == attr)
                .unwrap()
                .1
        };
        assert_eq!(key(&t, "owner_pk"), "acme#alice#live");
        t.status = StoredStatus::Expired;
        assert_eq!(key(&t, "owner_pk"), "acme#alice#live");
        assert_eq!(key(&t, "status_pk"), "acme#expired");
        t.status = StoredStatus::Revoked;
        assert_eq!(key(&t, "tenant_pk"), "acme#revoked");
        assert_eq!(key(&t, "owner_status_pk"), "acme#alice#revoked");
    }

    #[test]
    fn no_character_lowercases_to_more_than_four_bytes() {
        let longest = (0..=char::MAX as u32)
            .filter_map(char::from_u32)
            .map(|c| c.to_lowercase().map(char::len_utf8).sum::<usize>())
            .max();
        assert_eq!(longest, Some(MAX_LOWERCASE_UTF8));
        assert_eq!("İ".to_lowercase().len(), 3);
    }

    #[test]
    fn the_longest_position_seals_into_the_longest_cursor_and_opens() {
        use crate::domain::limits::MAX_NAME_CHARS;
        use crate::support::cursor::{
            CursorBinding, CursorCodec, InvalidCursor, MAX_CURSOR_LEN, MAX_POSITION_LEN,
        };
        const BINDING: CursorBinding<'static> = CursorBinding {
            tenant_id: "acme",
            user_id: "alice",
            query: "by_name:asc",
        };
        let c = CursorCodec::new(&[vec![1u8; 32]]).unwrap();
        // 𐐀 (4 bytes) lowercases to 𐐨 (4 bytes); 𝔸 has no lowercase; İ grows from 2 bytes
        // to 3 but is shorter; a time-ordered key is shortest.
        let id = uuid::Uuid::max();
        for (name, longest) in [("𐐀", true), ("𝔸", true), ("İ", false), ("a", false)] {
            let name = name.repeat(MAX_NAME_CHARS);
            for dir in [">", "<"] {
                let position = format!("{dir}{}", name_sk(&name, id));
                assert_eq!(position.len() == MAX_POSITION_LEN, longest, "{name}");
                let cursor = c.seal(&BINDING, &position);
                assert_eq!(cursor.len() == MAX_CURSOR_LEN, longest, "{name}");
                assert!(cursor.len() <= MAX_CURSOR_LEN);
                assert_eq!(c.open(&BINDING, &cursor).as_deref(), Ok(position.as_str()));
            }
        }
        let beyond = "A".repeat(MAX_CURSOR_LEN + 1);
        assert_eq!(c.open(&BINDING, &beyond), Err(InvalidCursor));
    }
}
