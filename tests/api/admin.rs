//! Admin mutations: `requestSync` needs the admin token and syncs from the upstream.
use std::sync::Arc;
use std::time::{Duration, Instant};

use papergraph::graphql::admin::{Admin, AdminContext};
use papergraph::sync::upstream::{Upstream, UpstreamConfig};
use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_app_with};
use crate::upstream::{FakeUpstream, day_items};

const TOKEN: &str = "a-long-admin-token-for-tests";
const REQUEST: &str =
    r#"mutation { requestSync(from: "2026-02-02", to: "2026-02-03") { kind status daysTotal } }"#;

async fn mutate(app: &crate::helpers::TestApp, bearer: Option<&str>) -> Value {
    let mut r = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/json")
        .json(&json!({ "query": REQUEST }));
    if let Some(b) = bearer {
        r = r.header("authorization", format!("Bearer {b}"));
    }
    r.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn request_sync_needs_the_admin_token_and_syncs_the_days() {
    let up = FakeUpstream::start().await;
    up.set_day("2026-02-02", day_items("2026-02-02", 5, 3));
    up.set_day("2026-02-03", day_items("2026-02-03", 6, 2));
    let upstream = Arc::new(
        Upstream::new(UpstreamConfig {
            base_url: up.url(),
            concurrency: 2,
            ..Default::default()
        })
        .unwrap(),
    );
    let app = spawn_app_with(papergraph::app::HttpOptions {
        admin: Admin(Some(Arc::new(AdminContext::new(TOKEN, upstream)))),
        response_cache_bytes: 0,
        ..Default::default()
    })
    .await;
    let code = |v: &Value| v["errors"][0]["extensions"]["code"].clone();
    assert_eq!(code(&mutate(&app, None).await), "UNAUTHENTICATED");
    assert_eq!(
        code(&mutate(&app, Some("a-long-admin-token-for-test")).await),
        "FORBIDDEN"
    );
    let started = mutate(&app, Some(TOKEN)).await;
    assert_eq!(
        started["data"]["requestSync"],
        json!({ "kind": "requested", "status": "running", "daysTotal": 2 }),
        "{started}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = app
            .data(
                "{ syncStatus { lastRun { kind status papersAdded } } }",
                json!({}),
            )
            .await;
        if s["syncStatus"]["lastRun"]["kind"] == "requested" {
            assert_eq!(s["syncStatus"]["lastRun"]["status"], "ok", "{s}");
            assert_eq!(s["syncStatus"]["lastRun"]["papersAdded"], 5);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the requested sync never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let d = app.data("{ papers { totalCount } }", json!({})).await;
    assert_eq!(d["papers"]["totalCount"], 5);
    // Bad ranges are the caller's to fix.
    let r: Value = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .json(&json!({ "query": r#"mutation { requestSync(from: "2026-02-03", to: "2026-02-01") { status } }"# }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&r), "BAD_USER_INPUT");
}

#[tokio::test]
async fn without_an_admin_token_admin_mutations_are_off() {
    let app = spawn_app().await;
    let v = mutate(&app, Some(TOKEN)).await;
    assert_eq!(v["errors"][0]["extensions"]["code"], "ADMIN_DISABLED");
}
