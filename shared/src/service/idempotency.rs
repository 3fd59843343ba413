//! `Idempotency-Key` for `POST /tokens` and `POST /tokens/{id}/rotate`.
//!
//! A keyed request writes an idempotency record in the same DynamoDB transaction as the
//! token it mints, so the key is taken if and only if the token exists. A retry with the
//! same key finds the record and gets the original result back; nothing new is minted. The
//! result includes the token's secret, which is never stored in plaintext: it is sealed
//! with ChaCha20-Poly1305 under a key derived from `TOKEN_HASH_KEY`, bound (as associated
//! data) to the record's key, and deleted with the record when the window ends.
//!
//! - Keys are scoped to the presenting token (and so to its tenant and user); the record's
//!   key holds a SHA-256 digest of the token id and the client's key, never the key itself.
//!   A replay passes every check a fresh request passes (`service`), so it never hands out
//!   more than the presenting token could mint.
//! - The same key with a different operation, target or body is refused (422).
//! - Only successes take a key: a request that fails validation can be corrected and
//!   retried with the same key.

use chrono::Duration;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac};
use serde_json::Value;

use crate::domain::principal::Principal;
use crate::store::schema;

/// How long a key replays its first result.
pub const WINDOW: Duration = Duration::hours(24);

/// Longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// Response header set on a replayed result.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Whether a client's key is acceptable: 1..=255 visible ASCII characters or spaces.
pub fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_BYTES).contains(&key.len()) && key.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// A keyed request, identified for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyed {
    /// The record's item key.
    pub pk: String,
    /// Digest of the operation, its target and its body.
    pub fingerprint: String,
}

impl Keyed {
    /// The record key of `key` for `caller`, and the fingerprint of `operation` (e.g.
    /// `POST /tokens`) on `target` (the token id, or empty) with `body` (canonical JSON:
    /// object keys sorted, so formatting and key order do not matter).
    pub fn new(caller: &Principal, key: &str, operation: &str, target: &str, body: &Value) -> Self {
        // Bound to the presenting token, not only its user: another token of the same user
        // (weaker, shorter-lived, more restricted) never sees this key's result.
        let mut bound = format!("{}\n", caller.token_id).into_bytes();
        bound.extend_from_slice(key.as_bytes());
        let key_digest = hex(digest::digest(&digest::SHA256, &bound).as_ref());
        let mut request = format!("{operation}\n{target}\n").into_bytes();
        request.extend(serde_json::to_vec(body).unwrap_or_default());
        Self {
            pk: schema::idempotency_pk(&caller.tenant_id, &caller.user_id, &key_digest),
            fingerprint: hex(digest::digest(&digest::SHA256, &request).as_ref()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seals and opens stored results.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

/// A sealed result that does not open: altered, moved to another record, or sealed under
/// another `TOKEN_HASH_KEY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stored idempotent result does not open")]
pub struct Unsealable;

impl Sealer {
    /// A sealer whose key is derived from the token hash key (HMAC-SHA256 of a fixed label),
    /// so deployments configure no extra secret and the two keys are independent.
    pub fn new(token_hash_key: &[u8]) -> Self {
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, token_hash_key),
            b"api-tokens/idempotency-seal/v1",
        );
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, derived.as_ref())
            .expect("HMAC-SHA256 output is a ChaCha20 key");
        Self {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        }
    }

    /// `nonce || ciphertext || tag`, bound to the record key `pk`.
    pub fn seal(&self, pk: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .expect("the OS random source is available");
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(pk.as_bytes()),
                &mut sealed,
            )
            .expect("a result is far below ChaCha20-Poly1305's length limit");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        out
    }

    /// The plaintext of [`Self::seal`].
    pub fn open(&self, pk: &str, sealed: &[u8]) -> Result<Vec<u8>, Unsealable> {
        if sealed.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Unsealable)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(pk.as_bytes()),
                &mut body,
            )
            .map_err(|_| Unsealable)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::principal::tests::alice;
    use serde_json::json;

    #[test]
    fn a_sealed_result_opens_only_under_its_record_key() {
        let sealer = Sealer::new(b"0123456789abcdef0123456789abcdef");
        let sealed = sealer.seal("IDEM#a", b"tkn_secret");
        assert!(!sealed.windows(10).any(|w| w == b"tkn_secret"));
        assert_eq!(sealer.open("IDEM#a", &sealed).unwrap(), b"tkn_secret");
        assert_eq!(sealer.open("IDEM#b", &sealed), Err(Unsealable));
        let other = Sealer::new(b"another key, another deployment");
        assert_eq!(other.open("IDEM#a", &sealed), Err(Unsealable));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open("IDEM#a", &flipped), Err(Unsealable));
        assert_eq!(sealer.open("IDEM#a", &sealed[..5]), Err(Unsealable));
    }

    #[test]
    fn the_fingerprint_ignores_formatting_but_not_content() {
        let a = Keyed::new(
            &alice(),
            "k",
            "POST /tokens",
            "",
            &json!({"a": 1, "b": [1, 2]}),
        );
        let b: Value = serde_json::from_str(r#"{ "b": [1,2],   "a": 1 }"#).unwrap();
        let b = Keyed::new(&alice(), "k", "POST /tokens", "", &b);
        assert_eq!(a, b);
        let c = Keyed::new(
            &alice(),
            "k",
            "POST /tokens",
            "",
            &json!({"a": 2, "b": [1, 2]}),
        );
        assert_eq!(a.pk, c.pk);
        assert_ne!(a.fingerprint, c.fingerprint);
        let d = Keyed::new(&alice(), "k", "POST /tokens/{id}/rotate", "x", &json!({}));
        assert_ne!(a.fingerprint, d.fingerprint);
    }

    #[test]
    fn keys_are_scoped_to_the_caller_and_never_stored() {
        let a = Keyed::new(&alice(), "order-42", "POST /tokens", "", &json!({}));
        let bob = Principal {
            user_id: "bob".into(),
            ..alice()
        };
        assert_ne!(
            a.pk,
            Keyed::new(&bob, "order-42", "POST /tokens", "", &json!({})).pk
        );
        assert!(!a.pk.contains("order-42"));
        let other_token = Principal {
            token_id: "t2".into(),
            ..alice()
        };
        assert_ne!(
            a.pk,
            Keyed::new(&other_token, "order-42", "POST /tokens", "", &json!({})).pk,
            "another token of the same user"
        );
    }

    #[test]
    fn keys_are_short_printable_ascii() {
        assert!(valid_key("a"));
        assert!(valid_key("3f2c9a1e-5d1b-4c1e-9a55-1f1f0b2d1c7e"));
        assert!(valid_key(&"k".repeat(255)));
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(256)));
        assert!(!valid_key("tab\there"));
        assert!(!valid_key("é"));
    }
}
