//! `Idempotency-Key`: empty, too long, not ASCII, or reused with another body.

use super::case::{create, rotate, Case};

pub(super) const CASES: &[Case] = &[
    create("create: an empty Idempotency-Key", r#"{"name": "x"}"#)
        .headers(&[("idempotency-key", "")])
        .invalid(r#"["header","Idempotency-Key"]"#),
    create(
        "create: an Idempotency-Key of 256 characters",
        r#"{"name": "x"}"#,
    )
    .headers(&[("idempotency-key", "{key_256}")])
    .invalid(r#"["header","Idempotency-Key"]"#),
    create("create: a non-ASCII Idempotency-Key", r#"{"name": "x"}"#)
        .headers(&[("idempotency-key", "clé")])
        .invalid(r#"["header","Idempotency-Key"]"#),
    create("create: a tab in the Idempotency-Key", r#"{"name": "x"}"#)
        .headers(&[("idempotency-key", "a\tb")])
        .invalid(r#"["header","Idempotency-Key"]"#),
    rotate("rotate: an Idempotency-Key of 256 characters", "{}")
        .headers(&[("idempotency-key", "{key_256}")])
        .invalid(r#"["header","Idempotency-Key"]"#),
    create(
        "create: a used Idempotency-Key with another body",
        r#"{"name": "second"}"#,
    )
    .headers(&[("idempotency-key", "used-key")])
    .fails(422, "idempotency-key-reused"),
];
