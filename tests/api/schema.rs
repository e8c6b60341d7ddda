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

#[tokio::test]
async fn the_readme_first_query_runs_on_the_demo_data() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let start = readme
        .find("```graphql\n")
        .expect("README has a GraphQL example")
        + "```graphql\n".len();
    let query = &readme[start..start + readme[start..].find("```").unwrap()];
    let app = spawn_app().await;
    papergraph::sync::files::load_demo(&app.db).await.unwrap();
    let d = app.data(query, json!({})).await;
    let nodes = d["papers"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5, "{d:#}");
    assert!(
        nodes[0]["authors"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
}

#[tokio::test]
async fn every_query_the_readme_shows_answers_without_errors() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let app = spawn_app().await;
    papergraph::sync::files::load_demo(&app.db).await.unwrap();
    let mut ran = 0;
    for block in readme.split("```graphql\n").skip(1) {
        let doc = &block[..block.find("```").unwrap()];
        // Queries only: subscriptions need a websocket, the digest mutation an SMTP relay.
        if doc.trim_start().starts_with('{') {
            app.data(doc, json!({})).await;
            ran += 1;
        }
    }
    assert!(ran >= 4, "the README shows queries ({ran} found)");
}

/// The introspection query GraphiQL 3 sends on load (graphql-js `getIntrospectionQuery` with
/// descriptions, specifiedByURL, directive repeatability and deprecated input values).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } } }
"#;

#[tokio::test]
async fn graphiqls_introspection_query_is_within_the_limits() {
    let app = spawn_app().await;
    let d = app.data(INTROSPECTION, json!({})).await;
    assert_eq!(d["__schema"]["queryType"]["name"], "Query");
    assert!(d["__schema"]["types"].as_array().unwrap().len() > 20);
}
