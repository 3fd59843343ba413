//! Several deployments' functions behind one [`Invoke`]: a consumer's stack beside the token
//! stack, whose API invokes its own function by logical id and the token stack's authorizer by
//! an imported (alias) ARN, as API Gateway does across stacks.

use std::sync::Arc;
use std::time::Duration;

use super::{FunctionError, Invocation, Invoke, InvokeFuture};
use crate::model::Deployment;

/// Routes each invocation to the deployment that has the function.
#[derive(Default, Clone)]
pub struct Router {
    targets: Vec<Target>,
}

#[derive(Clone)]
struct Target {
    deployment: Deployment,
    invoker: Arc<dyn Invoke>,
}

impl Router {
    /// A router with no deployment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `deployment`, whose functions `invoker` runs (by logical id). A logical id in
    /// several deployments goes to the first one added.
    pub fn with(mut self, deployment: &Deployment, invoker: Arc<dyn Invoke>) -> Self {
        self.targets.push(Target {
            deployment: deployment.clone(),
            invoker,
        });
        self
    }

    /// Which deployment (by the order added) runs `function`, and its logical id there.
    /// `function` is a logical id, a function name or ARN, or either qualified with `$LATEST`,
    /// a version number or one of the function's aliases.
    pub fn resolve(&self, function: &str) -> Option<(usize, String)> {
        let by_id = self.targets.iter().enumerate().find_map(|(i, t)| {
            let found = t.deployment.functions.contains_key(function);
            found.then(|| (i, function.to_owned()))
        });
        by_id.or_else(|| self.by_name_or_arn(function))
    }

    fn by_name_or_arn(&self, function: &str) -> Option<(usize, String)> {
        let (base, qualifier) = split_qualifier(function);
        self.targets.iter().enumerate().find_map(|(i, t)| {
            t.deployment.functions.iter().find_map(|(id, f)| {
                let named = base == f.arn || base == f.name;
                let qualified = match qualifier {
                    None | Some("$LATEST") => true,
                    Some(q) => {
                        q.bytes().all(|b| b.is_ascii_digit()) || f.aliases.iter().any(|a| a == q)
                    }
                };
                (named && qualified).then(|| (i, id.clone()))
            })
        })
    }
}

/// (`arn:..:function:name` or `name`, the qualifier after it).
fn split_qualifier(function: &str) -> (&str, Option<&str>) {
    if function.starts_with("arn:") {
        let colons: Vec<usize> = function.match_indices(':').map(|(i, _)| i).collect();
        return match colons.get(6) {
            Some(&at) => (&function[..at], Some(&function[at + 1..])),
            None => (function, None),
        };
    }
    match function.split_once(':') {
        Some((name, qualifier)) => (name, Some(qualifier)),
        None => (function, None),
    }
}

impl Invoke for Router {
    fn invoke<'a>(&'a self, function: &'a str, payload: serde_json::Value) -> InvokeFuture<'a> {
        let Some((index, id)) = self.resolve(function) else {
            return Box::pin(async move {
                Invocation {
                    result: Err(FunctionError::Runtime(format!("no function {function}"))),
                    environment: 0,
                    init: None,
                    duration: Duration::ZERO,
                }
            });
        };
        Box::pin(async move { self.targets[index].invoker.invoke(&id, payload).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Answers with its own name and the logical id it was asked for.
    struct Named(&'static str);

    impl Invoke for Named {
        fn invoke<'a>(&'a self, function: &'a str, _: serde_json::Value) -> InvokeFuture<'a> {
            Box::pin(async move {
                Invocation {
                    result: Ok(format!("{} {function}", self.0).into_bytes()),
                    environment: 1,
                    init: None,
                    duration: Duration::ZERO,
                }
            })
        }
    }

    fn deployment(stack: &str, id: &str, aliases: &[&str]) -> Deployment {
        let name = format!("{stack}-{id}");
        serde_json::from_value(json!({
            "stack_name": stack, "region": "us-east-1", "account": "123456789012",
            "functions": {id: {"name": name, "binary": "b", "memory_mb": 128, "timeout_seconds": 3,
                "arn": format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
                "aliases": aliases}}
        }))
        .expect("model")
    }

    async fn answer(router: &Router, function: &str) -> String {
        let invocation = router.invoke(function, json!({})).await;
        match invocation.result {
            Ok(bytes) => String::from_utf8(bytes).expect("text"),
            Err(e) => e.to_string(),
        }
    }

    #[tokio::test]
    async fn each_function_goes_to_its_own_deployment_by_id_name_or_arn() {
        let tokens = deployment("tokens", "AuthorizerFunction", &["live"]);
        let orders = deployment("orders", "OrdersFunction", &[]);
        let router = Router::new()
            .with(&tokens, Arc::new(Named("tokens")))
            .with(&orders, Arc::new(Named("orders")));
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:tokens-AuthorizerFunction";
        let expected = [
            ("OrdersFunction", "orders OrdersFunction"),
            ("AuthorizerFunction", "tokens AuthorizerFunction"),
            (arn, "tokens AuthorizerFunction"),
            (&format!("{arn}:live"), "tokens AuthorizerFunction"),
            (&format!("{arn}:$LATEST"), "tokens AuthorizerFunction"),
            (&format!("{arn}:1"), "tokens AuthorizerFunction"),
            ("orders-OrdersFunction", "orders OrdersFunction"),
        ];
        for (function, answer_is) in expected {
            assert_eq!(answer(&router, function).await, answer_is, "{function}");
        }
    }

    #[tokio::test]
    async fn an_unknown_function_or_alias_is_a_failed_invocation() {
        let tokens = deployment("tokens", "AuthorizerFunction", &["live"]);
        let router = Router::new().with(&tokens, Arc::new(Named("tokens")));
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:tokens-AuthorizerFunction";
        for function in [
            "Nope",
            &format!("{arn}:prod"),
            "arn:aws:lambda:us-east-1:999999999999:function:tokens-AuthorizerFunction",
        ] {
            assert_eq!(
                answer(&router, function).await,
                format!("runtime failed: no function {function}")
            );
        }
    }
}
