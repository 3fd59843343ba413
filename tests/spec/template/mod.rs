//! `template.yaml` declares the same table and routes as the code.

use api_tokens::{http, schema};
use serde_yaml::Value;

mod stack;
mod timeouts;

pub(super) fn template() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("read template.yaml");
    let mut v: Value = serde_yaml::from_str(&text).expect("template.yaml parses");
    v.apply_merge().unwrap();
    v
}

#[test]
fn the_table_matches_the_schema_module() {
    let t = template();
    let table = &t["Resources"]["TokensTable"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    // Kept when the stack goes (unless its creation failed), and protected from deletion.
    assert_eq!(table["DeletionPolicy"], "RetainExceptOnCreate");
    assert_eq!(table["UpdateReplacePolicy"], "Retain");
    let p = &table["Properties"];
    assert_eq!(p["DeletionProtectionEnabled"], true);
    assert_eq!(p["KeySchema"][0]["AttributeName"], schema::PK);
    assert_eq!(p["KeySchema"][0]["KeyType"], "HASH");
    assert_eq!(p["KeySchema"].as_sequence().unwrap().len(), 1);
    assert_eq!(
        p["TimeToLiveSpecification"]["AttributeName"],
        schema::PURGE_AT
    );

    let mut defined: Vec<String> = p["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["AttributeType"], "S");
            d["AttributeName"].as_str().unwrap().to_string()
        })
        .collect();
    defined.sort();
    let mut expected: Vec<String> = vec![schema::PK.to_string()];
    for index in schema::INDEXES {
        for a in [index.partition_key(), index.sort_key()] {
            if !expected.iter().any(|e| e == a) {
                expected.push(a.to_string());
            }
        }
    }
    expected.sort();
    assert_eq!(defined, expected);

    let gsis = p["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(gsis.len(), schema::INDEXES.len());
    for (gsi, index) in gsis.iter().zip(schema::INDEXES) {
        assert_eq!(gsi["IndexName"], index.name);
        assert_eq!(gsi["KeySchema"][0]["AttributeName"], index.partition_key());
        assert_eq!(gsi["KeySchema"][0]["KeyType"], "HASH");
        assert_eq!(gsi["KeySchema"][1]["AttributeName"], index.sort_key());
        assert_eq!(gsi["KeySchema"][1]["KeyType"], "RANGE");
        // Safe only because token records hold no secret (see secrets.rs).
        assert_eq!(gsi["Projection"]["ProjectionType"], "ALL");
    }
}

#[test]
fn the_api_routes_match_the_code() {
    let t = template();
    let mut declared = Vec::new();
    for (_, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, e) in events {
            if e["Type"] == "HttpApi" {
                let method = e["Properties"]["Method"].as_str().unwrap().to_uppercase();
                declared.push(format!(
                    "{method} {}",
                    e["Properties"]["Path"].as_str().unwrap()
                ));
            }
        }
    }
    declared.sort();
    let mut code: Vec<String> = http::ROUTES
        .iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    code.sort();
    assert_eq!(declared, code);
}

#[test]
fn every_function_builds_a_workspace_binary_and_serves_exactly_its_routes() {
    let t = template();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    let binaries: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|d| std::fs::read_to_string(d.unwrap().path().join("Cargo.toml")).unwrap())
        .filter_map(|manifest| {
            manifest
                .lines()
                .find_map(|l| l.strip_prefix("name = "))
                .map(|n| n.trim_matches('"').to_string())
        })
        .collect();
    let serves = |binary: &str| -> &[http::Operation] {
        match binary {
            "tokens-list" => http::LIST_FUNCTION,
            "tokens-create" => http::CREATE_FUNCTION,
            "tokens-revoke" => http::REVOKE_FUNCTION,
            _ => &[],
        }
    };
    let mut deployed = Vec::new();
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name:?} names no binary"));
        deployed.push(binary.to_string());
        assert!(
            binaries.iter().any(|b| b == binary),
            "{binary} is not a package under functions/"
        );
        assert_eq!(resource["Metadata"]["BuildMethod"], "rust-cargolambda");
        let mut routed: Vec<http::Operation> = resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, e)| e["Type"] == "HttpApi")
            .map(|(_, e)| {
                let method = e["Properties"]["Method"].as_str().unwrap().to_uppercase();
                let path = e["Properties"]["Path"].as_str().unwrap();
                http::ROUTES
                    .iter()
                    .find(|(m, p, _)| m.as_str() == method && *p == path)
                    .map(|(_, _, op)| *op)
                    .unwrap()
            })
            .collect();
        let mut expected = serves(binary).to_vec();
        routed.sort_by_key(|op| format!("{op:?}"));
        expected.sort_by_key(|op| format!("{op:?}"));
        assert_eq!(
            routed, expected,
            "{binary}: the routes API Gateway sends it"
        );
    }
    assert_eq!(
        deployed.len(),
        7,
        "list, create, revoke, authorizer, expire, revoke-events, publish-events"
    );
    // And nothing else: local tools (the dev server, the operator's CLI) live in tools/.
    let mut packages = binaries;
    packages.sort();
    deployed.sort();
    assert_eq!(
        packages, deployed,
        "functions/ holds exactly the binaries template.yaml deploys"
    );
}

#[test]
fn the_denials_alarm_counts_the_authorizer_s_denial_lines() {
    let t = template();
    let filter = &t["Resources"]["AuthorizerDenialsMetric"]["Properties"];
    assert_eq!(
        filter["FilterPattern"],
        format!(
            r#"{{ $.fields.message = "{}" }}"#,
            api_tokens::authorizer::DENIED
        )
    );
    let written_to =
        &t["Resources"]["TokensAuthorizerFunction"]["Properties"]["LoggingConfig"]["LogGroup"];
    assert_eq!(
        serde_yaml::to_string(written_to).unwrap().trim(),
        "!Ref TokensAuthorizerLogGroup",
        "the filter reads the log group the authorizer writes to"
    );
}

/// A template value as YAML text, tags included (`!Ref CursorKeysReadPolicy`).
pub(super) fn yaml(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap().trim().to_string()
}

/// One key's read policy: `ssm:GetParameters` on that key's parameter, and `kms:Decrypt`
/// only for a customer managed key, only through SSM.
fn assert_reads_only(t: &Value, policy: &str, parameter: &str) {
    let statements = &t["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(statements[0]["Action"], "ssm:GetParameters", "{policy}");
    let resource = yaml(&statements[0]["Resource"]);
    assert!(
        resource.ends_with(&format!(":parameter${{{parameter}}}")),
        "{policy}: {resource}"
    );
    let decrypt = yaml(&statements[1]);
    for part in [
        "HasKeysKmsKey",
        "kms:Decrypt",
        "!Ref KeysKmsKeyArn",
        "kms:ViaService",
        "!Ref AWS::NoValue",
    ] {
        assert!(decrypt.contains(part), "{policy} {part}: {decrypt}");
    }
    assert_eq!(statements.as_sequence().unwrap().len(), 2, "{policy}");
}

/// The `main.rs` of the function whose binary is `binary`.
pub(super) fn main_of(binary: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    std::fs::read_dir(root)
        .unwrap()
        .map(|d| d.unwrap().path())
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .unwrap()
                .contains(&format!("name = \"{binary}\""))
        })
        .map(|dir| std::fs::read_to_string(dir.join("src/main.rs")).unwrap())
        .unwrap()
}

/// The key variables the function `binary`'s main asks for (`service_from_env(Keys::…)`,
/// `Authorizer::from_env(Keys::…)`).
fn keys_of(binary: &str) -> Vec<&'static str> {
    let main = main_of(binary);
    let keys = ["ALL", "CURSORS", "TOKEN_HASH", "NONE"]
        .into_iter()
        .find(|k| main.contains(&format!("(Keys::{k})")) || main.contains(&format!("(Keys::{k},")));
    match keys {
        Some("ALL") => vec!["CURSOR_KEYS", "TOKEN_HASH_KEY"],
        Some("CURSORS") => vec!["CURSOR_KEYS"],
        Some("TOKEN_HASH") => vec!["TOKEN_HASH_KEY"],
        _ => vec![],
    }
}

#[test]
fn each_function_is_given_and_may_read_only_the_keys_its_main_uses() {
    let t = template();
    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    for (value_var, parameter_var) in api_tokens::config::parameters::KEY_PARAMETERS {
        assert!(globals[value_var].is_null() && globals[parameter_var].is_null());
    }
    let policies = [
        ("CURSOR_KEYS", "CursorKeysReadPolicy", "CursorKeysParameter"),
        (
            "TOKEN_HASH_KEY",
            "TokenHashKeyReadPolicy",
            "TokenHashKeyParameter",
        ),
    ];
    for (_, policy, parameter) in policies {
        assert_reads_only(&t, policy, parameter);
    }

    let mut given = Vec::new();
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        let used = keys_of(binary);
        let env = &resource["Properties"]["Environment"]["Variables"];
        let attached: Vec<String> = resource["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(yaml)
            .collect();
        for ((var, parameter_var), (_, policy, parameter)) in
            api_tokens::config::parameters::KEY_PARAMETERS
                .iter()
                .zip(policies)
        {
            let uses = used.contains(var);
            assert!(
                env[*var].is_null(),
                "{name:?}: {var} must not be a plain value"
            );
            assert_eq!(
                yaml(&env[*parameter_var]) == format!("!Ref {parameter}"),
                uses,
                "{name:?} ({binary}): {parameter_var}"
            );
            assert_eq!(
                attached.contains(&format!("!Ref {policy}")),
                uses,
                "{name:?} ({binary}): {policy}"
            );
            if uses {
                given.push(format!("{binary}:{var}"));
            }
        }
    }
    given.sort();
    assert_eq!(
        given,
        [
            "tokens-authorizer:TOKEN_HASH_KEY",
            "tokens-create:TOKEN_HASH_KEY",
            "tokens-list:CURSOR_KEYS",
            "tokens-revoke-events:TOKEN_HASH_KEY",
        ]
    );
}

/// The fixtures' (and the docs') EventBridge sources.
fn fixture_sources() -> Vec<String> {
    [
        "eventbridge-revoke-token.json",
        "eventbridge-revoke-user-tokens.json",
        "eventbridge-revoke-leaked-secret.json",
    ]
    .iter()
    .map(|f| {
        let event = integration_tests::fixture(f, &[]);
        event["source"].as_str().unwrap().to_string()
    })
    .collect()
}

#[test]
fn only_the_configured_sources_and_accounts_may_revoke_by_event() {
    let t = template();
    let sources = &t["Parameters"]["RevocationEventSources"];
    assert_eq!(sources["Type"], "CommaDelimitedList");
    let default: Vec<&str> = sources["Default"].as_str().unwrap().split(',').collect();
    let mut expected = fixture_sources();
    expected.sort();
    let mut sorted = default.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected, "the default is the examples' sources");
    assert_eq!(
        integration_tests::EVENT_SOURCES,
        default.as_slice(),
        "the tests' handler options are the template's"
    );
    assert_eq!(t["Parameters"]["RevocationEventAccounts"]["Default"], "");

    // The rule: on the service's own bus, only these sources, only these accounts.
    let rule = &t["Resources"]["RevocationRequestsRule"]["Properties"];
    assert_eq!(yaml(&rule["EventBusName"]), "!Ref TokensEventBus");
    let pattern = &rule["EventPattern"];
    assert_eq!(yaml(&pattern["source"]), "!Ref RevocationEventSources");
    let account = yaml(&pattern["account"]);
    for part in [
        "HasRevocationEventAccounts",
        "${AWS::AccountId},${Others}",
        "!Ref RevocationEventAccounts",
        "- !Ref AWS::AccountId",
    ] {
        assert!(account.contains(part), "{part}: {account}");
    }

    // The bus takes PutEvents from this account, and from the listed ones only with an
    // allowed source; nothing else is granted.
    let grants = event_bus_grants(&t);
    assert_eq!(
        grants,
        [
            (
                "!Ref RevocationEventAccounts".to_string(),
                "HasRevocationEventAccounts".to_string(),
                "StringEquals:\n  events:source: !Ref RevocationEventSources".to_string()
            ),
            (
                "!Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root".to_string(),
                "null".to_string(),
                "null".to_string()
            ),
        ]
    );

    // The function checks the source again, against the same list, and counts refusals.
    let function = &t["Resources"]["TokensRevokeEventsFunction"]["Properties"];
    let env = &function["Environment"]["Variables"];
    assert_eq!(
        yaml(&env[api_tokens::events::revocation::SOURCES_VAR]),
        "!Join\n- ','\n- !Ref RevocationEventSources"
    );
    let alarm = &t["Resources"]["RevocationEventsRefusedAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"], api_tokens::metrics::NAMESPACE);
    assert_eq!(
        alarm["MetricName"],
        api_tokens::events::revocation::REFUSED_METRIC
    );
    assert_eq!(
        yaml(&alarm["Dimensions"][0]["Value"]),
        "!Ref TokensRevokeEventsFunction"
    );
}

/// Each `PutEvents` grant of the event bus's policies: (principal, resource condition,
/// statement condition), sorted.
fn event_bus_grants(t: &Value) -> Vec<(String, String, String)> {
    let mut grants = Vec::new();
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"] == "AWS::Events::EventBusPolicy" {
            let p = &resource["Properties"];
            assert_eq!(yaml(&p["EventBusName"]), "!Ref TokensEventBus", "{name:?}");
            let s = &p["Statement"];
            assert_eq!(s["Effect"], "Allow");
            assert_eq!(s["Action"], "events:PutEvents");
            assert_eq!(yaml(&s["Resource"]), "!GetAtt TokensEventBus.Arn");
            grants.push((
                yaml(&s["Principal"]["AWS"]),
                yaml(&resource["Condition"]),
                yaml(&s["Condition"]),
            ));
        }
    }
    grants.sort();
    grants
}

#[test]
fn the_revocation_function_may_send_only_its_continuations_to_its_own_queue() {
    let t = template();
    let function = &t["Resources"]["TokensRevokeEventsFunction"]["Properties"];
    assert_eq!(
        yaml(&function["Environment"]["Variables"][api_tokens::events::revocation::QUEUE_URL_VAR]),
        "!Ref RevocationQueue"
    );
    let statements: Vec<&Value> = function["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|p| p["Statement"].as_sequence())
        .flatten()
        .collect();
    let sqs: Vec<String> = statements
        .iter()
        .filter(|s| yaml(&s["Action"]).contains("sqs:"))
        .map(|s| format!("{} on {}", yaml(&s["Action"]), yaml(&s["Resource"])))
        .collect();
    assert_eq!(sqs, ["sqs:SendMessage on !GetAtt RevocationQueue.Arn"]);
    // Receiving is the event source mapping's (SAM grants it); continuations keep
    // maxReceiveCount for real failures.
    let events = &function["Events"]["Requests"];
    assert_eq!(events["Type"], "SQS");
    assert_eq!(
        yaml(&events["Properties"]["Queue"]),
        "!GetAtt RevocationQueue.Arn"
    );
    let redrive = &t["Resources"]["RevocationQueue"]["Properties"]["RedrivePolicy"];
    assert!(redrive["maxReceiveCount"].as_u64().unwrap() >= 1);
}

#[test]
fn the_unreadable_records_alarm_sums_every_function() {
    let t = template();
    let mut functions: Vec<String> = t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(name, _)| format!("!Ref {}", name.as_str().unwrap()))
        .collect();
    functions.sort();
    let alarm = &t["Resources"]["UnreadableRecordsAlarm"]["Properties"];
    let metrics = alarm["Metrics"].as_sequence().unwrap();
    let mut watched: Vec<String> = metrics
        .iter()
        .filter(|m| !m["MetricStat"].is_null())
        .map(|m| {
            let metric = &m["MetricStat"]["Metric"];
            assert_eq!(metric["Namespace"], api_tokens::metrics::NAMESPACE);
            assert_eq!(metric["MetricName"], api_tokens::metrics::UNREADABLE_METRIC);
            assert_eq!(metric["Dimensions"][0]["Name"], "FunctionName");
            yaml(&metric["Dimensions"][0]["Value"])
        })
        .collect();
    watched.sort();
    assert_eq!(watched, functions, "every function's skipped records");
    let total = metrics.iter().find(|m| m["ReturnData"] == true).unwrap();
    let ids: Vec<&str> = metrics
        .iter()
        .filter(|m| !m["MetricStat"].is_null())
        .map(|m| m["Id"].as_str().unwrap())
        .collect();
    assert_eq!(
        total["Expression"].as_str().unwrap(),
        format!("SUM([{}])", ids.join(", "))
    );
}
