//! A paper's neighbourhood on the Hub: the detail pass against the fake upstream, through the
//! CLI (`sync --details`, killed with SIGKILL too) and the library, read back through GraphQL.
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use papergraph::repo::details::Refresh;
use papergraph::sync::details::{DetailPass, DetailReport};
use papergraph::sync::upstream::Upstream;
use papergraph::sync::worker::Stop;
use serde_json::{Value, json};

use crate::helpers::{TestApp, fixture, spawn_app};
use crate::sync::{config, run};
use crate::upstream::{FakeUpstream, Fault, day_items};

fn sample(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(rel)).unwrap()).unwrap()
}

/// `papergraph sync --date … --details` as a process; its exit status.
async fn cli_sync_details(app: &TestApp, up: &FakeUpstream, date: &str) -> std::process::Child {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_papergraph"));
    c.args(["--database-url", &app.opts.database_url]);
    if let Some(schema) = &app.opts.database_schema {
        c.args(["--database-schema", schema]);
    }
    c.args([
        "sync",
        "--date",
        date,
        "--details",
        "--upstream-url",
        &up.url(),
    ])
    .args(["--sync-concurrency", "2", "--upstream-retries", "0"])
    .env("PAPERGRAPH_LOG", "error")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    c.spawn().unwrap()
}

/// One detail pass of the papers listed on `days`, through the library.
async fn detail_pass(app: &TestApp, up: &FakeUpstream, days: &[&str]) -> DetailReport {
    detail_pass_every(app, up, days, 7).await
}

/// [`detail_pass`] with papers due again after `refresh_days`.
async fn detail_pass_every(
    app: &TestApp,
    up: &FakeUpstream,
    days: &[&str],
    refresh_days: u32,
) -> DetailReport {
    let upstream = Arc::new(Upstream::new(config(up)).unwrap());
    let pass = DetailPass {
        refresh: Refresh::days(refresh_days),
        days: Some(days.iter().map(|d| d.parse().unwrap()).collect()),
        keep: 0,
        until: None,
    };
    papergraph::sync::details::run(
        &app.db,
        &upstream,
        &pass,
        &Stop::never(),
        &|| false,
        &ProgressBar::hidden(),
    )
    .await
    .unwrap()
}

/// `syncStatus.detailQueue` with `fields`.
async fn queue(app: &TestApp, fields: &str) -> Value {
    let q = format!("{{ syncStatus {{ detailQueue {{ {fields} }} }} }}");
    app.data(&q, json!({})).await["syncStatus"]["detailQueue"].clone()
}

/// A day whose first items are the papers `ids`.
fn day_with(date: &str, seed: u32, ids: &[&str], n: usize) -> Vec<Value> {
    let mut items = day_items(date, seed, n);
    for (item, id) in items.iter_mut().zip(ids) {
        item["paper"]["id"] = json!(id);
    }
    items
}

/// Serves `detail` (a `?field=comments` sample) for `id`: the bare object, and its comments
/// when asked for them.
fn serve_detail(up: &FakeUpstream, id: &str, detail: &Value) {
    let mut bare = detail.clone();
    let comments = bare.as_object_mut().unwrap().remove("comments");
    up.state.details.lock().unwrap().insert(id.into(), bare);
    if let Some(c) = comments {
        up.state.comments.lock().unwrap().insert(id.into(), c);
    }
}

const NEIGHBOURHOOD: &str = r#"query($id: String!) { paper(arxivId: $id) {
    title numLinkedModels numLinkedDatasets numLinkedSpaces detailsSyncedAt
    linkedModels(first: 100) { id author likes downloads pipelineTag gated lastModified url }
    linkedDatasets(first: 100) { id likes url }
    linkedSpaces(first: 100) { id owner emoji running url }
    comments(first: 100) { totalCount edges { node { ...c replies { ...c } } } }
  } }
  fragment c on Comment { id deleted body hidden hiddenReason author { username } reactions { emoji count } }"#;

/// The linked repos of a kind as the upstream serves them in full: most liked first.
fn served_ids(full: &Value, key: &str) -> Vec<String> {
    let mut items: Vec<&Value> = full[key].as_array().unwrap().iter().collect();
    items.sort_by_key(|r| std::cmp::Reverse(r["likes"].as_i64().unwrap_or(-1)));
    items
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// A comment as the API should answer it, from the upstream's nested event.
fn expected_comment(c: &Value) -> Value {
    let hidden = c["data"]["hidden"].as_bool().unwrap();
    let reactions: Vec<Value> = c["data"]["reactions"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| json!({ "emoji": r["reaction"], "count": r["count"] }))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "id": c["id"],
        "deleted": c.get("author").is_none(),
        "body": if hidden { Value::Null } else { c["data"]["latest"]["raw"].clone() },
        "hidden": hidden,
        "hiddenReason": c["data"].get("hiddenReason").cloned().unwrap_or(Value::Null),
        "author": c.get("author").map(|a| json!({ "username": a["name"] })).unwrap_or(Value::Null),
        "reactions": reactions,
    })
}

/// The thread the API should answer for a nested `?field=comments` sample.
fn expected_thread(nested: &Value) -> Vec<Value> {
    nested["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut top = expected_comment(c);
            top["replies"] = c["replies"]
                .as_array()
                .unwrap()
                .iter()
                .map(expected_comment)
                .collect();
            top
        })
        .collect()
}

fn thread_of(paper: &Value) -> Vec<Value> {
    paper["comments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn sync_details_stores_each_papers_linked_repos_and_comments_as_served() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let date = "2026-04-02";
    let ids = ["2411.09702", "2601.25962", "2104.10219", "2601.40003"];
    up.set_day(date, day_with(date, 40, &ids, 6));
    let many = sample("api/papers_2411.09702_field-comments.json");
    let full = sample("api/arxiv_2411.09702_repos.json");
    serve_detail(&up, "2411.09702", &many);
    up.state
        .repos
        .lock()
        .unwrap()
        .insert("2411.09702".into(), full.clone());
    let small = sample("api/papers_2601.25962_field-comments.json");
    serve_detail(&up, "2601.25962", &small);
    serve_detail(&up, "2104.10219", &sample("api/papers_2104.10219.json"));
    // 2601.40003 and the two generated papers are not indexed: 404.

    let mut child = cli_sync_details(&app, &up, date).await;
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "sync --details failed: {status}");

    // The daily list went first, then one detail request per paper, and the full repo list
    // only for the paper whose totals exceed its capped lists.
    let log = up.state.log.lock().unwrap().clone();
    assert!(log[0].starts_with("/api/daily_papers"), "{log:?}");
    let last_list = log
        .iter()
        .rposition(|l| l.starts_with("/api/daily_papers"))
        .unwrap();
    let first_detail = log
        .iter()
        .position(|l| l.starts_with("/api/papers/"))
        .unwrap();
    assert!(last_list < first_detail, "{log:?}");
    assert_eq!(up.logged("/api/papers/"), 6, "{log:?}");
    assert!(
        log.iter()
            .filter(|l| l.starts_with("/api/papers/"))
            .all(|l| l.ends_with("?field=comments"))
    );
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("/api/arxiv/"))
            .collect::<Vec<_>>(),
        ["/api/arxiv/2411.09702/repos"]
    );

    // Totals exceed the cap: the full lists, most liked first, with the upstream's totals.
    let p = app.data(NEIGHBOURHOOD, json!({ "id": "2411.09702" })).await["paper"].clone();
    assert_eq!(
        (
            &p["numLinkedModels"],
            &p["numLinkedDatasets"],
            &p["numLinkedSpaces"]
        ),
        (&json!(37), &json!(3), &json!(14))
    );
    let got = |k: &str| -> Vec<String> {
        p[k].as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(got("linkedModels"), served_ids(&full, "models"));
    assert_eq!(got("linkedDatasets"), served_ids(&full, "datasets"));
    assert_eq!(got("linkedSpaces"), served_ids(&full, "spaces"));
    let first_model = &many["linkedModels"][0];
    assert_eq!(p["linkedModels"][0]["gated"], first_model["gated"]);
    assert_eq!(
        p["linkedModels"][0]["pipelineTag"],
        first_model["pipeline_tag"]
    );
    assert_eq!(
        p["linkedModels"][0]["url"],
        json!(format!(
            "https://huggingface.co/{}",
            first_model["id"].as_str().unwrap()
        ))
    );
    let first_space = &many["linkedSpaces"][0];
    let space = p["linkedSpaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == first_space["id"])
        .unwrap();
    assert_eq!(space["emoji"], first_space["emoji"]);
    assert_eq!(space["running"], first_space["running"]);
    assert!(p["detailsSyncedAt"].is_string());
    assert_eq!(
        p["title"],
        json!("Paper 2601.40000 on 2026-04-02"),
        "the list's fields are the list's"
    );
    // The comment thread, text exactly as written (entities and markup are data).
    assert_eq!(thread_of(&p), expected_thread(&many));
    assert_eq!(p["comments"]["totalCount"], 2);
    assert!(
        thread_of(&p)[0]["body"]
            .as_str()
            .unwrap()
            .contains("A&amp;B <b>literal</b>")
    );

    // Comments page with cursors, oldest first.
    const PAGE: &str = r#"query($after: String) { paper(arxivId: "2411.09702") {
        comments(first: 1, after: $after) { totalCount nodes { id }
          pageInfo { hasNextPage hasPreviousPage endCursor } } } }"#;
    let one = app.data(PAGE, json!({ "after": null })).await["paper"]["comments"].clone();
    assert_eq!(one["nodes"], json!([{ "id": many["comments"][0]["id"] }]));
    assert_eq!(one["pageInfo"]["hasNextPage"], true);
    let two = app
        .data(PAGE, json!({ "after": one["pageInfo"]["endCursor"] }))
        .await["paper"]["comments"]
        .clone();
    assert_eq!(two["nodes"], json!([{ "id": many["comments"][1]["id"] }]));
    assert_eq!(
        (
            &two["pageInfo"]["hasNextPage"],
            &two["pageInfo"]["hasPreviousPage"]
        ),
        (&json!(false), &json!(true))
    );
    let code = app
        .error_code(PAGE, json!({ "after": "not-a-cursor" }))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");

    let p = app.data(NEIGHBOURHOOD, json!({ "id": "2601.25962" })).await["paper"].clone();
    assert_eq!(thread_of(&p), expected_thread(&small));
    assert_eq!(p["numLinkedModels"], small["numTotalModels"]);
    let want: Vec<&Value> = small["linkedModels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    let have: Vec<&Value> = p["linkedModels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(have, want);

    let p = app.data(NEIGHBOURHOOD, json!({ "id": "2104.10219" })).await["paper"].clone();
    assert_eq!(p["numLinkedModels"], 0);
    assert_eq!(p["linkedModels"], json!([]));
    assert!(p["detailsSyncedAt"].is_string());

    // A 404 is recorded, not an error: no details, nothing erased.
    let p = app.data(NEIGHBOURHOOD, json!({ "id": "2601.40003" })).await["paper"].clone();
    assert_eq!(p["detailsSyncedAt"], Value::Null);
    assert_eq!(p["numLinkedModels"], Value::Null);
    assert_eq!(p["comments"]["totalCount"], 0);

    assert_eq!(
        queue(
            &app,
            "pending doneLast24h notIndexed failing next { arxivId }"
        )
        .await,
        json!({ "pending": 0, "doneLast24h": 6, "notIndexed": 3, "failing": 0, "next": null })
    );

    // The filters and the order over what was stored.
    let beyond_cap = served_ids(&full, "models").last().unwrap().clone();
    let d = app
        .data(
            r#"query($r: String!) {
                cited: papers(filter: { linkedRepo: $r }) { nodes { arxivId } }
                withModels: papers(filter: { hasLinkedModels: true }) { nodes { arxivId } }
                withoutSpaces: papers(filter: { hasLinkedSpaces: false }) { totalCount }
                most: papers(orderBy: { field: LINKED_MODELS }, first: 2) { nodes { arxivId numLinkedModels } }
            }"#,
            json!({ "r": beyond_cap }),
        )
        .await;
    assert_eq!(d["cited"]["nodes"], json!([{ "arxivId": "2411.09702" }]));
    let mut with_models: Vec<&str> = d["withModels"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["arxivId"].as_str().unwrap())
        .collect();
    with_models.sort();
    assert_eq!(with_models, ["2411.09702", "2601.25962"]);
    assert_eq!(d["withoutSpaces"]["totalCount"], 4);
    assert_eq!(
        d["most"]["nodes"],
        json!([
            { "arxivId": "2411.09702", "numLinkedModels": 37 },
            { "arxivId": "2601.25962", "numLinkedModels": 1 }
        ])
    );
    let feed = app
        .client
        .get(app.url(&format!("/feeds/papers.atom?linkedRepo={beyond_cap}")))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    let body = feed.text().await.unwrap();
    assert!(body.contains("2411.09702") && !body.contains("2601.25962"));
    let code = app
        .error_code(
            r#"{ papers(filter: { linkedRepo: "no-slash" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    let code = app
        .error_code(
            r#"{ paper(arxivId: "2411.09702") { linkedModels(first: 101) { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn bad_details_keep_the_paper_drop_only_what_does_not_parse_and_are_retried() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let date = "2026-04-03";
    let ids = [
        "2601.41001", // linked lists malformed
        "2601.41002", // comments flat
        "2601.41003", // comments malformed
        "2601.41004", // fails after a first success
        "2601.41005", // truncated JSON
    ];
    let items = day_with(date, 41, &ids, 5);
    up.set_day(date, items.clone());
    let many = sample("api/papers_2411.09702_field-comments.json");
    serve_detail(&up, ids[0], &sample("bad/papers_linked-malformed.json"));
    serve_detail(
        &up,
        ids[1],
        &sample("bad/papers_2411.09702_field-comments_flat.json"),
    );
    serve_detail(
        &up,
        ids[2],
        &sample("bad/papers_field-comments_malformed.json"),
    );
    serve_detail(&up, ids[3], &many);
    up.state
        .detail_faults
        .lock()
        .unwrap()
        .insert(ids[4].into(), Fault::Truncated);
    let (report, _) = run(&app, config(&up), &[date]).await;
    assert_eq!(report.days_ok, 1);
    let r = detail_pass(&app, &up, &[date]).await;
    assert_eq!((r.fetched, r.not_indexed, r.failed), (4, 0, 1), "{r:?}");

    // Malformed lists: the models (an object) and datasets (null) are dropped, the one good
    // Space kept; the totals that are not numbers are not taken, the one below the list length
    // is raised to it.
    let p = app.data(NEIGHBOURHOOD, json!({ "id": ids[0] })).await["paper"].clone();
    assert_eq!(p["linkedModels"], json!([]));
    assert_eq!(p["numLinkedModels"], Value::Null);
    assert_eq!(
        p["linkedSpaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].clone())
            .collect::<Vec<_>>(),
        [json!("orbital-research/golden-compare")]
    );
    assert_eq!(p["numLinkedSpaces"], 1);
    assert_eq!(p["title"], items[0]["paper"]["title"], "the paper is kept");

    // Flat comments thread exactly as the nested ones.
    let p = app.data(NEIGHBOURHOOD, json!({ "id": ids[1] })).await["paper"].clone();
    assert_eq!(thread_of(&p), expected_thread(&many));

    // Malformed comments: the status change and the reply without a time are skipped; the
    // hidden comment without text and the orphan reply of a deleted user are kept, the orphan at
    // the top level.
    let p = app.data(NEIGHBOURHOOD, json!({ "id": ids[2] })).await["paper"].clone();
    let thread = thread_of(&p);
    let shape: Vec<(Value, usize, Value, Value)> = thread
        .iter()
        .map(|c| {
            (
                c["id"].clone(),
                c["replies"].as_array().unwrap().len(),
                c["deleted"].clone(),
                c["body"].is_null().into(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (
                json!("69cee32e72015415fefc3f78"),
                0,
                json!(false),
                json!(false)
            ),
            (
                json!("69d039220b2ef0ef804a45cd"),
                0,
                json!(true),
                json!(false)
            ),
            (
                json!("69d03dd2c531823b36fef1e8"),
                0,
                json!(false),
                json!(true)
            ),
        ]
    );

    // A truncated answer: recorded as failing, nothing stored, the paper as listed.
    let p = app.data(NEIGHBOURHOOD, json!({ "id": ids[4] })).await["paper"].clone();
    assert_eq!(p["detailsSyncedAt"], Value::Null);
    assert_eq!(p["title"], items[4]["paper"]["title"]);

    // A stored paper whose comments moved is due again ("moved"), ahead of the backlog; when
    // its detail then fails, what was stored stays as it was.
    let before = app.data(NEIGHBOURHOOD, json!({ "id": ids[3] })).await["paper"].clone();
    assert_eq!(before["numLinkedModels"], 37);
    let mut moved = items.clone();
    moved[3]["numComments"] = json!(9);
    up.set_day(date, moved);
    run(&app, config(&up), &[date]).await;
    assert_eq!(
        queue(&app, "pending failing next { arxivId reason }").await,
        json!({ "pending": 1, "failing": 1, "next": { "arxivId": ids[3], "reason": "moved" } }),
        "the truncated one waits for its retry time"
    );
    up.state
        .detail_faults
        .lock()
        .unwrap()
        .insert(ids[3].into(), Fault::Status(500));
    let r = detail_pass(&app, &up, &[date]).await;
    assert_eq!((r.fetched, r.failed), (0, 1), "{r:?}");
    let after = app.data(NEIGHBOURHOOD, json!({ "id": ids[3] })).await["paper"].clone();
    assert_eq!(after, before, "a failed detail changes nothing stored");
    assert_eq!(
        queue(&app, "pending failing").await,
        json!({ "pending": 0, "failing": 2 })
    );
}

#[tokio::test]
async fn the_detail_pass_leaves_the_daily_lists_their_share_of_the_budget() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let today = chrono::Utc::now().date_naive().to_string();
    up.set_day(&today, day_items(&today, 42, 30));
    *up.state.default_detail.lock().unwrap() = Some(sample("api/papers_2104.10219.json"));
    let mut cfg = config(&up);
    cfg.budget = 12;
    cfg.window = Duration::from_secs(300);
    let upstream = Arc::new(Upstream::new(cfg).unwrap());
    let schedule = papergraph::sync::scheduler::Schedule {
        interval: Duration::from_millis(300),
        backfill_days: 1,
        refresh_days: 2,
        details: Some(Refresh::days(7)),
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(papergraph::sync::scheduler::run(
        app.db.clone(),
        upstream,
        schedule,
        Arc::default(),
        Stop::on(rx),
    ));
    // Passes every 300 ms: the first backfills today (1 request) and works the queue down to
    // the 6 requests kept for the lists; the next three passes spend those (2 days each).
    let deadline = Instant::now() + Duration::from_secs(20);
    while up.logged("/api/daily_papers") < 7 {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            up.state.log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let _ = tx.send(true);
    worker.abort();
    let log = up.state.log.lock().unwrap().clone();
    assert!(log.len() <= 12, "the budget was exceeded: {log:?}");
    assert!(log[0].starts_with("/api/daily_papers"), "{log:?}");
    assert_eq!(up.logged("/api/papers/"), 5, "{log:?}");
    assert_eq!(up.logged("/api/daily_papers"), 7, "{log:?}");
    assert_eq!(
        queue(&app, "pending doneLast24h next { reason }").await,
        json!({ "pending": 25, "doneLast24h": 5, "next": { "reason": "new" } })
    );
}

#[tokio::test]
async fn a_detail_pass_killed_with_sigkill_resumes_with_nothing_lost() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let date = "2026-04-04";
    up.set_day(date, day_items(date, 43, 120));
    let detail = sample("api/papers_2601.25962_field-comments.json");
    let comments = detail["comments"].clone();
    *up.state.default_detail.lock().unwrap() = Some(detail.clone());
    *up.state.delay.lock().unwrap() = Duration::from_millis(15);
    let mut child = cli_sync_details(&app, &up, date).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while up.logged("/api/papers/") < 40 {
        assert!(Instant::now() < deadline, "the detail pass never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before_restart = up.logged("/api/papers/");
    assert!(before_restart < 120, "killed mid-pass ({before_restart})");
    *up.state.delay.lock().unwrap() = Duration::ZERO;
    let mut child = cli_sync_details(&app, &up, date).await;
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
    let total = up.logged("/api/papers/");
    assert!(
        total < 120 + 64,
        "the restart fetched only what was not stored ({total} detail requests)"
    );
    // Every paper's details, once each, and the thread of each as served.
    assert_eq!(
        queue(&app, "pending failing").await,
        json!({ "pending": 0, "failing": 0 })
    );
    let d = app
        .data(
            r#"{ papers(filter: { dailyDate: "2026-04-04" }, first: 100) {
                totalCount nodes { detailsSyncedAt numLinkedModels comments { totalCount edges { node { id replies { id } } } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["papers"]["totalCount"], 120);
    for p in d["papers"]["nodes"].as_array().unwrap() {
        assert!(p["detailsSyncedAt"].is_string(), "{p}");
        assert_eq!(p["numLinkedModels"], detail["numTotalModels"]);
        let thread = thread_of(p);
        assert_eq!(thread.len(), comments.as_array().unwrap().len(), "{p}");
        assert_eq!(thread[0]["id"], comments[0]["id"]);
        assert_eq!(
            thread[0]["replies"].as_array().unwrap().len(),
            comments[0]["replies"].as_array().unwrap().len()
        );
    }
    let rows: i64 = {
        use sea_orm::{EntityTrait, PaginatorTrait};
        papergraph::entities::paper_comment::Entity::find()
            .count(&app.db)
            .await
            .unwrap() as i64
    };
    let per_paper = comments
        .as_array()
        .unwrap()
        .iter()
        .map(|c| 1 + c["replies"].as_array().unwrap().len() as i64)
        .sum::<i64>();
    assert_eq!(rows, 120 * per_paper, "no comment lost or doubled");
}

#[tokio::test]
async fn a_changed_neighbourhood_moves_updated_at_and_an_unchanged_refresh_moves_nothing() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let date = "2026-04-05";
    up.set_day(date, day_with(date, 44, &["2601.25962"], 1));
    let mut detail = sample("api/papers_2601.25962_field-comments.json");
    serve_detail(&up, "2601.25962", &detail);
    run(&app, config(&up), &[date]).await;
    const Q: &str = r#"{ paper(arxivId: "2601.25962") { updatedAt detailsSyncedAt comments { nodes { body } } } }"#;
    let listed = app.data(Q, json!({})).await["paper"].clone();
    assert_eq!(detail_pass(&app, &up, &[date]).await.fetched, 1);
    let first = app.data(Q, json!({})).await["paper"].clone();
    assert!(first["updatedAt"].as_str() > listed["updatedAt"].as_str());

    // Due again at once (refresh 0 days), the same answer: nothing moves but the fetch time.
    assert_eq!(detail_pass_every(&app, &up, &[date], 0).await.fetched, 1);
    let again = app.data(Q, json!({})).await["paper"].clone();
    assert_eq!(again["updatedAt"], first["updatedAt"]);
    assert_eq!(again["comments"], first["comments"]);
    assert!(again["detailsSyncedAt"].as_str() > first["detailsSyncedAt"].as_str());

    // An edited comment: the new text, and a later updatedAt.
    detail["comments"][0]["data"]["latest"]["raw"] = json!("edited <i>text</i> & more");
    serve_detail(&up, "2601.25962", &detail);
    assert_eq!(detail_pass_every(&app, &up, &[date], 0).await.fetched, 1);
    let edited = app.data(Q, json!({})).await["paper"].clone();
    assert_eq!(
        edited["comments"]["nodes"][0]["body"],
        "edited <i>text</i> & more"
    );
    assert!(edited["updatedAt"].as_str() > first["updatedAt"].as_str());
}
