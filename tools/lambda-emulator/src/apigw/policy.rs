//! The IAM policy a Lambda authorizer returns, evaluated the way API Gateway evaluates it
//! against one request's method (or route) ARN.
//!
//! What is reproduced (IAM policy evaluation logic, as API Gateway applies it to
//! `execute-api:Invoke`):
//! - `Statement` is one object or a list; each has `Effect` (`Allow` | `Deny`), exactly one of
//!   `Action` / `NotAction` and exactly one of `Resource` / `NotResource`, each a string or a
//!   list of strings. Anything else is a malformed policy (API Gateway answers 500).
//! - Actions match case-insensitively, resources case-sensitively; both take the `*` (any
//!   run of characters) and `?` (one character) wildcards. An ARN is compared part by part
//!   (`arn:partition:service:region:account:resource`), so a wildcard never spans the `:`
//!   between the first five parts, but `*` in the resource part spans `/`
//!   (`.../prod/GET/*` covers `.../prod/GET/orders/42`); a pattern starting `arn:` with fewer
//!   than six parts matches nothing.
//! - An explicit `Deny` beats any `Allow`; without a matching `Allow` the request is denied
//!   implicitly.
//!
//! Not reproduced: `Condition` blocks are ignored (authorizer policies rarely have them),
//! and policy variables are not substituted.

use serde_json::Value;

/// Why a policy document cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The document is not an object with a `Statement`.
    #[error("the policy document has no Statement")]
    NoStatement,
    /// A statement is malformed.
    #[error("statement {index}: {why}")]
    Statement {
        /// Its position in `Statement`.
        index: usize,
        /// What is wrong.
        why: &'static str,
    },
}

/// The outcome of evaluating a policy for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A statement allows it and none denies it.
    Allow,
    /// A `Deny` statement matches.
    ExplicitDeny,
    /// No statement allows it.
    ImplicitDeny,
}

/// A parsed IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    allow: bool,
    actions: Patterns,
    resources: Patterns,
}

/// `Action` (listed patterns match) or `NotAction` (listed patterns must not match).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Patterns {
    negated: bool,
    patterns: Vec<String>,
}

impl PolicyDocument {
    /// Reads a `policyDocument` as an authorizer returned it.
    pub fn parse(document: &Value) -> Result<Self, PolicyError> {
        let statements = match document.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => return Err(PolicyError::NoStatement),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(index, s)| {
                Statement::parse(s).map_err(|why| PolicyError::Statement { index, why })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { statements })
    }

    /// Evaluates the policy for `action` on `resource`.
    pub fn evaluate(&self, action: &str, resource: &str) -> Decision {
        let matching =
            |s: &&Statement| s.actions.covers(action, true) && s.resources.covers(resource, false);
        if self
            .statements
            .iter()
            .filter(|s| !s.allow)
            .any(|s| matching(&s))
        {
            Decision::ExplicitDeny
        } else if self
            .statements
            .iter()
            .filter(|s| s.allow)
            .any(|s| matching(&s))
        {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }

    /// Evaluates `execute-api:Invoke` on a method or route ARN.
    pub fn evaluate_invoke(&self, arn: &str) -> Decision {
        self.evaluate("execute-api:Invoke", arn)
    }
}

impl Statement {
    fn parse(value: &Value) -> Result<Self, &'static str> {
        let allow = match value.get("Effect").and_then(Value::as_str) {
            Some("Allow") => true,
            Some("Deny") => false,
            _ => return Err("Effect must be Allow or Deny"),
        };
        let actions = Patterns::parse(value, "Action", "NotAction")?;
        let resources = Patterns::parse(value, "Resource", "NotResource")?;
        Ok(Self {
            allow,
            actions,
            resources,
        })
    }
}

impl Patterns {
    fn parse(statement: &Value, plain: &str, negated: &str) -> Result<Self, &'static str> {
        let (value, negated) = match (statement.get(plain), statement.get(negated)) {
            (Some(v), None) => (v, false),
            (None, Some(v)) => (v, true),
            (Some(_), Some(_)) => return Err("both an element and its Not form"),
            (None, None) => return Err("no Action/NotAction or no Resource/NotResource"),
        };
        let patterns = match value {
            Value::String(s) => vec![s.clone()],
            Value::Array(list) => list
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or("a non-string pattern"))
                .collect::<Result<_, _>>()?,
            _ => return Err("a pattern list that is neither a string nor a list"),
        };
        Ok(Self { negated, patterns })
    }

    fn covers(&self, value: &str, is_action: bool) -> bool {
        let any = self.patterns.iter().any(|p| {
            if is_action {
                wildcard_match(&p.to_ascii_lowercase(), &value.to_ascii_lowercase())
            } else {
                arn_match(p, value)
            }
        });
        any != self.negated
    }
}

/// Whether `arn` matches the resource pattern `pattern`, part by part.
pub fn arn_match(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pattern_parts: Vec<&str> = pattern.splitn(6, ':').collect();
    let arn_parts: Vec<&str> = arn.splitn(6, ':').collect();
    if pattern_parts.len() != 6 || arn_parts.len() != 6 {
        // Not an ARN pattern: IAM would not match an ARN with it, unless it is no ARN at all.
        return !pattern.starts_with("arn:") && wildcard_match(pattern, arn);
    }
    pattern_parts
        .iter()
        .zip(&arn_parts)
        .all(|(p, a)| wildcard_match(p, a))
}

/// Whether `value` matches `pattern`, where `*` is any run of characters and `?` one.
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GET_ORDER: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42";

    fn policy(statements: Value) -> PolicyDocument {
        PolicyDocument::parse(&json!({"Version": "2012-10-17", "Statement": statements}))
            .expect("a valid policy")
    }

    #[test]
    fn an_allow_naming_the_exact_arn_allows_it_and_nothing_else() {
        let p = policy(
            json!([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": GET_ORDER}]),
        );
        assert_eq!(p.evaluate_invoke(GET_ORDER), Decision::Allow);
        let delete = GET_ORDER.replace("/GET/", "/DELETE/");
        assert_eq!(p.evaluate_invoke(&delete), Decision::ImplicitDeny);
    }

    #[test]
    fn a_single_statement_object_is_accepted() {
        let p = policy(
            json!({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": [GET_ORDER]}),
        );
        assert_eq!(p.evaluate_invoke(GET_ORDER), Decision::Allow);
    }

    #[test]
    fn star_in_the_resource_part_spans_slashes() {
        let p = policy(json!([{"Effect": "Allow", "Action": "execute-api:*",
            "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"}]));
        assert_eq!(p.evaluate_invoke(GET_ORDER), Decision::Allow);
        let other_stage = GET_ORDER.replace("/prod/", "/dev/");
        assert_eq!(p.evaluate_invoke(&other_stage), Decision::ImplicitDeny);
    }

    #[test]
    fn star_does_not_span_the_colons_between_arn_parts() {
        assert!(!arn_match("arn:aws:execute-api:*:abc123/*", GET_ORDER));
        assert!(arn_match("arn:aws:execute-api:*:*:abc123/*", GET_ORDER));
        assert!(arn_match("*", GET_ORDER));
    }

    #[test]
    fn question_mark_is_one_character() {
        let p = policy(json!([{"Effect": "Allow", "Action": "execute-api:Invoke",
            "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/4?"}]));
        assert_eq!(p.evaluate_invoke(GET_ORDER), Decision::Allow);
        let longer = format!("{GET_ORDER}2");
        assert_eq!(p.evaluate_invoke(&longer), Decision::ImplicitDeny);
    }

    #[test]
    fn an_explicit_deny_beats_an_allow() {
        let p = policy(json!([
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
            {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": GET_ORDER}
        ]));
        assert_eq!(p.evaluate_invoke(GET_ORDER), Decision::ExplicitDeny);
    }

    #[test]
    fn actions_match_case_insensitively_and_other_actions_do_not_allow() {
        let p =
            policy(json!([{"Effect": "Allow", "Action": "EXECUTE-API:invoke", "Resource": "*"}]));
        assert_eq!(p.evaluate_invoke(GET_ORDER), Decision::Allow);
        let p = policy(
            json!([{"Effect": "Allow", "Action": "execute-api:ManageConnections", "Resource": "*"}]),
        );
        assert_eq!(p.evaluate_invoke(GET_ORDER), Decision::ImplicitDeny);
    }

    #[test]
    fn not_action_and_not_resource_invert_the_match() {
        let p =
            policy(json!([{"Effect": "Allow", "NotAction": "s3:*", "NotResource": "*/DELETE/*"}]));
        assert_eq!(p.evaluate_invoke(GET_ORDER), Decision::Allow);
        let delete = GET_ORDER.replace("/GET/", "/DELETE/");
        assert_eq!(p.evaluate_invoke(&delete), Decision::ImplicitDeny);
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            json!({}),
            json!({"Statement": "Allow"}),
            json!({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": 7, "Resource": "*"}]}),
        ] {
            assert!(PolicyDocument::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wildcards_backtrack() {
        assert!(wildcard_match("a*b*c", "axxbyybzc"));
        assert!(!wildcard_match("a*b", "axxbc"));
        assert!(wildcard_match("**", ""));
        assert!(!wildcard_match("?", ""));
    }
}
