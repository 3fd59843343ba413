//! Per-function credentials. Lambda gives every function its role's temporary credentials;
//! here each function gets its own made-up key, so the AWS stand-in can tell from a request's
//! signature which function sent it (and the IAM check which role's policies apply).

use std::collections::BTreeMap;

use crate::model::Deployment;

/// The temporary credentials one function's environments get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AWS_ACCESS_KEY_ID`: `ASIA` and 16 characters derived from the logical id.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`: made up, never checked.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`: made up, never checked.
    pub session_token: String,
}

impl Credentials {
    /// The credentials of the function `logical_id`; the same id gives the same key.
    pub fn for_function(logical_id: &str) -> Self {
        let code = base32(fnv1a(logical_id.as_bytes()), 16);
        Self {
            access_key_id: format!("ASIA{code}"),
            secret_access_key: format!("emulated-secret-{code}"),
            session_token: format!("emulated-session-{code}"),
        }
    }
}

/// Which function an access key id belongs to, for every function of a deployment.
#[derive(Debug, Clone, Default)]
pub struct KeyOwners(BTreeMap<String, String>);

impl KeyOwners {
    /// The owners of every function's key in `deployment`.
    pub fn of(deployment: &Deployment) -> Self {
        Self(
            deployment
                .functions
                .keys()
                .map(|id| (Credentials::for_function(id).access_key_id, id.clone()))
                .collect(),
        )
    }

    /// The logical id of the function whose key is `access_key_id`.
    pub fn function(&self, access_key_id: &str) -> Option<&str> {
        self.0.get(access_key_id).map(String::as_str)
    }
}

/// 64-bit FNV-1a: stable across runs and platforms, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `len` characters of `A-Z2-7` from `value` (5 bits each, wrapping around).
fn base32(value: u64, len: usize) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..len)
        .map(|i| {
            let bits = value.rotate_right((5 * i % 64) as u32) & 31;
            char::from(ALPHABET[bits as usize])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_gets_a_key_of_its_own_that_looks_like_a_temporary_key() {
        let a = Credentials::for_function("TokensListFunction");
        let b = Credentials::for_function("TokensCreateFunction");
        assert_ne!(a.access_key_id, b.access_key_id);
        assert_eq!(a, Credentials::for_function("TokensListFunction"));
        assert!(a.access_key_id.starts_with("ASIA"));
        assert_eq!(a.access_key_id.len(), 20);
        assert!(a.access_key_id.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
