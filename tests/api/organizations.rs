//! Organizations as a list of their own: `organizations(search:)`, `organization(name:)`,
//! `paperCount`, and `node(id:)`.
use papergraph::domain::OrganizationRef;
use serde_json::json;

use crate::helpers::spawn_app;

fn org(name: &str, fullname: &str) -> OrganizationRef {
    OrganizationRef {
        name: name.into(),
        hf_id: None,
        fullname: Some(fullname.into()),
        avatar_url: None,
    }
}

#[tokio::test]
async fn organizations_are_listed_by_papers_searched_without_accents_and_fetched_by_id() {
    let app = spawn_app().await;
    // Four papers to "mistral", two to "zurich-ai" (Zürich AI Lab), two to "acme", one without.
    let owners = [
        Some(org("mistral", "Mistral AI")),
        Some(org("zurich-ai", "Zürich AI Lab")),
        Some(org("mistral", "Mistral AI")),
        Some(org("acme", "ACME Research")),
        Some(org("mistral", "Mistral AI")),
        Some(org("zurich-ai", "Zürich AI Lab")),
        Some(org("acme", "ACME Research")),
        Some(org("mistral", "Mistral AI")),
        None,
    ];
    let papers: Vec<_> = owners
        .iter()
        .enumerate()
        .map(|(n, o)| {
            let mut p = crate::helpers::paper(n as u32 + 1, "2026-03-03", n as i32);
            p.organization = o.clone();
            p
        })
        .collect();
    app.import("2026-03-03", &papers).await;

    let q = "query($s: String, $first: Int, $after: String) { organizations(search: $s, first: $first, after: $after) {
        totalCount nodes { id name fullname paperCount } pageInfo { hasNextPage endCursor } } }";
    let all = app.data(q, json!({})).await["organizations"].clone();
    assert_eq!(all["totalCount"], 3);
    let listed: Vec<(String, i64)> = all["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["paperCount"].as_i64().unwrap(),
            )
        })
        .collect();
    // Most papers first, ties by handle.
    assert_eq!(
        listed,
        [
            ("mistral".to_string(), 4),
            ("acme".to_string(), 2),
            ("zurich-ai".to_string(), 2)
        ]
    );

    // Pages follow one another without repeats.
    let one = app.data(q, json!({ "first": 2 })).await["organizations"].clone();
    assert_eq!(one["pageInfo"]["hasNextPage"], true);
    let two = app
        .data(
            q,
            json!({ "first": 2, "after": one["pageInfo"]["endCursor"] }),
        )
        .await["organizations"]
        .clone();
    assert_eq!(two["nodes"][0]["name"], "zurich-ai");
    assert_eq!(two["pageInfo"]["hasNextPage"], false);

    // Accent- and case-insensitive, on the display name too.
    let zurich = app.data(q, json!({ "s": "zurich LAB" })).await["organizations"].clone();
    assert_eq!(
        zurich["totalCount"], 0,
        "the words are a substring, not a bag"
    );
    let zurich = app.data(q, json!({ "s": "ZÜRICH" })).await["organizations"].clone();
    assert_eq!(zurich["nodes"][0]["name"], "zurich-ai");
    assert_eq!(zurich["totalCount"], 1);
    let none = app.data(q, json!({ "s": "nobody" })).await["organizations"].clone();
    assert_eq!(
        none,
        json!({ "totalCount": 0, "nodes": [], "pageInfo": { "hasNextPage": false, "endCursor": null } })
    );

    // By handle, and by node id, with the same paper count and papers.
    let by_name = app
        .data(
            r#"{ organization(name: "Mistral") { id paperCount papers(first: 10) { totalCount } } }"#,
            json!({}),
        )
        .await["organization"]
        .clone();
    assert_eq!(by_name["paperCount"], 4);
    assert_eq!(by_name["papers"]["totalCount"], 4);
    let node = app
        .data(
            "query($id: ID!) { node(id: $id) { id ... on Organization { name paperCount } } }",
            json!({ "id": by_name["id"] }),
        )
        .await["node"]
        .clone();
    assert_eq!(node["name"], "mistral");
    assert_eq!(node["paperCount"], 4);
    assert!(
        app.data(r#"{ organization(name: "nobody") { name } }"#, json!({}))
            .await["organization"]
            .is_null()
    );

    // Bad input.
    for (vars, what) in [
        (json!({ "first": 101 }), "first over 100"),
        (json!({ "first": -1 }), "negative first"),
        (json!({ "after": "not-a-cursor" }), "a foreign cursor"),
        (json!({ "s": "x".repeat(101) }), "a long search"),
    ] {
        let res = app.gql(q, vars).await;
        assert_eq!(
            res["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{what}: {res}"
        );
    }
}
