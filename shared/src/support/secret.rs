//! Token secrets: generation, the wire format, its checksum, and the keyed hash we store.
//!
//! A secret looks like `tkn_<id:22><random:27><crc:6>`, all base62:
//! - `tkn` is the configurable prefix (2..=10 lowercase letters or digits), so secret scanners
//!   can recognise our tokens;
//! - `id` is the token id (a UUIDv7), least significant digit first, so a verifier finds the
//!   record with one `GetItem` and the first characters (shown as the display `prefix`) vary
//!   between tokens;
//! - `random` is 27 base62 characters drawn from the OS CSPRNG: 160.7 bits of entropy;
//! - `crc` is the CRC-32 of everything before it, so a typo or junk is rejected without any
//!   DynamoDB call.
//!
//! Only `HMAC-SHA256(TOKEN_HASH_KEY, secret)` is ever stored.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ID_LEN: usize = 22;
const RANDOM_LEN: usize = 27;
const CRC_LEN: usize = 6;
const BODY_LEN: usize = ID_LEN + RANDOM_LEN + CRC_LEN;
/// How many characters of the body the display prefix shows (all of them from the id part).
const DISPLAY_LEN: usize = 8;

/// Why a presented string is not one of our tokens. Never carries the secret itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedToken {
    /// No `_` separating prefix and body, or a prefix that is not 2..=10 of `[a-z0-9]`.
    #[error("token prefix is malformed")]
    Prefix,
    /// The body has the wrong length or a character outside base62.
    #[error("token body is malformed")]
    Body,
    /// The checksum does not match: a typo, truncation or forgery.
    #[error("token checksum does not match")]
    Checksum,
}

/// A full token secret. Its `Debug` output is redacted so it cannot leak through logs.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// The secret as the client must send it. Call only to show it once, at creation.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A secret recovered from a sealed idempotent result (see `idempotency`).
    pub(crate) fn recovered(secret: String) -> Self {
        Self(secret)
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

/// A presented token whose format and checksum are valid: the id it names, ready to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedToken<'a> {
    /// The token id encoded in the secret.
    pub id: Uuid,
    raw: &'a str,
}

impl ParsedToken<'_> {
    /// The whole presented string, for hashing.
    fn raw(&self) -> &str {
        self.raw
    }
}

/// Checks a configured prefix: 2..=10 characters of `[a-z0-9]`.
pub fn valid_prefix(prefix: &str) -> bool {
    (2..=10).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Mints a new secret for token `id` with the given prefix.
pub fn generate(prefix: &str, id: Uuid, rng: &SystemRandom) -> TokenSecret {
    debug_assert!(valid_prefix(prefix));
    let mut s = String::with_capacity(prefix.len() + 1 + BODY_LEN);
    s.push_str(prefix);
    s.push('_');
    push_base62_u128(&mut s, id.as_u128(), ID_LEN);
    push_random_base62(&mut s, RANDOM_LEN, rng);
    let crc = crc32(s.as_bytes());
    push_base62_u128(&mut s, u128::from(crc), CRC_LEN);
    TokenSecret(s)
}

/// Parses a presented token: prefix, length, alphabet and checksum. No I/O.
pub fn parse(raw: &str) -> Result<ParsedToken<'_>, MalformedToken> {
    let (prefix, body) = raw.split_once('_').ok_or(MalformedToken::Prefix)?;
    if !valid_prefix(prefix) {
        return Err(MalformedToken::Prefix);
    }
    if body.len() != BODY_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(MalformedToken::Body);
    }
    let (signed, crc_part) = raw.split_at(raw.len() - CRC_LEN);
    let crc = decode_base62_u128(crc_part).ok_or(MalformedToken::Checksum)?;
    if crc != u128::from(crc32(signed.as_bytes())) {
        return Err(MalformedToken::Checksum);
    }
    let id = decode_base62_u128(&body[..ID_LEN]).ok_or(MalformedToken::Body)?;
    Ok(ParsedToken {
        id: Uuid::from_u128(id),
        raw,
    })
}

/// The non-secret display form of a token (`tkn_4fGh2kLp`): prefix plus the first characters
/// of the id part. It identifies a token in a list without revealing any random bits.
pub fn display_prefix(secret: &TokenSecret) -> String {
    let (prefix, body) = secret
        .0
        .split_once('_')
        .expect("generated secrets have a prefix");
    format!("{prefix}_{}", &body[..DISPLAY_LEN])
}

/// Computes and checks secret hashes with a server-side key (a "pepper"), so a copy of the
/// table alone cannot be used to test guesses offline.
#[derive(Clone)]
pub struct SecretHasher {
    key: hmac::Key,
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHasher(<key redacted>)")
    }
}

impl SecretHasher {
    /// Builds a hasher from raw key bytes (at least 32).
    pub fn new(key: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// The stored form of a secret's hash: base64url of HMAC-SHA256.
    pub fn hash(&self, secret: &TokenSecret) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, secret.0.as_bytes()))
    }

    /// Constant-time check of a presented token against a stored hash.
    pub fn verify(&self, token: &ParsedToken<'_>, stored_hash: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(stored_hash) {
            Ok(tag) => hmac::verify(&self.key, token.raw().as_bytes(), &tag).is_ok(),
            Err(_) => false,
        }
    }
}

fn push_base62_u128(out: &mut String, mut value: u128, width: usize) {
    for _ in 0..width {
        out.push(ALPHABET[(value % 62) as usize] as char);
        value /= 62;
    }
    debug_assert_eq!(value, 0, "value does not fit the width");
}

fn decode_base62_u128(digits: &str) -> Option<u128> {
    digits.bytes().rev().try_fold(0u128, |acc, b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        acc.checked_mul(62)?.checked_add(u128::from(d))
    })
}

fn push_random_base62(out: &mut String, count: usize, rng: &SystemRandom) {
    // Rejection sampling: bytes >= 248 (= 4 * 62) would bias the distribution.
    let mut pushed = 0;
    let mut buf = [0u8; 64];
    while pushed < count {
        rng.fill(&mut buf).expect("the OS random source failed");
        for &b in buf.iter().filter(|&&b| b < 248) {
            if pushed == count {
                break;
            }
            out.push(ALPHABET[usize::from(b % 62)] as char);
            pushed += 1;
        }
    }
}

/// CRC-32 (IEEE 802.3, the zlib/PNG polynomial; CRC-32/ISO-HDLC): `crc32fast`'s.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mint() -> (Uuid, TokenSecret) {
        let id = Uuid::now_v7();
        (id, generate("tkn", id, &SystemRandom::new()))
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    /// Minted by the hand-written CRC-32 this module had until issue 15: tokens in use keep
    /// their checksum.
    #[test]
    fn a_token_minted_earlier_still_parses() {
        let raw = "tkn_4gBpAPdsoaXd6OoCVxY130Zq3VxK9mP2rT8wY4nB6cD1fG5hJBXdDx1";
        assert_eq!(crc32(&raw.as_bytes()[..raw.len() - CRC_LEN]), 0x6AC3_57CD);
        assert_eq!(
            parse(raw).unwrap().id,
            Uuid::parse_str("019a6c4e-3b2f-7d41-9c3e-5a8b7f2e1d04").unwrap()
        );
    }

    #[test]
    fn a_generated_secret_parses_back_to_its_id() {
        let (id, secret) = mint();
        assert!(secret.expose().starts_with("tkn_"));
        assert_eq!(secret.expose().len(), 4 + BODY_LEN);
        assert_eq!(parse(secret.expose()).unwrap().id, id);
    }

    #[test]
    fn extreme_ids_round_trip() {
        for id in [Uuid::nil(), Uuid::max()] {
            let secret = generate("ab", id, &SystemRandom::new());
            assert_eq!(parse(secret.expose()).unwrap().id, id);
        }
    }

    #[test]
    fn every_single_character_change_is_rejected() {
        let (_, secret) = mint();
        let raw = secret.expose();
        for i in 0..raw.len() {
            let mut bytes = raw.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let edited = String::from_utf8(bytes).unwrap();
            assert!(parse(&edited).is_err(), "edit at {i} accepted");
        }
    }

    #[test]
    fn malformed_tokens_are_classified() {
        let (_, secret) = mint();
        let raw = secret.expose();
        assert_eq!(parse("no-underscore"), Err(MalformedToken::Prefix));
        assert_eq!(parse("UPPER_abc"), Err(MalformedToken::Prefix));
        assert_eq!(parse(&raw[..raw.len() - 1]), Err(MalformedToken::Body));
        assert_eq!(parse(&format!("{raw}x")), Err(MalformedToken::Body));
        assert_eq!(
            parse(&raw.replace('_', "_-")[..raw.len()]),
            Err(MalformedToken::Body)
        );
        assert_eq!(parse(""), Err(MalformedToken::Prefix));
        assert_eq!(parse("tkn_ü"), Err(MalformedToken::Body));
    }

    #[test]
    fn random_part_differs_between_secrets_for_the_same_id() {
        let id = Uuid::now_v7();
        let rng = SystemRandom::new();
        assert_ne!(generate("tkn", id, &rng), generate("tkn", id, &rng));
    }

    #[test]
    fn display_prefix_is_short_and_comes_from_the_id_part() {
        let (_, secret) = mint();
        let shown = display_prefix(&secret);
        assert_eq!(shown.len(), 4 + DISPLAY_LEN);
        assert!(secret.expose().starts_with(&shown));
    }

    #[test]
    fn the_hash_verifies_only_the_same_secret_and_key() {
        let hasher = SecretHasher::new(&[7u8; 32]);
        let (_, a) = mint();
        let (_, b) = mint();
        let stored = hasher.hash(&a);
        assert!(!stored.contains(a.expose()));
        assert!(hasher.verify(&parse(a.expose()).unwrap(), &stored));
        assert!(!hasher.verify(&parse(b.expose()).unwrap(), &stored));
        let other_key = SecretHasher::new(&[8u8; 32]);
        assert!(!other_key.verify(&parse(a.expose()).unwrap(), &stored));
        assert!(!hasher.verify(&parse(a.expose()).unwrap(), "not base64!"));
    }

    /// The random part is uniform over the 62 symbols: 10 000 secrets give 270 000 draws,
    /// 4 355 expected per symbol. Both bounds hold for a correct generator except with
    /// probability below 1e-10 (so the test does not flake): every count within ±12% of the
    /// expectation (Chernoff, union over the 62 symbols: < 1.1e-11) and Pearson's chi-square
    /// (61 degrees of freedom) under 160 (upper tail 8e-11). A generator drawing from 4 or 7
    /// symbols, or keeping the modulo bias of bytes 248..=255 (symbols 0..=7 then 25% more
    /// likely), is far outside both.
    #[test]
    fn the_random_part_is_spread_evenly_over_the_alphabet() {
        const SECRETS: usize = 10_000;
        let rng = SystemRandom::new();
        let mut counts = [0u64; 62];
        for _ in 0..SECRETS {
            let secret = generate("tkn", Uuid::now_v7(), &rng);
            let body = &secret.expose()[4..];
            for b in body[ID_LEN..ID_LEN + RANDOM_LEN].bytes() {
                let digit = ALPHABET.iter().position(|&a| a == b).expect("base62");
                counts[digit] += 1;
            }
        }
        let draws = (SECRETS * RANDOM_LEN) as f64;
        let expected = draws / 62.0;
        let chi_square: f64 = counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        for (digit, &count) in counts.iter().enumerate() {
            let symbol = ALPHABET[digit] as char;
            assert!(
                (count as f64 - expected).abs() <= 0.12 * expected,
                "symbol {symbol} drawn {count} times, {expected:.0} expected: {counts:?}"
            );
        }
        assert!(chi_square < 160.0, "chi-square {chi_square:.1}: {counts:?}");
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let (_, secret) = mint();
        assert!(!format!("{secret:?}").contains(secret.expose()));
        assert_eq!(format!("{secret:?}"), "TokenSecret(<redacted>)");
        let hasher = SecretHasher::new(b"0123456789abcdef0123456789abcdef");
        assert_eq!(format!("{hasher:?}"), "SecretHasher(<key redacted>)");
    }

    /// The random part is drawn from all 62 characters: 100 secrets hold 2,700 of them, so a
    /// character missing from all of them by chance has odds below 1 in 10^17.
    #[test]
    fn the_random_part_uses_the_whole_alphabet() {
        let rng = SystemRandom::new();
        let mut seen = [false; 62];
        for _ in 0..100 {
            let secret = generate("tkn", Uuid::now_v7(), &rng);
            let body = &secret.expose()["tkn_".len()..];
            for b in body[ID_LEN..ID_LEN + RANDOM_LEN].bytes() {
                seen[ALPHABET.iter().position(|&a| a == b).unwrap()] = true;
            }
        }
        let missing: String = (0..62)
            .filter(|&i| !seen[i])
            .map(|i| ALPHABET[i] as char)
            .collect();
        assert_eq!(missing, "", "characters never drawn");
    }

    /// Rejection sampling keeps the modulo bias out: bytes 248..=255 are dropped, otherwise `0`
    /// to `7` would come up a quarter more often than the rest (5 in 256 against 4). Over
    /// 270,000 characters each one's count stays within 6 standard deviations of the mean (a
    /// false alarm about once in 10^7 runs); accepting byte 248 as well would put `0` 16 out.
    #[test]
    fn every_character_of_the_random_part_is_equally_likely() {
        let rng = SystemRandom::new();
        let mut counts = [0u32; 62];
        let mut out = String::new();
        for _ in 0..10_000 {
            out.clear();
            push_random_base62(&mut out, RANDOM_LEN, &rng);
            for b in out.bytes() {
                counts[ALPHABET.iter().position(|&a| a == b).unwrap()] += 1;
            }
        }
        let n = f64::from(10_000 * RANDOM_LEN as u32);
        let (mean, sd) = (n / 62.0, (n / 62.0 * (61.0 / 62.0)).sqrt());
        for (i, &c) in counts.iter().enumerate() {
            let off = (f64::from(c) - mean).abs() / sd;
            assert!(
                off < 6.0,
                "{:?}: {c} times, {off:.1} sd from {mean:.0}",
                ALPHABET[i] as char
            );
        }
    }
}
