//! Scopes: what a token may do. The service's own scopes are fixed; operators may add scopes
//! for their own API with `EXTRA_SCOPES`, which tokens then carry to the authorizer context.

/// Read the caller's own tokens.
pub const TOKENS_READ: &str = "tokens:read";
/// Create and revoke the caller's own tokens.
pub const TOKENS_WRITE: &str = "tokens:write";
/// Everything, for every user of the tenant.
pub const TOKENS_ADMIN: &str = "tokens:admin";

/// The service's own scopes, always available.
pub const BUILT_IN: [&str; 3] = [TOKENS_READ, TOKENS_WRITE, TOKENS_ADMIN];

/// The scopes a token may be given in this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCatalog {
    scopes: Vec<String>,
}

impl Default for ScopeCatalog {
    fn default() -> Self {
        Self {
            scopes: BUILT_IN.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl ScopeCatalog {
    /// The built-in scopes plus `extra` (each 1..=64 of `[A-Za-z0-9:._-]`).
    /// Returns the first invalid extra scope as the error.
    pub fn with_extra<'a>(extra: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut catalog = Self::default();
        for scope in extra {
            if !valid_scope_name(scope) {
                return Err(scope.to_string());
            }
            if !catalog.contains(scope) {
                catalog.scopes.push(scope.to_string());
            }
        }
        Ok(catalog)
    }

    /// Whether `scope` may be granted here.
    pub fn contains(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// All grantable scopes, built-in first.
    pub fn all(&self) -> &[String] {
        &self.scopes
    }
}

fn valid_scope_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_scopes_are_always_grantable() {
        let c = ScopeCatalog::default();
        assert!(BUILT_IN.iter().all(|s| c.contains(s)));
        assert!(!c.contains("orders:read"));
    }

    #[test]
    fn extra_scopes_are_added_once_and_validated() {
        let c = ScopeCatalog::with_extra(["orders:read", "orders:read", "tokens:read"]).unwrap();
        assert_eq!(c.all().len(), 4);
        assert!(c.contains("orders:read"));
        assert_eq!(
            ScopeCatalog::with_extra(["bad scope"]),
            Err("bad scope".into())
        );
        assert_eq!(ScopeCatalog::with_extra([""]), Err(String::new()));
    }
}
