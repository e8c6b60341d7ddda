//! A loopback stand-in for Hugging Face, serving the files `synth` wrote at `/api/daily_papers`,
//! and for every paper id a detail (`/api/papers/{id}`, with `?field=comments`) and its full
//! repo list (`/api/arxiv/{id}/repos`) made from the fixtures, for the sync and detail
//! benchmarks: `cargo run --release --example fake_upstream -- DATA_DIR PORT [small|capped]`.
//! `small`: a detail with one model, one Space and a comment and its reply (one request a
//! paper); `capped`: 37 models, 3 datasets, 14 Spaces and four comments, lists capped at 10 (a
//! second request for the full lists).
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde_json::Value;

struct Served {
    dir: std::path::PathBuf,
    detail: Value,
    repos: Value,
}

async fn daily_papers(
    State(s): State<Arc<Served>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let date = q.get("date").cloned().unwrap_or_default();
    let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
    let page: usize = q.get("p").and_then(|v| v.parse().ok()).unwrap_or(0);
    let path = s.dir.join(format!("daily_papers_date-{date}.json"));
    let items: Vec<Value> = match tokio::fs::read(&path).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let slice: Vec<Value> = items.into_iter().skip(page * limit).take(limit).collect();
    axum::Json(slice).into_response()
}

async fn paper(
    State(s): State<Arc<Served>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let mut d = s.detail.clone();
    d["id"] = Value::String(id);
    if q.get("field").map(String::as_str) != Some("comments")
        && let Some(o) = d.as_object_mut()
    {
        o.remove("comments");
    }
    axum::Json(d).into_response()
}

async fn full_repos(State(s): State<Arc<Served>>) -> axum::response::Response {
    axum::Json(s.repos.clone()).into_response()
}

fn fixture(rel: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/upstream")
        .join(rel);
    serde_json::from_slice(&std::fs::read(path).expect("the fixture")).expect("JSON")
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "bench/data".into()));
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(18100);
    let (detail, repos) = match args.next().as_deref() {
        Some("capped") => (
            fixture("api/papers_2411.09702_field-comments.json"),
            fixture("api/arxiv_2411.09702_repos.json"),
        ),
        _ => (
            fixture("api/papers_2601.25962_field-comments.json"),
            serde_json::json!({ "models": [], "datasets": [], "spaces": [] }),
        ),
    };
    let app = axum::Router::new()
        .route("/api/daily_papers", axum::routing::get(daily_papers))
        .route("/api/papers/{id}", axum::routing::get(paper))
        .route("/api/arxiv/{id}/repos", axum::routing::get(full_repos))
        .with_state(Arc::new(Served { dir, detail, repos }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
