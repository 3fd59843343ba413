//! `template.yaml` declares the same table and routes as the code.

use api_tokens::{api, schema};
use serde_yaml::Value;

fn template() -> Value {
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
    assert_eq!(table["DeletionPolicy"], "Retain");
    let p = &table["Properties"];
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
    let mut code: Vec<String> = api::ROUTES
        .iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    code.sort();
    assert_eq!(declared, code);
}
