//! `schema.graphql` is the code's SDL, and every type and field is described.
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[test]
fn committed_schema_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let code = papergraph::graphql::sdl();
    if committed != code {
        panic!(
            "schema.graphql is stale; regenerate it with `cargo run -- schema > schema.graphql` and review the diff"
        );
    }
}

#[tokio::test]
async fn every_type_field_and_enum_value_has_a_description() {
    let app = spawn_app().await;
    let d = app
        .data(
            "{ __schema { types { name kind description
                fields { name description }
                inputFields { name description }
                enumValues { name description } } } }",
            json!({}),
        )
        .await;
    let mut missing = Vec::new();
    let builtin = ["String", "Int", "Float", "Boolean", "ID"];
    for t in d["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if name.starts_with("__") || builtin.contains(&name) {
            continue;
        }
        let blank = |v: &Value| v.as_str().is_none_or(|s| s.trim().is_empty());
        if blank(&t["description"]) {
            missing.push(name.to_string());
        }
        for f in t["fields"].as_array().into_iter().flatten() {
            if blank(&f["description"]) {
                missing.push(format!("{name}.{}", f["name"]));
            }
        }
        for f in t["inputFields"].as_array().into_iter().flatten() {
            if blank(&f["description"]) {
                missing.push(format!("{name}.{}", f["name"]));
            }
        }
        for f in t["enumValues"].as_array().into_iter().flatten() {
            if blank(&f["description"]) {
                missing.push(format!("{name}.{}", f["name"]));
            }
        }
    }
    assert!(missing.is_empty(), "undescribed: {missing:?}");
}
