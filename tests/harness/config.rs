//! The service's configuration for a test table.

use api_tokens::Config;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// A configuration with fresh random keys for `table`.
pub fn test_config(table: &str) -> Config {
    test_config_with(table, &[])
}

/// [`test_config`] with extra variables.
pub fn test_config_with(table: &str, extra: &[(&str, &str)]) -> Config {
    let key = || {
        let mut k = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut k).unwrap();
        STANDARD.encode(k)
    };
    let (cursor, hash) = (key(), key());
    Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some(table.to_string()),
        "CURSOR_KEYS" => Some(cursor.clone()),
        "TOKEN_HASH_KEY" => Some(hash.clone()),
        "EXTRA_SCOPES" => Some("orders:read,orders:write".into()),
        other => extra
            .iter()
            .find(|(k, _)| *k == other)
            .map(|(_, v)| v.to_string()),
    })
    .expect("test configuration is valid")
}
