//! `suggest`: completions of what a user types, across organizations, authors, keywords and papers.
use papergraph::domain::OrganizationRef;
use serde_json::{Value, json};

use crate::helpers::{author, paper, spawn_app};

const Q: &str = "query($p: String!, $n: Int) { suggest(prefix: $p, first: $n) { kind text id } }";

fn listed(v: &Value) -> Vec<(String, String)> {
    v["suggest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_string(),
                s["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn suggestions_complete_a_word_of_each_kind_most_popular_first() {
    let app = spawn_app().await;
    let mut a = paper(1, "2026-03-03", 10);
    a.title = "Diffusion Transformers at Scale".into();
    a.authors = vec![author("Dimitri Ölberg")];
    a.ai_keywords = vec!["diffusion".into(), "scaling".into()];
    a.organization = Some(OrganizationRef {
        name: "difflab".into(),
        hf_id: None,
        fullname: Some("Diff Lab".into()),
        avatar_url: None,
    });
    let mut b = paper(2, "2026-03-03", 90);
    b.title = "Latent Diffusion Made Simple".into();
    b.authors = vec![author("Olga Diaz")];
    b.ai_keywords = vec!["Diffusion".into()];
    b.organization = None;
    let mut c = paper(3, "2026-03-03", 50);
    c.title = "Unrelated Title".into();
    c.organization = None;
    app.import("2026-03-03", &[a, b, c]).await;

    let d = app.data(Q, json!({ "p": "DIF" })).await;
    // Kinds take turns (organizations, authors, keywords, papers); within a kind the most
    // popular first ("Latent Diffusion…" has 90 upvotes).
    assert_eq!(
        listed(&d),
        [
            ("ORGANIZATION".into(), "Diff Lab (difflab)".into()),
            ("KEYWORD".into(), "diffusion".into()),
            ("PAPER".into(), "Latent Diffusion Made Simple".into()),
            ("PAPER".into(), "Diffusion Transformers at Scale".into()),
        ]
    );
    // Accent-folded, any word of the text; an id that `node` resolves.
    let d = app.data(Q, json!({ "p": "olb" })).await;
    assert_eq!(
        listed(&d),
        [("AUTHOR".to_string(), "Dimitri Ölberg".to_string())]
    );
    let node = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Author { name } } }",
            json!({ "id": d["suggest"][0]["id"] }),
        )
        .await;
    assert_eq!(node["node"]["name"], "Dimitri Ölberg");
    // Earlier words narrow; `first` bounds.
    let d = app.data(Q, json!({ "p": "latent dif" })).await;
    assert_eq!(
        listed(&d),
        [(
            "PAPER".to_string(),
            "Latent Diffusion Made Simple".to_string()
        )]
    );
    let d = app.data(Q, json!({ "p": "dif", "n": 1 })).await;
    assert_eq!(d["suggest"].as_array().unwrap().len(), 1);
    // Nothing to complete, or nothing found: an empty list.
    for p in ["", "  ", "zzz"] {
        assert_eq!(
            app.data(Q, json!({ "p": p })).await["suggest"],
            json!([]),
            "{p:?}"
        );
    }
    // A paper stored later is suggested at once.
    let mut e = paper(4, "2026-03-04", 1);
    e.title = "Zebra Finch Song".into();
    app.import("2026-03-04", &[e]).await;
    let d = app.data(Q, json!({ "p": "zeb" })).await;
    assert_eq!(
        listed(&d),
        [("PAPER".to_string(), "Zebra Finch Song".to_string())]
    );
    // Bad input.
    assert_eq!(
        app.error_code(Q, json!({ "p": "a", "n": 51 })).await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(Q, json!({ "p": "x".repeat(101) })).await,
        "BAD_USER_INPUT"
    );
}
