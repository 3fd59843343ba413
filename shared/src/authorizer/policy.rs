//! REST answers: the method ARN a request names, and the IAM policy the authorizer returns,
//! evaluated the way API Gateway evaluates it for `execute-api:Invoke` (an explicit `Deny`
//! wins; `*` is any run of characters, `/` included).

use serde_json::{json, Value};

/// A REST method ARN: `arn:<p>:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/<path>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodArn<'a> {
    /// `arn:<p>:execute-api:<region>:<account>`.
    pub prefix: &'a str,
    /// The API's id.
    pub api_id: &'a str,
    /// The stage.
    pub stage: &'a str,
    /// The HTTP method.
    pub method: &'a str,
    /// The resource path without its leading `/` (`""` for `/`).
    pub path: &'a str,
}

impl<'a> MethodArn<'a> {
    /// Reads a method ARN; `None` when it has another shape.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let (prefix, resource) = arn.rsplit_once(':')?;
        if !prefix.starts_with("arn:") || prefix.split(':').nth(2) != Some("execute-api") {
            return None;
        }
        let mut parts = resource.splitn(4, '/');
        let (api_id, stage, method) = (parts.next()?, parts.next()?, parts.next()?);
        if [api_id, stage, method].iter().any(|p| p.is_empty()) {
            return None;
        }
        Some(Self {
            prefix,
            api_id,
            stage,
            method,
            path: parts.next().unwrap_or_default(),
        })
    }

    /// Every method of the API and stage: `…:<apiId>/<stage>/*`.
    pub fn api_wide(&self) -> String {
        format!("{}:{}/{}/*", self.prefix, self.api_id, self.stage)
    }
}

/// The resources a REST answer allows and denies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestPolicy {
    /// `Allow` resources.
    pub allow: Vec<String>,
    /// `Deny` resources (an explicit deny wins).
    pub deny: Vec<String>,
}

impl RestPolicy {
    /// Whether `arn` is allowed, as IAM evaluates it (`*` is any run of characters).
    pub fn allows(&self, arn: &str) -> bool {
        !self.deny.iter().any(|p| wildcard_match(p, arn))
            && self.allow.iter().any(|p| wildcard_match(p, arn))
    }
}

/// `*` in `pattern` matches any run of characters (the only wildcard policies here use).
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The answer allowing and denying `policy` to `principal_id`, with `context`.
pub fn rest_answer(principal_id: &str, policy: &RestPolicy, context: Value) -> Value {
    let mut statements = Vec::new();
    for (effect, resources) in [("Allow", &policy.allow), ("Deny", &policy.deny)] {
        if !resources.is_empty() {
            statements.push(json!({
                "Action": "execute-api:Invoke",
                "Effect": effect,
                "Resource": resources,
            }));
        }
    }
    json!({
        "principalId": principal_id,
        "policyDocument": {"Version": "2012-10-17", "Statement": statements},
        "context": context,
    })
}

/// The REST answer for a refused request: `Deny` on every method of the API and stage the
/// request was for, so a cached refusal is right for any method.
pub fn rest_deny(method_arn: &str) -> Value {
    json!({
        "principalId": "anonymous",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": "Deny",
                "Resource": api_wide(method_arn),
            }],
        },
    })
}

/// `arn:…:<api>/<stage>/*` from `arn:…:<api>/<stage>/<METHOD>/<path>`; an ARN of another
/// shape is denied as it is.
fn api_wide(method_arn: &str) -> String {
    let Some((prefix, resource)) = method_arn.rsplit_once(':') else {
        return method_arn.to_string();
    };
    let mut parts = resource.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(api), Some(stage)) if !api.is_empty() && !stage.is_empty() => {
            format!("{prefix}:{api}/{stage}/*")
        }
        _ => method_arn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rest_refusal_denies_the_whole_api_and_stage() {
        let arn = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders/7";
        assert_eq!(
            api_wide(arn),
            "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*"
        );
        assert_eq!(api_wide("not-an-arn"), "not-an-arn");
        assert_eq!(
            api_wide("arn:aws:execute-api:r:a:abc123"),
            "arn:aws:execute-api:r:a:abc123"
        );
        let deny = rest_deny(arn);
        assert_eq!(deny["policyDocument"]["Statement"][0]["Effect"], "Deny");
        assert!(deny.get("context").is_none());
    }

    #[test]
    fn method_arns_are_read_part_by_part() {
        let arn =
            MethodArn::parse("arn:aws:execute-api:eu-west-1:1:abc/prod/GET/orders/7").unwrap();
        assert_eq!(
            (arn.prefix, arn.api_id, arn.stage, arn.method, arn.path),
            (
                "arn:aws:execute-api:eu-west-1:1",
                "abc",
                "prod",
                "GET",
                "orders/7"
            )
        );
        assert_eq!(arn.api_wide(), "arn:aws:execute-api:eu-west-1:1:abc/prod/*");
        let root = MethodArn::parse("arn:aws:execute-api:r:1:abc/prod/GET/").unwrap();
        assert_eq!(root.path, "");
        for bad in [
            "not-an-arn",
            "arn:aws:lambda:r:1:function/x/GET/y",
            "arn:aws:execute-api:r:1:abc/prod",
            "arn:aws:execute-api:r:1:abc//GET/x",
        ] {
            assert_eq!(MethodArn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn wildcards_match_any_run_and_an_explicit_deny_wins() {
        assert!(wildcard_match("a/*/c", "a/b/x/c"));
        assert!(wildcard_match("a/*", "a/"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("a/*/c", "a/b/d"));
        assert!(!wildcard_match("a/b", "a/b/c"));
        assert!(!wildcard_match("a*a", "a"));
        let policy = RestPolicy {
            allow: vec!["api/prod/*".into()],
            deny: vec!["api/prod/POST/*".into()],
        };
        assert!(policy.allows("api/prod/GET/orders"));
        assert!(!policy.allows("api/prod/POST/orders"));
        assert!(!policy.allows("api/test/GET/orders"));
    }
}
