//! Opaque pagination cursors.
//!
//! A cursor is `base64url(nonce || ChaCha20-Poly1305(position))`. The position is the
//! sort key of the last item returned (never a raw `LastEvaluatedKey`, never a hash). The
//! tenant, the caller and the query's fingerprint are the AEAD's associated data: they are not
//! stored in the cursor, but a cursor opens only for the same tenant, caller and query, so an
//! edited, truncated, foreign or reused-for-another-query cursor fails to decrypt.
//!
//! Several keys may be configured for rotation: the first encrypts, all decrypt.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

/// Longest position a cursor holds, in bytes: a direction (`>` or `<`) and the longest sort key
/// a listing resumes from (`store::schema::MAX_SORT_KEY_LEN`, which a compile-time assertion
/// there holds to this).
pub const MAX_POSITION_LEN: usize = 550;

/// ChaCha20-Poly1305's tag (a test checks it against *ring*).
const TAG_LEN: usize = 16;

/// Longest cursor: base64url, unpadded, of nonce, sealed position and tag, 771 characters. The
/// binding costs nothing here: it is associated data, not stored. Longer strings are refused
/// before any decoding work.
pub const MAX_CURSOR_LEN: usize = base64url_len(NONCE_LEN + MAX_POSITION_LEN + TAG_LEN);

/// Characters of unpadded base64 for `bytes` bytes.
const fn base64url_len(bytes: usize) -> usize {
    (bytes * 4).div_ceil(3)
}

const VERSION: &[u8] = b"api-tokens/cursor/v1";

/// The cursor was not issued by this service for this exact tenant, caller and query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not valid for this request")]
pub struct InvalidCursor;

/// What a cursor is bound to. A cursor only opens with an equal binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorBinding<'a> {
    /// Tenant of the caller.
    pub tenant_id: &'a str,
    /// User id of the caller.
    pub user_id: &'a str,
    /// A canonical description of the query (index, partition, filters, order).
    pub query: &'a str,
}

impl CursorBinding<'_> {
    fn aad(&self) -> Vec<u8> {
        // Length-prefixed fields, hashed, so no two bindings share associated data.
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(VERSION);
        for part in [self.tenant_id, self.user_id, self.query] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        ctx.finish().as_ref().to_vec()
    }
}

/// Seals and opens cursors with the configured keys.
pub struct CursorCodec {
    keys: Vec<LessSafeKey>,
    rng: SystemRandom,
}

impl fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CursorCodec({} keys, redacted)", self.keys.len())
    }
}

/// A cursor key must be exactly this many bytes.
pub const KEY_LEN: usize = 32;

impl CursorCodec {
    /// Builds a codec from one or more 32-byte keys; the first one seals new cursors.
    /// Returns `None` if the list is empty or a key has the wrong length.
    pub fn new(keys: &[Vec<u8>]) -> Option<Self> {
        if keys.is_empty() || keys.len() > 255 {
            return None;
        }
        let keys = keys
            .iter()
            .map(|k| {
                UnboundKey::new(&CHACHA20_POLY1305, k)
                    .ok()
                    .map(LessSafeKey::new)
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            keys,
            rng: SystemRandom::new(),
        })
    }

    /// Seals a position into an opaque cursor string.
    pub fn seal(&self, binding: &CursorBinding<'_>, position: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .expect("the OS random source failed");
        let mut data = position.as_bytes().to_vec();
        self.keys[0]
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(binding.aad()),
                &mut data,
            )
            .expect("sealing a short cursor cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + data.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&data);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens a cursor; any edit, truncation or foreign binding gives `InvalidCursor`.
    pub fn open(&self, binding: &CursorBinding<'_>, cursor: &str) -> Result<String, InvalidCursor> {
        if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
            return Err(InvalidCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| InvalidCursor)?;
        if bytes.len() < NONCE_LEN + CHACHA20_POLY1305.tag_len() {
            return Err(InvalidCursor);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| InvalidCursor)?;
        let aad = binding.aad();
        // Try every key: after a rotation, cursors sealed by the previous key still open.
        for key in &self.keys {
            let mut data = sealed.to_vec();
            if let Ok(plain) = key.open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut data,
            ) {
                return String::from_utf8(plain.to_vec()).map_err(|_| InvalidCursor);
            }
        }
        Err(InvalidCursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BINDING: CursorBinding<'static> = CursorBinding {
        tenant_id: "acme",
        user_id: "alice",
        query: "by_owner:desc",
    };
    const POSITION: &str = "2026-01-01T00:00:00.000Z#0190b0c4-0000-7000-8000-000000000000";

    fn codec() -> CursorCodec {
        CursorCodec::new(&[vec![1u8; 32]]).unwrap()
    }

    #[test]
    fn a_cursor_opens_to_its_position() {
        let c = codec();
        let cursor = c.seal(&BINDING, POSITION);
        assert_eq!(c.open(&BINDING, &cursor).unwrap(), POSITION);
    }

    #[test]
    fn the_position_is_not_readable_in_the_cursor() {
        let cursor = codec().seal(&BINDING, POSITION);
        let raw = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("2026"));
        assert!(!cursor.contains("2026"));
    }

    #[test]
    fn every_edit_and_truncation_is_rejected() {
        let c = codec();
        let cursor = c.seal(&BINDING, POSITION);
        for i in 0..cursor.len() {
            let mut b = cursor.as_bytes().to_vec();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let edited = String::from_utf8(b).unwrap();
            if edited != cursor {
                assert_eq!(c.open(&BINDING, &edited), Err(InvalidCursor), "edit at {i}");
            }
            assert_eq!(c.open(&BINDING, &cursor[..i]), Err(InvalidCursor));
        }
    }

    #[test]
    fn another_tenant_caller_or_query_cannot_use_it() {
        let c = codec();
        let cursor = c.seal(&BINDING, POSITION);
        for other in [
            CursorBinding {
                tenant_id: "evil",
                ..BINDING
            },
            CursorBinding {
                user_id: "bob",
                ..BINDING
            },
            CursorBinding {
                query: "by_tenant:desc",
                ..BINDING
            },
        ] {
            assert_eq!(c.open(&other, &cursor), Err(InvalidCursor));
        }
    }

    #[test]
    fn field_boundaries_are_part_of_the_binding() {
        let c = codec();
        let a = CursorBinding {
            tenant_id: "ab",
            user_id: "c",
            query: "q",
        };
        let b = CursorBinding {
            tenant_id: "a",
            user_id: "bc",
            query: "q",
        };
        assert_eq!(c.open(&b, &c.seal(&a, POSITION)), Err(InvalidCursor));
    }

    #[test]
    fn rotated_keys_still_open_old_cursors_but_foreign_keys_do_not() {
        let old = codec();
        let cursor = old.seal(&BINDING, POSITION);
        let rotated = CursorCodec::new(&[vec![2u8; 32], vec![1u8; 32]]).unwrap();
        assert_eq!(rotated.open(&BINDING, &cursor).unwrap(), POSITION);
        let foreign = CursorCodec::new(&[vec![3u8; 32]]).unwrap();
        assert_eq!(foreign.open(&BINDING, &cursor), Err(InvalidCursor));
    }

    /// `CURSOR_KEYS` rotation: the first key seals, so a new key put first takes over at once,
    /// and the old one can be dropped once the cursors it sealed have gone stale.
    #[test]
    fn new_cursors_are_sealed_with_the_first_key() {
        let (k1, k2) = (vec![1u8; 32], vec![2u8; 32]);
        let first_only = CursorCodec::new(std::slice::from_ref(&k1)).unwrap();
        let second_only = CursorCodec::new(std::slice::from_ref(&k2)).unwrap();
        for keys in [vec![k1.clone(), k2.clone()], vec![k1.clone()]] {
            let cursor = CursorCodec::new(&keys).unwrap().seal(&BINDING, POSITION);
            assert_eq!(first_only.open(&BINDING, &cursor), Ok(POSITION.into()));
            assert_eq!(second_only.open(&BINDING, &cursor), Err(InvalidCursor));
        }
        // And the other way round: with k2 first, only k2 opens what it seals.
        let cursor = CursorCodec::new(&[k2, k1])
            .unwrap()
            .seal(&BINDING, POSITION);
        assert_eq!(second_only.open(&BINDING, &cursor), Ok(POSITION.into()));
        assert_eq!(first_only.open(&BINDING, &cursor), Err(InvalidCursor));
    }

    #[test]
    fn garbage_is_rejected_without_panicking() {
        let c = codec();
        for junk in ["", "!!!", "AAAA", &"A".repeat(600), "ü"] {
            assert_eq!(c.open(&BINDING, junk), Err(InvalidCursor));
        }
    }

    /// The longest position a listing resumes from fits the longest cursor accepted; a longer
    /// string is refused before it is decoded, even if it is a cursor we sealed.
    #[test]
    fn the_longest_cursor_opens_and_a_longer_one_is_refused_unread() {
        let c = codec();
        let longest = ">".repeat(MAX_POSITION_LEN);
        let cursor = c.seal(&BINDING, &longest);
        assert_eq!(cursor.len(), MAX_CURSOR_LEN);
        assert_eq!(c.open(&BINDING, &cursor), Ok(longest.clone()));
        let too_long = c.seal(&BINDING, &format!("{longest}x"));
        assert!(too_long.len() > MAX_CURSOR_LEN);
        assert_eq!(c.open(&BINDING, &too_long), Err(InvalidCursor));
    }

    /// Only strings shorter than a nonce and a tag are refused untried: the shortest sealed
    /// cursor (an empty position) still opens.
    #[test]
    fn the_shortest_cursor_opens() {
        let c = codec();
        let cursor = c.seal(&BINDING, "");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&cursor).unwrap().len(),
            NONCE_LEN + TAG_LEN
        );
        assert_eq!(c.open(&BINDING, &cursor), Ok(String::new()));
    }

    #[test]
    fn debug_output_shows_no_key() {
        let c = CursorCodec::new(&[vec![7u8; 32], vec![9u8; 32]]).unwrap();
        assert_eq!(format!("{c:?}"), "CursorCodec(2 keys, redacted)");
    }

    #[test]
    fn keys_of_the_wrong_length_are_refused() {
        assert!(CursorCodec::new(&[]).is_none());
        assert!(CursorCodec::new(&[vec![0u8; 16]]).is_none());
    }

    #[test]
    fn the_sizes_follow_from_the_worst_case() {
        assert_eq!(TAG_LEN, CHACHA20_POLY1305.tag_len());
        assert_eq!(MAX_POSITION_LEN, 550);
        assert_eq!(MAX_CURSOR_LEN, 771);
        assert_eq!(base64url_len(3), URL_SAFE_NO_PAD.encode([0u8; 3]).len());
        assert_eq!(base64url_len(578), URL_SAFE_NO_PAD.encode([0u8; 578]).len());
    }
}
