//! Bad CIDR blocks in `allowed_ips`.

use serde_json::json;

use super::case::{case, create, Case};

pub(super) const CASES: &[Case] = &[
    create(
        "create: an IPv4 prefix of 33",
        r#"{"name": "x", "allowed_ips": ["10.0.0.0/33"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an IPv6 prefix of 129",
        r#"{"name": "x", "allowed_ips": ["2001:db8::/129"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: a negative prefix",
        r#"{"name": "x", "allowed_ips": ["10.0.0.0/-1"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an IPv4-mapped IPv6 block",
        r#"{"name": "x", "allowed_ips": ["::ffff:10.0.0.0/104"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an IPv4-mapped IPv6 address",
        r#"{"name": "x", "allowed_ips": ["10.0.0.0/8", "::ffff:192.0.2.1"]}"#,
    )
    .invalid(r#"["body","allowed_ips",1]"#),
    create(
        "create: an octet over 255",
        r#"{"name": "x", "allowed_ips": ["256.0.0.0/8"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an octet with a leading zero",
        r#"{"name": "x", "allowed_ips": ["010.0.0.0/8"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: two prefixes",
        r#"{"name": "x", "allowed_ips": ["10.0.0.0/8/8"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: a hostname",
        r#"{"name": "x", "allowed_ips": ["example.com"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an empty block",
        r#"{"name": "x", "allowed_ips": [""]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an IPv6 zone id",
        r#"{"name": "x", "allowed_ips": ["fe80::1%eth0"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    case("create: 33 blocks", "POST", "/tokens")
        .built(thirty_three_cidrs)
        .invalid(r#"["body","allowed_ips"]"#),
];

fn thirty_three_cidrs() -> Vec<u8> {
    let ips: Vec<String> = (0..33).map(|i| format!("10.0.{i}.0/24")).collect();
    json!({"name": "x", "allowed_ips": ips})
        .to_string()
        .into_bytes()
}
