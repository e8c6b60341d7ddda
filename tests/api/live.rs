//! GraphQL subscriptions over a real websocket (`graphql-transport-ws`): `paperAdded` for papers
//! the sync stores from the fake upstream, `paperUpdated` with the figures before and after,
//! filters, protocol errors and timeouts, and events crossing servers through the database.
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use indicatif::ProgressBar;
use papergraph::sync::upstream::{Upstream, UpstreamConfig};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{TestApp, day, spawn_app};
use crate::upstream::{FakeUpstream, day_items};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-ws client on a real socket.
pub struct WsClient {
    socket: Socket,
}

impl WsClient {
    /// Connects to `base`'s `/graphql/ws` with `protocol` and, when `init`, completes
    /// `connection_init` / `connection_ack`.
    pub async fn connect(base: &str, protocol: &str, init: bool) -> WsClient {
        let url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            protocol,
            "the server speaks the protocol asked for"
        );
        let mut client = WsClient { socket };
        if init {
            client.send(json!({ "type": "connection_init" })).await;
            assert_eq!(client.next().await["type"], "connection_ack");
        }
        client
    }

    pub async fn send(&mut self, v: Value) {
        self.socket
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next message, as JSON (a close frame becomes `{"close": code}`); fails after 10 s.
    pub async fn next(&mut self) -> Value {
        self.within(Duration::from_secs(10))
            .await
            .expect("a message within 10 s")
    }

    /// The next message if one comes within `wait`.
    pub async fn within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let m = tokio::time::timeout(wait, self.socket.next()).await.ok()?;
            match m {
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
                Some(Ok(Message::Close(frame))) => {
                    return Some(json!({ "close": frame.map(|f| u16::from(f.code)) }));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Some(json!({ "close": null })),
            }
        }
    }
}

/// Waits until the server at `base` counts `n` live subscriptions (its `/metrics` gauge), so a
/// write that follows is seen by every one of them.
pub async fn wait_subscribers(base: &str, n: usize) {
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix("papergraph_subscribers "))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if count >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {count} of {n} subscriptions registered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn config(up: &FakeUpstream) -> UpstreamConfig {
    UpstreamConfig {
        base_url: up.url(),
        concurrency: 2,
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_millis(2_000),
        ..Default::default()
    }
}

async fn sync(app: &TestApp, up: &FakeUpstream, date: &str) {
    let upstream = Arc::new(Upstream::new(config(up)).unwrap());
    let report = papergraph::sync::worker::sync_days(
        &app.db,
        upstream,
        vec![day(date)],
        papergraph::entities::sync_run::Kind::Sync,
        &ProgressBar::hidden(),
    )
    .await
    .unwrap();
    assert_eq!(report.days_failed, 0);
}

const ADDED: &str = r#"subscription($f: PaperFilter) { paperAdded(filter: $f) { arxivId title upvotes authors { name } } }"#;
const UPDATED: &str = r#"subscription($f: PaperFilter) { paperUpdated(filter: $f) { paper { arxivId upvotes } previous { upvotes numComments githubStars } current { upvotes numComments githubStars } changedAt } }"#;

#[tokio::test]
async fn subscribers_receive_papers_the_sync_adds_and_updates_that_match_their_filter() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let base = format!("http://{}", app.addr);
    let mut all = WsClient::connect(&base, "graphql-transport-ws", true).await;
    all.subscribe("1", ADDED, json!({})).await;
    let mut popular = WsClient::connect(&base, "graphql-transport-ws", true).await;
    popular
        .subscribe("p", ADDED, json!({ "f": { "minUpvotes": 50 } }))
        .await;
    let mut elsewhere = WsClient::connect(&base, "graphql-transport-ws", true).await;
    elsewhere
        .subscribe("e", ADDED, json!({ "f": { "dailyDate": "2020-01-01" } }))
        .await;
    let mut updates = WsClient::connect(&base, "graphql-transport-ws", true).await;
    updates.subscribe("u", UPDATED, json!({})).await;
    wait_subscribers(&base, 4).await;

    let items = day_items("2026-03-02", 3, 5);
    let expected: Vec<(String, i64)> = items
        .iter()
        .map(|i| {
            (
                i["paper"]["id"].as_str().unwrap().to_string(),
                i["paper"]["upvotes"].as_i64().unwrap(),
            )
        })
        .collect();
    up.set_day("2026-03-02", items.clone());
    sync(&app, &up, "2026-03-02").await;

    let mut got = Vec::new();
    for _ in 0..5 {
        let m = all.next().await;
        assert_eq!(m["type"], "next", "{m}");
        assert_eq!(m["id"], "1");
        let p = &m["payload"]["data"]["paperAdded"];
        assert!(p["title"].as_str().unwrap().starts_with("Paper 2601."));
        assert!(!p["authors"].as_array().unwrap().is_empty());
        got.push((
            p["arxivId"].as_str().unwrap().to_string(),
            p["upvotes"].as_i64().unwrap(),
        ));
    }
    got.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(got, want);
    let popular_ids: Vec<String> = expected
        .iter()
        .filter(|(_, u)| *u >= 50)
        .map(|(id, _)| id.clone())
        .collect();
    for _ in 0..popular_ids.len() {
        let m = popular.next().await;
        let id = m["payload"]["data"]["paperAdded"]["arxivId"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(popular_ids.contains(&id), "{id} has fewer than 50 upvotes");
    }
    assert!(popular.within(Duration::from_millis(500)).await.is_none());
    assert!(
        elsewhere.within(Duration::from_millis(300)).await.is_none(),
        "nothing for a filter no new paper matches"
    );
    assert!(
        updates.within(Duration::from_millis(300)).await.is_none(),
        "new papers are not updates"
    );

    // The upstream's figures move for one paper: an update with before and after, no addition.
    let mut moved = items.clone();
    let before = moved[1]["paper"]["upvotes"].as_i64().unwrap();
    moved[1]["paper"]["upvotes"] = json!(before + 100);
    up.set_day("2026-03-02", moved);
    sync(&app, &up, "2026-03-02").await;
    let m = updates.next().await;
    let u = &m["payload"]["data"]["paperUpdated"];
    assert_eq!(u["paper"]["arxivId"], expected[1].0.as_str());
    assert_eq!(u["previous"]["upvotes"], before);
    assert_eq!(u["current"]["upvotes"], before + 100);
    assert_eq!(u["paper"]["upvotes"], before + 100);
    assert!(u["changedAt"].as_str().is_some());
    assert!(all.within(Duration::from_millis(300)).await.is_none());

    // complete ends one subscription; the socket stays open for others.
    all.send(json!({ "id": "1", "type": "complete" })).await;
    all.subscribe("2", UPDATED, json!({ "f": { "minUpvotes": 1000 } }))
        .await;
    // (async-graphql confirms the client's complete with one of its own.)
    let m = all.next().await;
    assert_eq!(
        (m["type"].as_str(), m["id"].as_str()),
        (Some("complete"), Some("1"))
    );
    let late = all.within(Duration::from_millis(300)).await;
    assert!(late.is_none(), "{late:?}");
}

#[tokio::test]
async fn the_protocol_answers_pings_errors_and_missing_init_as_graphql_ws_requires() {
    let app = spawn_app().await;
    let base = format!("http://{}", app.addr);
    let mut c = WsClient::connect(&base, "graphql-transport-ws", true).await;
    c.send(json!({ "type": "ping" })).await;
    assert_eq!(c.next().await["type"], "pong");
    // A bad filter is an error message with a code for that operation only.
    c.subscribe("bad", ADDED, json!({ "f": { "week": "2026-W99" } }))
        .await;
    // (An error raised by the field is a `next` with errors, then `complete`.)
    let m = c.next().await;
    assert_eq!(
        (m["type"].as_str(), m["id"].as_str()),
        (Some("next"), Some("bad")),
        "{m}"
    );
    assert_eq!(
        m["payload"]["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert_eq!(c.next().await["type"], "complete");
    // A syntax error too.
    c.subscribe("syntax", "subscription {", json!({})).await;
    let m = c.next().await;
    let code = match m["type"].as_str() {
        Some("error") => m["payload"][0]["extensions"]["code"].clone(),
        _ => m["payload"]["errors"][0]["extensions"]["code"].clone(),
    };
    assert_eq!(code, "GRAPHQL_PARSE_FAILED", "{m}");
    if m["type"] == "next" {
        assert_eq!(c.next().await["type"], "complete");
    }
    // Still usable afterwards.
    c.send(json!({ "type": "ping" })).await;
    assert_eq!(c.next().await["type"], "pong");

    // Subscribing before connection_init closes with 4401 Unauthorized.
    let mut early = WsClient::connect(&base, "graphql-transport-ws", false).await;
    early.subscribe("x", ADDED, json!({})).await;
    assert_eq!(early.next().await["close"], 4401);
    // A second connection_init closes with 4429.
    let mut twice = WsClient::connect(&base, "graphql-transport-ws", true).await;
    twice.send(json!({ "type": "connection_init" })).await;
    assert_eq!(twice.next().await["close"], 4429);

    // The legacy subscriptions-transport-ws protocol is spoken too.
    let mut legacy = WsClient::connect(&base, "graphql-ws", false).await;
    legacy.send(json!({ "type": "connection_init" })).await;
    assert_eq!(legacy.next().await["type"], "connection_ack");
}

#[tokio::test]
async fn a_client_that_never_initialises_is_closed_with_4408() {
    let app = spawn_app().await;
    let base = format!("http://{}", app.addr);
    let mut silent = WsClient::connect(&base, "graphql-transport-ws", false).await;
    let m = silent
        .within(Duration::from_secs(15))
        .await
        .expect("closed within the init timeout");
    assert_eq!(m["close"], 4408);
}

#[tokio::test]
async fn a_subscriber_on_another_server_receives_what_this_one_writes() {
    let app = spawn_app().await;
    let other = app.second_server().await;
    let mut c = WsClient::connect(&other, "graphql-transport-ws", true).await;
    c.subscribe("1", ADDED, json!({})).await;
    wait_subscribers(&other, 1).await;
    app.import("2026-03-03", &[crate::helpers::paper(7, "2026-03-03", 9)])
        .await;
    let m = c.next().await;
    assert_eq!(m["payload"]["data"]["paperAdded"]["arxivId"], "2601.00007");
}

#[tokio::test]
async fn a_lost_listen_connection_loses_no_event_and_no_socket() {
    let app = spawn_app().await;
    if app.opts.database_schema.is_none() {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\n!!! SKIPPED a_lost_listen_connection_loses_no_event_and_no_socket: it needs \
             PostgreSQL; set TEST_DATABASE_URL\n"
        );
        return;
    }
    let base = format!("http://{}", app.addr);
    let mut c = WsClient::connect(&base, "graphql-transport-ws", true).await;
    c.subscribe("1", ADDED, json!({})).await;
    wait_subscribers(&base, 1).await;
    // What a database restart does to the LISTEN connection (other tests' listeners reconnect
    // too, which they survive the same way).
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE query ILIKE 'LISTEN%papergraph_events%'",
        )
        .await
        .unwrap();
    // Written by another process, so only the database can tell this server.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_papergraph"));
    cmd.env("PAPERGRAPH_LOG", "warn")
        .arg("--database-url")
        .arg(&app.opts.database_url);
    if let Some(schema) = &app.opts.database_schema {
        cmd.arg("--database-schema").arg(schema);
    }
    let out = cmd
        .arg("import")
        .arg(crate::helpers::fixture(
            "api/daily_papers_date-2026-01-14.json",
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = c.next().await;
    assert_eq!(m["type"], "next", "the socket stayed open: {m}");
    assert!(m["payload"]["data"]["paperAdded"]["arxivId"].is_string());
}
