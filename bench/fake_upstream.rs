//! A loopback stand-in for Hugging Face's `/api/daily_papers`, serving the files `synth` wrote,
//! for the sync benchmark: `cargo run --release --example fake_upstream -- DATA_DIR PORT`.
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde_json::Value;

async fn daily_papers(
    State(dir): State<Arc<std::path::PathBuf>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let date = q.get("date").cloned().unwrap_or_default();
    let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
    let page: usize = q.get("p").and_then(|v| v.parse().ok()).unwrap_or(0);
    let path = dir.join(format!("daily_papers_date-{date}.json"));
    let items: Vec<Value> = match tokio::fs::read(&path).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let slice: Vec<Value> = items.into_iter().skip(page * limit).take(limit).collect();
    axum::Json(slice).into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "bench/data".into()));
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(18100);
    let app = axum::Router::new()
        .route("/api/daily_papers", axum::routing::get(daily_papers))
        .with_state(Arc::new(dir));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
