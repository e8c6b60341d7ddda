//! Observability and exposure settings: Prometheus metrics, request ids, CORS, introspection off,
//! and JSON logs with the request id, operation and duration.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_app_with};

/// A series' name with its labels in a canonical order (Prometheus does not order labels).
fn series(name_and_labels: &str) -> String {
    match name_and_labels.split_once('{') {
        Some((name, labels)) => {
            let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
            labels.sort_unstable();
            format!("{name}{{{}}}", labels.join(","))
        }
        None => name_and_labels.to_string(),
    }
}

/// The value of the series `name_and_labels` in an exposition.
fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    let wanted = series(name_and_labels);
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(s, _)| series(s) == wanted)
        .and_then(|(_, v)| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_operations_and_errors() {
    let app = spawn_app().await;
    app.import_samples().await;
    let scrape = || async {
        app.client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = scrape().await;
    let ok = r#"papergraph_http_requests_total{route="/graphql",status="200"}"#;
    let n0 = metric(&before, ok).unwrap_or(0.0);
    let e0 = metric(
        &before,
        r#"papergraph_graphql_errors_total{code="GRAPHQL_PARSE_FAILED"}"#,
    )
    .unwrap_or(0.0);
    let query = r#"papergraph_graphql_operations_total{type="query"}"#;
    let q0 = metric(&before, query).unwrap_or(0.0);
    app.data("{ papers(first: 2) { totalCount } }", json!({}))
        .await;
    app.data("query Two { papers(first: 3) { totalCount } }", json!({}))
        .await;
    // A document that does not parse is an error, not an operation.
    app.gql("{ papers(", json!({})).await;
    let after = scrape().await;
    assert!(metric(&after, ok).unwrap() >= n0 + 3.0, "{after}");
    assert!(
        metric(
            &after,
            r#"papergraph_graphql_errors_total{code="GRAPHQL_PARSE_FAILED"}"#
        )
        .unwrap()
            >= e0 + 1.0
    );
    assert!(metric(&after, query).unwrap() >= q0 + 2.0, "{after}");
    assert!(
        metric(
            &after,
            r#"papergraph_http_request_duration_seconds_bucket{route="/graphql",le="+Inf"}"#
        )
        .unwrap()
            >= 2.0
    );
    assert!(metric(&after, "papergraph_db_pool_max_connections").unwrap() >= 1.0);
    assert!(metric(&after, "papergraph_websockets").is_some());
    assert!(metric(&after, "papergraph_subscribers").is_some());
}

#[tokio::test]
async fn request_ids_cors_and_introspection_switch() {
    let app = spawn_app().await;
    // A sane caller id is kept; anything else is replaced.
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(
        id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );

    // CORS by default: any origin, GET and POST, no credentials.
    let pre = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", "https://app.example.org")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    assert!(
        pre.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        !pre.headers()
            .contains_key("access-control-allow-credentials")
    );
    let post = app
        .client
        .post(app.url("/graphql"))
        .header("origin", "https://app.example.org")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(post.headers()["access-control-allow-origin"], "*");

    // A locked-down server: one origin, no introspection.
    let locked = spawn_app_with(papergraph::app::HttpOptions {
        cors_origins: vec!["https://papers.example.org".into()],
        introspection: false,
        ..Default::default()
    })
    .await;
    let other = locked
        .client
        .request(reqwest::Method::OPTIONS, locked.url("/graphql"))
        .header("origin", "https://evil.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    // Another origin's preflight is not allowed: no `Access-Control-Allow-Origin` (a browser
    // then refuses the request).
    assert!(
        !other.headers().contains_key("access-control-allow-origin"),
        "{:?}",
        other.headers()
    );
    let mine = locked
        .client
        .post(locked.url("/graphql"))
        .header("origin", "https://papers.example.org")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        mine.headers()["access-control-allow-origin"],
        "https://papers.example.org"
    );
    let v: Value = locked
        .gql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(v["data"]["__schema"].is_null(), "introspection is off: {v}");
    let v = locked
        .gql("{ papers(first: 1) { totalCount } }", json!({}))
        .await;
    assert!(v["errors"].is_null(), "{v}");
}

#[tokio::test]
async fn json_logs_carry_the_request_id_operation_and_duration() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_papergraph"))
        .args(["--log-format", "json", "--log", "papergraph=info"])
        .arg("--database-url")
        .arg(format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("logs.db").display()
        ))
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
        .post(format!("{base}/graphql"))
        .header("x-request-id", "log-test-1")
        .json(&json!({ "query": "query Latest { papers(first: 1) { totalCount } }", "operationName": "Latest" }))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines: Vec<Value> = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let line = lines
        .iter()
        .find(|l| l["span"]["id"] == "log-test-1" && l["fields"]["message"] == "request")
        .unwrap_or_else(|| panic!("no request line: {lines:#?}"));
    assert_eq!(line["span"]["operation"], "Latest");
    assert_eq!(line["span"]["route"], "/graphql");
    assert_eq!(line["fields"]["status"], 200);
    assert!(line["fields"]["duration_ms"].as_f64().is_some());
    let _ = child.wait();
}
