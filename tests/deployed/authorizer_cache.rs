//! API Gateway's authorizer cache (`AuthorizerCacheTtlSeconds` > 0) replays a decision for
//! every request with the same identity-source values. A token's `allowed_ips` decide by the
//! source address, so the address must be one of them: the template's cache key.

use api_tokens::service::CreateInput;
use hyper::Method;

use crate::stack::{loopback, Stack, Template};

/// A token allowed only from 127.0.0.2, used from there and then from 127.0.0.3 through a
/// stack whose authorizer caches for 300 s; returns the second answer's status, how often
/// the authorizer ran, and the token.
async fn from_two_addresses(stack: &Stack) -> (u16, u64, String) {
    let input = CreateInput {
        allowed_ips: vec!["127.0.0.2/32".into()],
        ..CreateInput::default()
    };
    let token = stack
        .mint_with("deployed-cache", "alice", &["tokens:read"], input)
        .await;
    let allowed = stack
        .request(loopback(2), Method::GET, "/tokens/self", Some(&token), None)
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.text);
    let other = stack
        .request(loopback(3), Method::GET, "/tokens/self", Some(&token), None)
        .await;
    (other.status, stack.api.authorizer_invocations(), token)
}

#[tokio::test]
async fn a_cached_allow_for_one_address_is_never_replayed_for_another() {
    let stack = Stack::start_with(Template::Cached, |_| {}).await;
    let authorizer = &stack.deployment.http_apis["TokensApi"].authorizers["TokenAuthorizer"];
    assert_eq!(authorizer.result_ttl_seconds, 300);
    let (status, invocations, token) = from_two_addresses(&stack).await;
    assert_eq!(status, 403, "another address is refused");
    assert_eq!(invocations, 2, "the authorizer decided for each address");

    // And the cache does work: each address again costs no invocation.
    for (n, expected) in [(2, 200), (3, 403)] {
        let again = stack
            .request(loopback(n), Method::GET, "/tokens/self", Some(&token), None)
            .await;
        assert_eq!(again.status, expected);
    }
    assert_eq!(stack.api.authorizer_invocations(), 2);
}

/// The control: with the cache keyed by the Authorization header alone (the template before
/// the source address joined the key), the same requests let the other address through.
#[tokio::test]
async fn keyed_by_the_header_alone_the_cache_would_let_another_address_through() {
    let stack = Stack::start_with(Template::Cached, |d| {
        let api = d.http_apis.get_mut("TokensApi").unwrap();
        let authorizer = api.authorizers.get_mut("TokenAuthorizer").unwrap();
        authorizer.identity_sources = vec!["$request.header.Authorization".into()];
    })
    .await;
    let (status, invocations, _) = from_two_addresses(&stack).await;
    assert_eq!(
        status, 200,
        "the allow for 127.0.0.2 was replayed for 127.0.0.3"
    );
    assert_eq!(invocations, 1);
}
