//! Admin mutations: `requestSync` needs the admin token and syncs from the upstream.
use std::sync::Arc;
use std::time::{Duration, Instant};

use papergraph::graphql::admin::{Admin, AdminContext};
use papergraph::sync::leader::{Requests, SyncGate};
use papergraph::sync::upstream::{Upstream, UpstreamConfig};
use papergraph::sync::worker::Stop;
use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_app_with};
use crate::upstream::{FakeUpstream, day_items};

const TOKEN: &str = "a-long-admin-token-for-tests";
const REQUEST: &str =
    r#"mutation { requestSync(from: "2026-02-02", to: "2026-02-03") { kind status daysTotal } }"#;

/// An app whose admin mutations sync from `up`, sharing `gate` with the test.
async fn admin_app(up: &FakeUpstream, gate: Arc<SyncGate>) -> crate::helpers::TestApp {
    let upstream = Arc::new(
        Upstream::new(UpstreamConfig {
            base_url: up.url(),
            concurrency: 2,
            ..Default::default()
        })
        .unwrap(),
    );
    spawn_app_with(papergraph::app::HttpOptions {
        admin: Admin(Some(Arc::new(AdminContext::new(
            TOKEN,
            Requests::new(upstream, gate, Stop::never()),
        )))),
        response_cache_bytes: 0,
        ..Default::default()
    })
    .await
}

/// Waits until `syncStatus.lastRun` is a requested run, and returns it.
async fn requested_run(app: &crate::helpers::TestApp) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = app
            .data(
                "{ syncStatus { lastRun { kind status papersAdded } } }",
                json!({}),
            )
            .await;
        if s["syncStatus"]["lastRun"]["kind"] == "requested" {
            return s["syncStatus"]["lastRun"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the requested sync never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// POSTs `query` to the server at `base` with the admin token.
async fn as_admin(client: &reqwest::Client, base: &str, query: &str) -> Value {
    client
        .post(format!("{base}/graphql"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

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
    let app = admin_app(&up, Arc::default()).await;
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
    let run = requested_run(&app).await;
    assert_eq!(run["status"], "ok", "{run}");
    assert_eq!(run["papersAdded"], 5);
    let d = app.data("{ papers { totalCount } }", json!({})).await;
    assert_eq!(d["papers"]["totalCount"], 5);
    // Bad ranges are the caller's to fix.
    let r = as_admin(
        &app.client,
        &app.url(""),
        r#"mutation { requestSync(from: "2026-02-03", to: "2026-02-01") { status } }"#,
    )
    .await;
    assert_eq!(code(&r), "BAD_USER_INPUT");
}

#[tokio::test]
async fn without_an_admin_token_admin_mutations_are_off() {
    let app = spawn_app().await;
    let v = mutate(&app, Some(TOKEN)).await;
    assert_eq!(v["errors"][0]["extensions"]["code"], "ADMIN_DISABLED");
}

#[tokio::test]
async fn a_requested_sync_waits_for_the_running_pass_and_can_be_requested_again_after() {
    let up = FakeUpstream::start().await;
    up.set_day("2026-02-02", day_items("2026-02-02", 5, 3));
    up.set_day("2026-02-03", day_items("2026-02-03", 6, 2));
    let gate = Arc::new(SyncGate::default());
    let app = admin_app(&up, gate.clone()).await;
    // This server's scheduler is in a pass.
    let pass = gate.pass().await;
    let queued = mutate(&app, Some(TOKEN)).await;
    assert_eq!(
        queued["data"]["requestSync"]["status"], "queued",
        "{queued}"
    );
    let again = mutate(&app, Some(TOKEN)).await;
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "SYNC_IN_PROGRESS",
        "{again}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(up.requests(), 0, "nothing is fetched while the pass runs");
    drop(pass);
    let run = requested_run(&app).await;
    assert_eq!(run["status"], "ok", "{run}");
    assert_eq!(run["papersAdded"], 5);
    // The run ended, so the next request runs at once.
    gate.idle().await;
    let next = mutate(&app, Some(TOKEN)).await;
    assert_eq!(next["data"]["requestSync"]["status"], "running", "{next}");
    gate.idle().await;
}

#[tokio::test]
async fn a_requested_sync_is_refused_while_another_replica_holds_the_sync_lock() {
    let up = FakeUpstream::start().await;
    up.set_day("2026-02-02", day_items("2026-02-02", 5, 3));
    let app = admin_app(&up, Arc::default()).await;
    let Some(schema) = app.opts.database_schema.clone() else {
        eprintln!(
            "\n!!! SKIPPED a_requested_sync_is_refused_while_another_replica_holds_the_sync_lock: \
             replicas share a lock only on PostgreSQL; set TEST_DATABASE_URL\n"
        );
        return;
    };
    use sea_orm::sqlx::{Connection, PgConnection};
    let opts = app.db.get_postgres_connection_pool().connect_options();
    let mut leader = PgConnection::connect_with(&opts).await.unwrap();
    sea_orm::sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
        .bind(format!("papergraph-sync:{schema}"))
        .execute(&mut leader)
        .await
        .unwrap();
    let refused = mutate(&app, Some(TOKEN)).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "SYNC_BUSY",
        "{refused}"
    );
    assert!(refused["errors"][0]["extensions"]["retryAfter"].is_number());
    assert_eq!(up.requests(), 0);
    // The refusal left nothing running: once the other replica lets go, the request runs.
    leader.close().await.unwrap();
    let started = mutate(&app, Some(TOKEN)).await;
    assert_eq!(
        started["data"]["requestSync"]["status"], "running",
        "{started}"
    );
    assert_eq!(requested_run(&app).await["status"], "ok");
}

#[tokio::test]
async fn shutdown_waits_for_a_requested_sync_which_stops_between_days() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    for i in 1..=20 {
        let d = format!("2026-02-{i:02}");
        up.set_day(&d, day_items(&d, 10 + i, 2));
    }
    *up.state.delay.lock().unwrap() = Duration::from_millis(600);
    let mut server = crate::replicas::Server::start_with_env(
        &app.opts,
        &["--sync", "false", "--upstream-url", &up.url()],
        &[("PAPERGRAPH_ADMIN_TOKEN", TOKEN)],
    )
    .await;
    let r = as_admin(
        &app.client,
        &server.base,
        r#"mutation { requestSync(from: "2026-02-01", to: "2026-02-20") { status } }"#,
    )
    .await;
    assert_eq!(r["data"]["requestSync"]["status"], "running", "{r}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.signal("TERM");
    let status = server.wait(Duration::from_secs(15)).await;
    assert!(status.success(), "{status:?}");
    let runs = <papergraph::entities::sync_run::Entity as sea_orm::EntityTrait>::find()
        .all(&app.db)
        .await
        .unwrap();
    let requested: Vec<_> = runs
        .iter()
        .filter(|r| r.kind == papergraph::entities::sync_run::Kind::Requested)
        .collect();
    assert_eq!(
        requested.len(),
        1,
        "the requested run was recorded before the process exited: {runs:?}"
    );
    assert!(
        requested[0].days_total < 20,
        "it stopped between days: {:?}",
        requested[0]
    );
}
