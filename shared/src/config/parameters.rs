//! Key material from AWS Systems Manager Parameter Store.
//!
//! In AWS the cursor keys and the secret-hash key are `SecureString` parameters. The template
//! passes their *names* as `CURSOR_KEYS_PARAMETER` and `TOKEN_HASH_KEY_PARAMETER`; a cold
//! start reads both with one `GetParameters` call (decrypted by SSM) and never again. Locally
//! (dev server, tests) the values come straight from `CURSOR_KEYS` and `TOKEN_HASH_KEY`.

use std::collections::HashMap;

use aws_sdk_ssm::error::DisplayErrorContext;

use crate::config::error::ConfigError;
use crate::config::Keys;

/// Each key variable and the variable naming the parameter that holds it in AWS.
pub const KEY_PARAMETERS: [(&str, &str); 2] = [
    ("CURSOR_KEYS", "CURSOR_KEYS_PARAMETER"),
    ("TOKEN_HASH_KEY", "TOKEN_HASH_KEY_PARAMETER"),
];

/// Which parameter to read for which of the `keys` a function uses, from the environment
/// `get`. A variable given both ways is an error, so a stale local value can never shadow the
/// stored key.
pub fn requested(
    get: &impl Fn(&str) -> Option<String>,
    keys: Keys,
) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let set = |var: &str| get(var).filter(|v| !v.trim().is_empty());
    let mut wanted = Vec::new();
    for (var, parameter_var) in KEY_PARAMETERS.into_iter().filter(|(v, _)| keys.uses(v)) {
        if let Some(name) = set(parameter_var) {
            if set(var).is_some() {
                return Err(ConfigError {
                    var: parameter_var,
                    problem: format!("set either {var} or {parameter_var}, not both"),
                });
            }
            wanted.push((var, name.trim().to_string()));
        }
    }
    Ok(wanted)
}

/// Reads the `wanted` parameters with one decrypting `GetParameters` call and returns each
/// key variable's value. No request is made when nothing is wanted.
pub async fn fetch(
    ssm: &aws_sdk_ssm::Client,
    wanted: &[(&'static str, String)],
) -> Result<HashMap<&'static str, String>, ConfigError> {
    let Some((first_var, _)) = wanted.first() else {
        return Ok(HashMap::new());
    };
    let parameter_var = |var: &str| {
        KEY_PARAMETERS
            .iter()
            .find(|(v, _)| *v == var)
            .map_or(*first_var, |(_, p)| *p)
    };
    let out = ssm
        .get_parameters()
        .set_names(Some(wanted.iter().map(|(_, name)| name.clone()).collect()))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| ConfigError {
            var: parameter_var(first_var),
            problem: format!(
                "cannot read from SSM Parameter Store: {}",
                DisplayErrorContext(&e)
            ),
        })?;
    let mut values: HashMap<String, String> = out
        .parameters
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| Some((p.name?, p.value?)))
        .collect();
    wanted
        .iter()
        .map(|(var, name)| {
            values
                .remove(name)
                .map(|value| (*var, value))
                .ok_or_else(|| ConfigError {
                    var: parameter_var(var),
                    problem: format!("parameter {name} does not exist"),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn parameter_names_are_requested_only_for_variables_given_by_name() {
        let wanted = requested(
            &env(&[
                ("CURSOR_KEYS_PARAMETER", "/api-tokens/cursor-keys"),
                ("TOKEN_HASH_KEY", "local value"),
            ]),
            Keys::ALL,
        )
        .unwrap();
        assert_eq!(
            wanted,
            vec![("CURSOR_KEYS", "/api-tokens/cursor-keys".to_string())]
        );
        assert!(requested(&env(&[]), Keys::ALL).unwrap().is_empty());
    }

    #[test]
    fn only_the_keys_a_function_uses_are_requested() {
        let both = [
            ("CURSOR_KEYS_PARAMETER", "/c"),
            ("TOKEN_HASH_KEY_PARAMETER", "/h"),
        ];
        let names = |keys| {
            requested(&env(&both), keys)
                .unwrap()
                .into_iter()
                .map(|(var, _)| var)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(Keys::CURSORS), ["CURSOR_KEYS"]);
        assert_eq!(names(Keys::TOKEN_HASH), ["TOKEN_HASH_KEY"]);
        assert!(names(Keys::NONE).is_empty());
    }

    #[test]
    fn a_key_given_both_by_value_and_by_parameter_is_refused() {
        let err = requested(
            &env(&[
                ("TOKEN_HASH_KEY", "local value"),
                ("TOKEN_HASH_KEY_PARAMETER", "/api-tokens/token-hash-key"),
            ]),
            Keys::ALL,
        )
        .unwrap_err();
        assert_eq!(err.var, "TOKEN_HASH_KEY_PARAMETER");
        assert!(!err.to_string().contains("local value"));
    }
}
