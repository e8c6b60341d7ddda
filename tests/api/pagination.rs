//! Keyset pagination: forward and backward across ties, stable under inserts between pages.
use serde_json::{Value, json};

use crate::helpers::{TestApp, ids, paper, spawn_app};

const PAGE: &str =
    "query($o: PaperOrder, $first: Int, $after: String, $last: Int, $before: String) {
  papers(orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { arxivId upvotes } } } }";

async fn page(app: &TestApp, vars: Value) -> Value {
    app.data(PAGE, vars).await["papers"].clone()
}

/// 45 papers over three days with only three distinct upvote counts: many ties.
async fn tied_papers(app: &TestApp) {
    for (d, date) in ["2026-02-01", "2026-02-02", "2026-02-03"]
        .iter()
        .enumerate()
    {
        let papers: Vec<_> = (0..15u32)
            .map(|i| {
                let n = d as u32 * 100 + i;
                paper(n, date, [10, 20, 30][(i % 3) as usize])
            })
            .collect();
        app.import(date, &papers).await;
    }
}

#[tokio::test]
async fn forward_and_backward_pages_cover_every_paper_once_across_ties() {
    let app = spawn_app().await;
    tied_papers(&app).await;
    for order in [
        json!({ "field": "UPVOTES" }),
        json!({ "field": "UPVOTES", "direction": "ASC" }),
        json!({ "field": "DAILY_DATE" }),
        json!({ "field": "GITHUB_STARS" }),
        json!({ "field": "TRENDING" }),
    ] {
        let all = ids(&page(&app, json!({ "o": order, "first": 100 })).await);
        assert_eq!(all.len(), 45);

        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let p = page(&app, json!({ "o": order, "first": 7, "after": after })).await;
            assert_eq!(p["totalCount"], 45);
            assert_eq!(p["pageInfo"]["hasPreviousPage"], json!(after.is_some()));
            let edges = p["edges"].as_array().unwrap();
            assert_eq!(p["pageInfo"]["startCursor"], edges[0]["cursor"]);
            assert_eq!(p["pageInfo"]["endCursor"], edges[edges.len() - 1]["cursor"]);
            seen.extend(ids(&p));
            pages += 1;
            if p["pageInfo"]["hasNextPage"] == json!(false) {
                break;
            }
            after = p["pageInfo"]["endCursor"].as_str().map(str::to_string);
            assert!(pages < 20, "pagination does not end");
        }
        assert_eq!(pages, 7);
        assert_eq!(seen, all, "forward pages of {order} equal the full list");

        let mut back = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let p = page(&app, json!({ "o": order, "last": 10, "before": before })).await;
            assert_eq!(p["pageInfo"]["hasNextPage"], json!(before.is_some()));
            let mut chunk = ids(&p);
            chunk.extend(back);
            back = chunk;
            if p["pageInfo"]["hasPreviousPage"] == json!(false) {
                break;
            }
            before = p["pageInfo"]["startCursor"].as_str().map(str::to_string);
        }
        assert_eq!(back, all, "backward pages of {order} equal the full list");
    }
}

#[tokio::test]
async fn inserts_between_pages_neither_repeat_nor_skip_what_was_there() {
    let app = spawn_app().await;
    tied_papers(&app).await;
    let order = json!({ "field": "UPVOTES" });
    let before_insert = ids(&page(&app, json!({ "o": order, "first": 100 })).await);
    let first = page(&app, json!({ "o": order, "first": 10 })).await;
    let cursor = first["pageInfo"]["endCursor"].as_str().unwrap().to_string();
    let first_ids = ids(&first);

    // New papers land before, at and after the cursor's position (same upvotes as the cursor).
    let newcomers: Vec<_> = [(900, 30), (901, 20), (902, 20), (903, 5)]
        .iter()
        .map(|&(n, up)| paper(n, "2026-02-04", up))
        .collect();
    app.import("2026-02-04", &newcomers).await;

    let mut rest = Vec::new();
    let mut after = Some(cursor);
    loop {
        let p = page(&app, json!({ "o": order, "first": 10, "after": after })).await;
        rest.extend(ids(&p));
        if p["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = p["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    for id in &first_ids {
        assert!(!rest.contains(id), "{id} was on page 1 and came again");
    }
    for id in &before_insert[10..] {
        assert!(rest.contains(id), "{id} was skipped");
    }
    let old_rest: Vec<_> = rest
        .iter()
        .filter(|id| before_insert.contains(id))
        .cloned()
        .collect();
    assert_eq!(
        old_rest,
        before_insert[10..].to_vec(),
        "the old papers keep their order"
    );
    assert!(
        rest.contains(&"2601.00903".to_string()),
        "a newcomer after the cursor shows up"
    );
    assert!(
        !rest.contains(&"2601.00900".to_string()),
        "a newcomer before the cursor does not"
    );
}

#[tokio::test]
async fn defaults_and_limits() {
    let app = spawn_app().await;
    tied_papers(&app).await;
    let p = page(&app, json!({})).await;
    assert_eq!(
        p["edges"].as_array().unwrap().len(),
        20,
        "first defaults to 20"
    );
    let p = page(&app, json!({ "last": 5 })).await;
    assert_eq!(p["edges"].as_array().unwrap().len(), 5);
    assert_eq!(p["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(p["pageInfo"]["hasNextPage"], false);
    let p = page(&app, json!({ "first": 0 })).await;
    assert_eq!(p["edges"], json!([]));
    assert_eq!(p["pageInfo"]["hasNextPage"], true);
    let p = page(&app, json!({ "first": 100 })).await;
    assert_eq!(p["edges"].as_array().unwrap().len(), 45);
    assert_eq!(p["pageInfo"]["hasNextPage"], false);
}
