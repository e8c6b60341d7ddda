//! Subscription fan-out benchmark: N graphql-ws subscribers on one server, papers added through
//! the server's own sync (this program serves the upstream's `/api/daily_papers` on loopback and
//! adds one paper per round), and the time from each paper's commit (`paper_events.created_at`,
//! written in the committing transaction) to each subscriber receiving `paperAdded`.
//!
//!   cargo run --release --example live -- UPSTREAM_PORT SERVER_URL DATABASE_URL SERVER_PID N ROUNDS
//!
//! Start the server with `--upstream-url http://127.0.0.1:UPSTREAM_PORT --sync-interval-secs 1`.
//! Prints `LIVE ...` lines: per round the latency of the last subscriber, then percentiles.
// A benchmark driver: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Items = Arc<Mutex<Vec<Value>>>;

async fn daily_papers(
    State(items): State<Items>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::Json<Vec<Value>> {
    let today = Utc::now().date_naive().to_string();
    let page: usize = q.get("p").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
    if q.get("date").map(String::as_str) != Some(today.as_str()) {
        return axum::Json(Vec::new());
    }
    let all = items.lock().unwrap().clone();
    axum::Json(all.into_iter().skip(page * limit).take(limit).collect())
}

fn item(sample: &Value, n: usize) -> Value {
    let mut it = sample.clone();
    let id = format!("2611.{:05}", 90000 + n);
    let at = Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    it["paper"]["id"] = json!(id);
    it["paper"]["title"] = json!(format!("Live benchmark paper {n}"));
    it["paper"]["submittedOnDailyAt"] = json!(at);
    it["publishedAt"] = json!(at);
    it
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = args[0].parse().unwrap();
    let server = args[1].clone();
    let db_url = args[2].clone();
    let pid: u32 = args[3].parse().unwrap();
    let n: usize = args[4].parse().unwrap();
    let rounds: usize = args[5].parse().unwrap();

    let sample: Value = {
        let body =
            std::fs::read("fixtures/upstream/api/daily_papers_date-2026-01-30.json").unwrap();
        let v: Vec<Value> = serde_json::from_slice(&body).unwrap();
        v[0].clone()
    };
    let items: Items = Arc::default();
    let app = axum::Router::new()
        .route("/api/daily_papers", axum::routing::get(daily_papers))
        .with_state(items.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let db = Database::connect(db_url.as_str()).await.unwrap();
    let before = rss_kb(pid);
    // Received (arxiv id, instant) per subscriber.
    let (tx, mut rx) =
        tokio::sync::mpsc::unbounded_channel::<(usize, String, chrono::DateTime<Utc>)>();
    let ready = Arc::new(tokio::sync::Semaphore::new(0));
    let ws_url = format!("{}/graphql/ws", server.replace("http://", "ws://"));
    let t0 = Instant::now();
    for s in 0..n {
        let (tx, ready, url) = (tx.clone(), ready.clone(), ws_url.clone());
        tokio::spawn(async move {
            let mut req = url.into_client_request().unwrap();
            req.headers_mut().insert(
                "sec-websocket-protocol",
                "graphql-transport-ws".parse().unwrap(),
            );
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
            ws.send(Message::Text(
                json!({"type": "connection_init"}).to_string().into(),
            ))
            .await
            .unwrap();
            let _ack = ws.next().await;
            ws.send(Message::Text(
                json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { paperAdded { arxivId } }"}})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
            ready.add_permits(1);
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    let at = Utc::now();
                    let v: Value = serde_json::from_str(&t).unwrap_or_default();
                    if let Some(id) = v["payload"]["data"]["paperAdded"]["arxivId"].as_str() {
                        let _ = tx.send((s, id.to_string(), at));
                    }
                }
            }
        });
    }
    let _ = ready.acquire_many(n as u32).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kb(pid);
    println!(
        "LIVE subscribers={n} connect_s={:.2} rss_before_kb={before} rss_after_kb={after} per_subscriber_kb={:.1}",
        t0.elapsed().as_secs_f64(),
        (after.saturating_sub(before)) as f64 / n as f64
    );

    let mut lasts = Vec::new();
    let mut all = Vec::new();
    for r in 0..rounds {
        let id = format!("2611.{:05}", 90000 + r);
        items.lock().unwrap().push(item(&sample, r));
        let mut got: Vec<chrono::DateTime<Utc>> = Vec::with_capacity(n);
        let deadline = Instant::now() + Duration::from_secs(30);
        while got.len() < n && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                Ok(Some((_, pid_, at))) if pid_ == id => got.push(at),
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!(
                    "SELECT e.created_at FROM paper_events e JOIN papers p ON p.id = e.paper_id \
                     WHERE p.arxiv_id = '{id}' AND e.kind = 'added'"
                ),
            ))
            .await
            .unwrap()
            .expect("the event row");
        let committed: chrono::DateTime<Utc> = row.try_get_by_index(0).unwrap();
        let lat: Vec<f64> = got
            .iter()
            .map(|t| (*t - committed).num_microseconds().unwrap_or(0) as f64 / 1000.0)
            .collect();
        let last = lat.iter().cloned().fold(0.0, f64::max);
        println!(
            "LIVE round={r} received={}/{n} last_ms={last:.1}",
            got.len()
        );
        lasts.push(last);
        all.extend(lat);
    }
    lasts.sort_by(|a, b| a.total_cmp(b));
    all.sort_by(|a, b| a.total_cmp(b));
    println!(
        "LIVE rounds={rounds} last_subscriber_ms p50={:.1} p99={:.1} max={:.1}; every_delivery_ms p50={:.1} p99={:.1}",
        pct(&lasts, 0.5),
        pct(&lasts, 0.99),
        lasts.last().copied().unwrap_or(f64::NAN),
        pct(&all, 0.5),
        pct(&all, 0.99)
    );
}
