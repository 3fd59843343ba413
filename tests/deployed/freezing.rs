//! Lambda freezes an environment the moment its runtime asks for the next event. Whatever a
//! function still has to send must leave within the invocation: under the emulator the
//! process is stopped (SIGSTOP) while idle, exactly then.

use hyper::Method;

use crate::stack::Stack;

/// The state letter of `pid` in /proc (`T`: stopped).
fn process_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.chars().next().unwrap()
}

#[tokio::test]
async fn the_last_use_is_written_before_the_authorizer_is_frozen() {
    let stack = Stack::start().await;
    let token = stack
        .mint("deployed-freeze", "alice", &["tokens:read"])
        .await;
    let id = api_tokens::secret::parse(&token).unwrap().id.to_string();
    let before = stack.record(&id).await.unwrap();
    assert!(!before.contains_key("last_used_at"));

    let me = stack.call(Method::GET, "/tokens/self", &token, None).await;
    assert_eq!(me.status, 200, "{}", me.text);
    // The authorizer's environment is now idle, and so stopped: nothing it left for later
    // can run until its next invocation.
    stack.lambda.wait_idle("TokensAuthorizerFunction").await;
    let environments = stack.lambda.environments("TokensAuthorizerFunction");
    assert_eq!(environments.len(), 1, "{environments:?}");
    assert_eq!(
        process_state(environments[0].pid),
        'T',
        "the environment is frozen"
    );

    let record = stack.record(&id).await.unwrap();
    let used = record
        .get("last_used_at")
        .expect("the use was recorded before the freeze");
    assert!(used.as_s().is_ok());
    assert_eq!(
        record
            .get("last_used_ip")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str),
        Some("127.0.0.1")
    );
}
