//! The catalog's world: the tokens and cursors its placeholders are filled with, and the
//! table snapshot (`App::snapshot`) that "nothing was written" is checked against.

use api_tokens::service::CreateInput;
use integration_tests::App;
use serde_json::json;

use crate::{ADMIN, USER};

/// Values the placeholders of the catalog are filled with.
pub(super) struct Fixtures {
    pub(super) values: Vec<(&'static str, String)>,
    pub(super) alice: String,
    pub(super) reader: String,
    pub(super) expiring: String,
}

impl Fixtures {
    pub(super) fn fill(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.values {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        assert!(
            !out.contains("{cursor") && !out.contains("_id}") && !out.contains("_secret"),
            "an unfilled placeholder in {text}"
        );
        out
    }
}

/// Flips one character in the middle of a cursor or secret.
fn edited(s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = b.len() / 2;
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

/// The next-page cursor of `GET /tokens?{query}` for `token`.
async fn cursor(app: &App, token: &str, query: &str) -> String {
    let r = app.get(&format!("/tokens?{query}"), token).await;
    r.json["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("a second page for {query}: {}", r.text))
        .to_string()
}

pub(super) async fn fixtures(app: &App) -> Fixtures {
    let alice = app.mint("acme", "alice", USER).await;
    let reader = app.mint("acme", "rita", &["tokens:read"]).await;
    let in_a_day = api_tokens::time::now() + chrono::Duration::days(1);
    let (_, expiring) = app
        .mint_with(
            "acme",
            "carol",
            USER,
            CreateInput {
                expires_at: Some(in_a_day),
                ..Default::default()
            },
        )
        .await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, CreateInput::default())
        .await;
    let (bob_id, bob) = app
        .mint_with("acme", "bob", USER, CreateInput::default())
        .await;
    app.mint("acme", "bob", USER).await;
    let (foreign_id, gina) = app
        .mint_with("globex", "gina", ADMIN, CreateInput::default())
        .await;
    app.mint("globex", "gina", USER).await;
    let (revoked_id, revoked, expired) = ended_tokens(app, &alice).await;
    let r = app
        .post_keyed("/tokens", &alice, "used-key", json!({"name": "first"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    let cursor_of_alice = cursor(app, &alice, "limit=1").await;
    let other = App::start().await;
    let other_alice = other.mint("acme", "alice", USER).await;
    other.mint("acme", "alice", USER).await;
    let ids: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let values = vec![
        ("id", id),
        ("bob_id", bob_id),
        ("foreign_id", foreign_id),
        ("revoked_id", revoked_id),
        (
            "cursor_truncated",
            cursor_of_alice[..cursor_of_alice.len() - 3].to_string(),
        ),
        ("cursor_edited", edited(&cursor_of_alice)),
        ("cursor_long", "A".repeat(600)),
        ("cursor_of_bob", cursor(app, &bob, "limit=1").await),
        ("cursor_of_globex", cursor(app, &gina, "limit=1").await),
        (
            "cursor_of_other_keys",
            cursor(&other, &other_alice, "limit=1").await,
        ),
        ("cursor", cursor_of_alice),
        ("ids_101", ids.join(",")),
        ("ids_101_same", vec![ids[0].clone(); 101].join(",")),
        ("name_129", "n".repeat(129)),
        ("key_256", "k".repeat(256)),
        ("key_65", "k".repeat(65)),
        ("long_id", "x".repeat(5000)),
        ("alice_secret_edited", edited(&alice)),
        (
            "alice_secret_truncated",
            alice[..alice.len() - 1].to_string(),
        ),
        ("alice_secret", alice.clone()),
        ("revoked_secret", revoked),
        ("expired_secret", expired),
        ("other_keys_secret", other_alice),
    ];
    Fixtures {
        values,
        alice,
        reader,
        expiring,
    }
}

/// Two more tokens of alice's that no longer verify: (the revoked one's id, its secret, the
/// expired one's secret).
async fn ended_tokens(app: &App, alice: &str) -> (String, String, String) {
    let (revoked_id, revoked) = app
        .mint_with("acme", "alice", USER, CreateInput::default())
        .await;
    let r = app
        .post(&format!("/tokens/{revoked_id}/revoke"), alice, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let an_hour_ago = api_tokens::time::now() - chrono::Duration::hours(1);
    let (_, expired) = app
        .mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                expires_at: Some(an_hour_ago),
                ..Default::default()
            },
        )
        .await;
    (revoked_id, revoked, expired)
}
