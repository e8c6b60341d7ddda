//! No N+1: a page of papers with authors, organizations (and their paper counts), submitters,
//! history, similar papers, linked repos and comments costs a constant number of SQL statements, whatever its size.
use papergraph::domain::HfUserRef;
use serde_json::json;

use crate::helpers::{TestApp, paper, spawn_app};

const Q: &str = "query($n: Int) { papers(first: $n, orderBy: {field: UPVOTES}) { totalCount nodes {
  arxivId authors { name position hidden claimStatus author { id name paperCount } hfUser { username } }
  organization { name fullname paperCount } submittedBy { username fullname } upvoteHistory { upvotes }
  similar(first: 2) { score paper { arxivId } } detailsSyncedAt linkedModels(first: 3) { id }
  linkedSpaces { id } comments(first: 2) { totalCount nodes { author { username } replies { id } } } } } }";

/// The statement count once it stops moving: statements other tasks run after a write (telling
/// other servers about it) land before a measurement starts.
async fn settled_statements(app: &TestApp) -> u64 {
    let mut before = app.stats.statements();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let now = app.stats.statements();
        if now == before {
            return now;
        }
        before = now;
    }
}

async fn statements_for(app: &TestApp, n: i64) -> u64 {
    let before = settled_statements(app).await;
    let d = app.data(Q, json!({ "n": n })).await;
    assert_eq!(d["papers"]["nodes"].as_array().unwrap().len() as i64, n);
    app.stats.statements() - before
}

#[tokio::test]
async fn a_page_of_100_papers_runs_a_small_constant_number_of_statements() {
    let app = spawn_app().await;
    let papers: Vec<_> = (0..120u32)
        .map(|n| {
            let mut p = paper(n, "2026-03-01", n as i32);
            p.submitted_by = Some(HfUserRef {
                username: format!("user{}", n % 10),
                hf_id: None,
                fullname: Some(format!("User {}", n % 10)),
                avatar_url: None,
                is_pro: false,
                kind: Some("user".into()),
            });
            p.authors[0].user = p.submitted_by.clone();
            p
        })
        .collect();
    app.import("2026-03-01", &papers).await;
    papergraph::repo::similar::update(&app.db).await.unwrap();
    // Every paper with its Hub neighbourhood: linked repos and a comment thread.
    let detail: serde_json::Value = serde_json::from_slice(
        &std::fs::read(crate::helpers::fixture(
            "api/papers_2411.09702_field-comments.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let n = papergraph::sync::hub::parse_neighbourhood(&detail).unwrap();
    let batch: Vec<_> = {
        use sea_orm::EntityTrait;
        papergraph::entities::paper::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
    }
    .iter()
    .map(|p| {
        (
            p.id,
            papergraph::repo::details::DetailOutcome::Fetched(n.clone()),
        )
    })
    .collect();
    papergraph::repo::details::store(&app.db, &batch, chrono::Utc::now())
        .await
        .unwrap();
    let small = statements_for(&app, 5).await;
    let large = statements_for(&app, 100).await;
    assert_eq!(
        small, large,
        "the statement count does not grow with the page"
    );
    assert!(
        large <= 14,
        "100 papers with relations took {large} statements"
    );
}

/// `papersByArxivId` reads its papers and each relation once for the whole list.
#[tokio::test]
async fn papers_by_arxiv_id_runs_a_small_constant_number_of_statements() {
    let app = spawn_app().await;
    let papers: Vec<_> = (0..120u32)
        .map(|n| paper(n, "2026-03-01", n as i32))
        .collect();
    app.import("2026-03-01", &papers).await;
    const Q: &str = "query($ids: [String!]!) { papersByArxivId(ids: $ids) {
      arxivId authors { name author { paperCount } } organization { name } submittedBy { username }
      upvoteHistory { upvotes } } }";
    let mut counts = Vec::new();
    for n in [5u32, 100] {
        let ids: Vec<String> = (0..n).map(|i| format!("2601.{i:05}")).collect();
        let before = settled_statements(&app).await;
        let d = app.data(Q, json!({ "ids": ids })).await;
        assert_eq!(d["papersByArxivId"].as_array().unwrap().len() as u32, n);
        assert!(
            d["papersByArxivId"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p.is_object())
        );
        counts.push(app.stats.statements() - before);
    }
    assert_eq!(
        counts[0], counts[1],
        "the statement count does not grow with the list"
    );
    assert!(
        counts[1] <= 8,
        "100 papers with relations took {} statements",
        counts[1]
    );
}
