//! The sync worker against the fake upstream: the mirror equals what was served, faults are
//! retried politely, failed days leave stored data alone and are recorded for a retry.
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use indicatif::ProgressBar;
use papergraph::config::Source;
use papergraph::sync::upstream::{Upstream, UpstreamConfig};
use papergraph::sync::worker::{SyncReport, sync_days};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, day, spawn_app};
use crate::upstream::{FakeUpstream, Fault, day_items};

pub fn config(up: &FakeUpstream) -> UpstreamConfig {
    UpstreamConfig {
        base_url: up.url(),
        concurrency: 2,
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_millis(500),
        ..Default::default()
    }
}

pub async fn run(
    app: &TestApp,
    cfg: UpstreamConfig,
    dates: &[&str],
) -> (SyncReport, Arc<Upstream>) {
    let upstream = Arc::new(Upstream::new(cfg).unwrap());
    let dates: Vec<NaiveDate> = dates.iter().map(|d| day(d)).collect();
    let report = sync_days(
        &app.db,
        upstream.clone(),
        dates,
        papergraph::entities::sync_run::Kind::Sync,
        &ProgressBar::hidden(),
    )
    .await
    .unwrap();
    (report, upstream)
}

const DATES: [&str; 6] = [
    "2026-02-02",
    "2026-02-03",
    "2026-02-04",
    "2026-02-05",
    "2026-02-06",
    "2026-02-07",
];

#[tokio::test]
async fn the_mirror_equals_what_the_upstream_served_and_a_second_pass_writes_nothing() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let mut served = Vec::new();
    for (i, d) in DATES.iter().enumerate() {
        // One day longer than a page (100), one empty day (a weekend).
        let n = match i {
            1 => 130,
            4 => 0,
            _ => 8 + i,
        };
        let items = day_items(d, i as u32 + 10, n);
        served.extend(items.iter().map(|it| (d.to_string(), it.clone())));
        up.set_day(d, items);
    }
    let (report, _) = run(&app, config(&up), &DATES).await;
    assert_eq!(report.days_failed, 0, "{report:?}");
    assert_eq!(report.days_ok, 6);
    assert_eq!(report.papers_added, served.len());
    assert_eq!(
        up.requests(),
        7,
        "one request a day, two for the 130-paper day"
    );

    let q = r#"query($id: String!) { paper(arxivId: $id) { title abstract upvotes numComments dailyDate
        submittedAt publishedAt githubRepo githubStars aiKeywords aiSummary projectPage thumbnailUrl
        authors { name position hidden claimStatus hfUser { username } }
        submittedBy { username } organization { name } } }"#;
    for (date, item) in &served {
        let p = &item["paper"];
        let d = app.data(q, json!({ "id": p["id"] })).await;
        let got = &d["paper"];
        assert_eq!(got["title"], p["title"]);
        assert_eq!(got["upvotes"], p["upvotes"]);
        assert_eq!(got["numComments"], item["numComments"]);
        assert_eq!(got["dailyDate"], json!(date));
        assert_eq!(got["submittedAt"], p["submittedOnDailyAt"]);
        assert_eq!(got["publishedAt"], p["publishedAt"]);
        assert_eq!(got["githubStars"], p["githubStars"].clone());
        assert_eq!(got["aiKeywords"], p["ai_keywords"]);
        assert_eq!(got["aiSummary"], p["ai_summary"]);
        assert_eq!(
            got["githubRepo"],
            p.get("githubRepo").cloned().unwrap_or(Value::Null)
        );
        assert_eq!(
            got["projectPage"],
            p.get("projectPage").cloned().unwrap_or(Value::Null)
        );
        assert_eq!(
            got["thumbnailUrl"],
            item.get("thumbnail").cloned().unwrap_or(Value::Null)
        );
        assert_eq!(got["organization"]["name"], item["organization"]["name"]);
        let slots = got["authors"].as_array().unwrap();
        for (k, a) in p["authors"].as_array().unwrap().iter().enumerate() {
            assert_eq!(slots[k]["position"], json!(k));
            assert_eq!(slots[k]["hidden"], a["hidden"]);
            assert_eq!(
                slots[k]["claimStatus"],
                a.get("status").cloned().unwrap_or(Value::Null)
            );
            assert_eq!(slots[k]["hfUser"]["username"], a["user"]["user"]);
        }
        let want_abstract = p["summary"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(got["abstract"], json!(want_abstract));
        let names: Vec<Value> = p["authors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].clone())
            .collect();
        let got_names: Vec<Value> = got["authors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].clone())
            .collect();
        assert_eq!(got_names, names, "author order");
        assert_eq!(got["submittedBy"]["username"], item["submittedBy"]["name"]);
    }
    let cal = app
        .data(
            r#"{ dailyCalendar(from: "2026-02-01", to: "2026-02-28") { date count } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        cal["dailyCalendar"].as_array().unwrap().len(),
        5,
        "the empty day has no papers"
    );
    assert_eq!(
        cal["dailyCalendar"][1],
        json!({ "date": "2026-02-03", "count": 130 })
    );

    let before = app.stats.statements();
    let (again, _) = run(&app, config(&up), &DATES).await;
    assert_eq!(
        (again.days_unchanged, again.days_ok, again.papers_added),
        (6, 0, 0),
        "{again:?}"
    );
    // The API answered the bytes stored last time: no statement per day, only the read of the
    // stored body hashes (plus the run's own record).
    assert!(
        app.stats.statements() - before <= 3,
        "{}",
        app.stats.statements() - before
    );
    let hashes: Vec<Option<String>> = papergraph::entities::daily_list::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.body_hash)
        .collect();
    assert_eq!(hashes.len(), 6);
    assert!(
        hashes
            .iter()
            .all(|h| h.as_ref().is_some_and(|h| h.len() == 64)),
        "{hashes:?}"
    );

    // Different bytes are read again: one paper of the long day gains upvotes.
    let mut changed = day_items(DATES[1], 11, 130);
    changed[120]["paper"]["upvotes"] = json!(4321);
    let id = changed[120]["paper"]["id"].as_str().unwrap().to_string();
    up.set_day(DATES[1], changed);
    let (third, _) = run(&app, config(&up), &DATES).await;
    assert_eq!((third.days_unchanged, third.days_ok), (5, 1), "{third:?}");
    let got = app
        .data(
            r#"query($id: String!) { paper(arxivId: $id) { upvotes } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(got["paper"]["upvotes"], 4321);
}

#[tokio::test]
async fn faults_are_retried_within_the_concurrency_bound() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    for (i, d) in DATES.iter().enumerate() {
        up.set_day(d, day_items(d, i as u32 + 20, 5));
    }
    *up.state.delay.lock().unwrap() = Duration::from_millis(40);
    up.state.next_faults.lock().unwrap().extend([
        Fault::Status(500),
        Fault::Status(503),
        Fault::RateLimited { t: 0 },
        Fault::Hang(Duration::from_secs(3)),
        Fault::Status(502),
    ]);
    let started = Instant::now();
    let (report, upstream) = run(&app, config(&up), &DATES).await;
    assert_eq!(report.days_failed, 0, "{report:?}");
    assert_eq!(report.papers_added, 30);
    assert_eq!(upstream.stats.retries.load(Ordering::Relaxed), 5);
    assert!(upstream.stats.rate_limit_waits.load(Ordering::Relaxed) >= 1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the 429's t=0 asks for a 1 s wait"
    );
    assert!(
        up.state.peak.load(Ordering::SeqCst) <= 2,
        "never more than the configured 2 in flight"
    );
    assert_eq!(up.requests(), 6 + 5);
}

#[tokio::test]
async fn a_failing_day_leaves_stored_data_alone_and_is_retried_later() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    up.set_day("2026-03-02", day_items("2026-03-02", 30, 6));
    up.set_day("2026-03-03", day_items("2026-03-03", 31, 4));
    // The API alone: the HTML fallback has its own test.
    let config = |up: &FakeUpstream| UpstreamConfig {
        source: Source::Api,
        ..config(up)
    };
    run(&app, config(&up), &["2026-03-02", "2026-03-03"]).await;
    let snapshot = r#"{ papers(first: 100, orderBy: {field: UPVOTES}) { totalCount nodes { arxivId upvotes title authors { name } } } }"#;
    let before = app.data(snapshot, json!({})).await;

    // A newer copy exists upstream, but every way of serving it fails.
    let mut newer = day_items("2026-03-02", 30, 6);
    newer[0]["paper"]["upvotes"] = json!(5000);
    up.set_day("2026-03-02", newer);
    for fault in [
        Fault::Truncated,
        Fault::NotAList,
        Fault::Status(400),
        Fault::Status(500),
    ] {
        up.state
            .day_faults
            .lock()
            .unwrap()
            .insert("2026-03-02".into(), fault.clone());
        let requests = up.requests();
        let (report, _) = run(&app, config(&up), &["2026-03-02"]).await;
        assert_eq!(report.days_failed, 1, "{fault:?}: {report:?}");
        let retried = up.requests() - requests;
        match fault {
            Fault::Status(500) => assert_eq!(retried, 5, "500 is retried 4 times"),
            _ => assert_eq!(retried, 1, "{fault:?} is not retried"),
        }
        assert_eq!(
            app.data(snapshot, json!({})).await,
            before,
            "{fault:?} changed stored data"
        );
    }
    let status = app
        .data(
            "{ syncStatus { failedDays { date status attempts error } lastError } }",
            json!({}),
        )
        .await;
    let failed = &status["syncStatus"]["failedDays"];
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert_eq!(failed[0]["date"], "2026-03-02");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("500"),
        "{failed}"
    );
    assert!(
        status["syncStatus"]["lastError"]
            .as_str()
            .unwrap()
            .contains("2026-03-02")
    );

    up.state.day_faults.lock().unwrap().clear();
    let (report, _) = run(&app, config(&up), &["2026-03-02"]).await;
    assert_eq!(
        (report.days_ok, report.papers_updated),
        (1, 1),
        "{report:?}"
    );
    let status = app
        .data("{ syncStatus { failedDays { date } } }", json!({}))
        .await;
    assert_eq!(status["syncStatus"]["failedDays"], json!([]));
}

#[tokio::test]
async fn the_request_budget_is_never_exceeded() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    for (i, d) in DATES.iter().enumerate() {
        up.set_day(d, day_items(d, i as u32 + 40, 3));
    }
    let cfg = UpstreamConfig {
        budget: 4,
        window: Duration::from_millis(700),
        ..config(&up)
    };
    let started = Instant::now();
    let (report, upstream) = run(&app, cfg, &DATES).await;
    assert_eq!(report.days_ok, 6);
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "6 requests with 4 per window need a second window"
    );
    assert!(upstream.stats.rate_limit_waits.load(Ordering::Relaxed) >= 1);
}

#[test]
fn cli_sync_says_so_when_the_upstream_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_papergraph"))
        .args([
            "--database-url",
            &url,
            "sync",
            "--date",
            "2026-01-30",
            "--upstream-url",
            "http://127.0.0.1:9",
            "--upstream-retries",
            "0",
        ])
        .env("PAPERGRAPH_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unreachable") && err.contains("PAPERGRAPH_UPSTREAM_URL"),
        "{err}"
    );
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The sync scheduler over `up`, a pass every 300 ms, with `backfill_days` and a two-day refresh
/// window; send `true` to stop it.
fn start_schedule(
    app: &TestApp,
    up: &FakeUpstream,
    backfill_days: u32,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    use papergraph::sync::scheduler::{Schedule, run};
    use papergraph::sync::worker::Stop;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let schedule = Schedule {
        interval: Duration::from_millis(300),
        backfill_days,
        refresh_days: 2,
        details: None,
    };
    let upstream = Arc::new(Upstream::new(config(up)).unwrap());
    let worker = tokio::spawn(run(
        app.db.clone(),
        upstream,
        schedule,
        Arc::default(),
        Stop::on(rx),
    ));
    (tx, worker)
}

/// Stops a scheduler at its next safe point.
async fn stop_schedule(tx: tokio::sync::watch::Sender<bool>, worker: tokio::task::JoinHandle<()>) {
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(3), worker)
        .await
        .expect("the worker stops at the next safe point")
        .unwrap();
}

#[tokio::test]
async fn the_scheduler_backfills_while_serving_then_refreshes_and_stops_between_days() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let today = chrono::Utc::now().date_naive();
    let days: Vec<String> = (0..5)
        .map(|b| (today - chrono::Duration::days(b)).to_string())
        .collect();
    for (i, d) in days.iter().enumerate() {
        up.set_day(d, day_items(d, 60 + i as u32, 4));
    }
    *up.state.delay.lock().unwrap() = Duration::from_millis(30);
    let (tx, worker) = start_schedule(&app, &up, 5);

    // The API answers while the backfill runs.
    let first = app.data("{ syncStatus { paperCount } }", json!({})).await;
    assert!(first["syncStatus"]["paperCount"].as_i64().unwrap() < 20);
    eventually("the backfill", async || {
        let d = app
            .data("{ syncStatus { paperCount lastRun { kind } } }", json!({}))
            .await;
        d["syncStatus"]["paperCount"] == 20 && d["syncStatus"]["lastRun"].is_object()
    })
    .await;
    // The first run on the empty database was the backfill of all five days (later passes may
    // have run since: the interval is short).
    use papergraph::entities::sync_run;
    use sea_orm::{EntityTrait, QueryOrder};
    let first_run = sync_run::Entity::find()
        .order_by_asc(sync_run::Column::StartedAt)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (first_run.kind.as_str(), first_run.days_total),
        ("backfill", 5)
    );

    // New figures upstream for today arrive with a later pass.
    let mut items = day_items(&days[0], 60, 4);
    items[0]["paper"]["upvotes"] = json!(777);
    let id = items[0]["paper"]["id"].clone();
    up.set_day(&days[0], items);
    eventually("the refresh", async || {
        let d = app
            .data(
                "query($id: String!) { paper(arxivId: $id) { upvotes } }",
                json!({ "id": id }),
            )
            .await;
        d["paper"]["upvotes"] == 777
    })
    .await;
    // The pass that wrote the new figures records its run when it ends, a moment later.
    eventually("the refresh pass recorded as a sync", async || {
        let run = app
            .data("{ syncStatus { lastRun { kind } } }", json!({}))
            .await;
        run["syncStatus"]["lastRun"]["kind"] == "sync"
    })
    .await;

    stop_schedule(tx, worker).await;
}

#[tokio::test]
async fn serve_syncs_in_the_background_and_exits_cleanly_on_sigterm() {
    let up = FakeUpstream::start().await;
    let today = chrono::Utc::now().date_naive();
    for b in 0..3 {
        let d = (today - chrono::Duration::days(b)).to_string();
        up.set_day(&d, day_items(&d, 70 + b as u32, 3));
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("serve.db").display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_papergraph"))
            .args([
                "--database-url",
                &url,
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .args([
                "--upstream-url",
                &up.url(),
                "--backfill-days",
                "3",
                "--sync-interval-secs",
                "3600",
            ])
            .env("PAPERGRAPH_LOG", "warn")
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let gql = format!("http://127.0.0.1:{port}/graphql");
    let mut papers = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Ok(r) = client
            .post(&gql)
            .json(&json!({ "query": "{ syncStatus { paperCount } }" }))
            .send()
            .await
            && let Ok(v) = r.json::<Value>().await
        {
            papers = v["data"]["syncStatus"]["paperCount"].as_i64().unwrap_or(0);
            if papers == 9 {
                break;
            }
        }
    }
    assert_eq!(
        papers, 9,
        "the backfill of 3 days × 3 papers ran inside serve"
    );
    let started = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "serve did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn auto_reads_the_html_page_when_the_api_does_not_answer_with_a_list() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let items = day_items("2026-04-06", 80, 5);
    up.set_day("2026-04-06", items.clone());
    up.set_day("2026-04-07", day_items("2026-04-07", 81, 3));
    up.state
        .day_faults
        .lock()
        .unwrap()
        .insert("2026-04-06".into(), Fault::NotAList);
    up.state
        .day_faults
        .lock()
        .unwrap()
        .insert("2026-04-07".into(), Fault::Truncated);
    up.state
        .html_bare
        .lock()
        .unwrap()
        .insert("2026-04-07".into());
    let (report, _) = run(&app, config(&up), &["2026-04-06", "2026-04-07"]).await;
    assert_eq!((report.days_ok, report.days_failed), (1, 1), "{report:?}");
    let reason = &report.failures[0].1;
    assert!(
        reason.contains("invalid JSON") && reason.contains("no DailyPapers data island"),
        "{reason}"
    );
    let d = app
        .data(
            r#"{ syncStatus { days { date source status } }
                 papers(filter: {dailyDate: "2026-04-06"}, orderBy: {field: UPVOTES, direction: ASC}) { totalCount nodes { arxivId title authors { name } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["papers"]["totalCount"], 5);
    let days = d["syncStatus"]["days"].as_array().unwrap();
    assert!(
        days.contains(&json!({ "date": "2026-04-06", "source": "html", "status": "ok" })),
        "{days:?}"
    );
    assert!(
        days.contains(&json!({ "date": "2026-04-07", "source": "api", "status": "failed" })),
        "{days:?}"
    );
    let first = &d["papers"]["nodes"][0];
    let served = items
        .iter()
        .find(|i| i["paper"]["id"] == first["arxivId"])
        .unwrap();
    assert_eq!(first["title"], served["paper"]["title"]);
    assert_eq!(
        first["authors"].as_array().unwrap().len(),
        served["paper"]["authors"].as_array().unwrap().len()
    );

    // The HTML source alone reads pages only.
    let api_requests = up.requests();
    let cfg = UpstreamConfig {
        source: Source::Html,
        ..config(&up)
    };
    let (report, _) = run(&app, cfg, &["2026-04-06"]).await;
    assert_eq!(
        report.days_unchanged, 1,
        "the same papers by either path hash the same: {report:?}"
    );
    assert_eq!(
        up.requests(),
        api_requests,
        "no API request with --sync-source html"
    );
}

#[tokio::test]
async fn a_backfill_killed_with_sigkill_finishes_on_restart_with_nothing_missing_or_doubled() {
    let up = FakeUpstream::start().await;
    let days: Vec<String> = (1..=24).map(|d| format!("2026-05-{d:02}")).collect();
    let mut expected_slots = 0usize;
    for (i, d) in days.iter().enumerate() {
        let items = day_items(d, 40 + i as u32, 7);
        expected_slots += items
            .iter()
            .map(|it| it["paper"]["authors"].as_array().unwrap().len())
            .sum::<usize>();
        up.set_day(d, items);
    }
    *up.state.delay.lock().unwrap() = Duration::from_millis(40);
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("killed.db").display()
    );
    let (db_url, up_url) = (url.clone(), up.url());
    let sync = move || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_papergraph"));
        c.args([
            "--database-url",
            &db_url,
            "sync",
            "--from",
            "2026-05-01",
            "--to",
            "2026-05-24",
        ])
        .args(["--upstream-url", &up_url, "--sync-concurrency", "2"])
        .env("PAPERGRAPH_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        c
    };
    let mut child = sync().spawn().unwrap();
    // Kill it mid-backfill, once some days are in.
    let deadline = Instant::now() + Duration::from_secs(20);
    while up.requests() < 8 {
        assert!(Instant::now() < deadline, "the backfill never got going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let served_before_kill = up.requests();
    assert!(
        served_before_kill < 24,
        "killed before the end ({served_before_kill} requests)"
    );

    let status = tokio::task::spawn_blocking(move || sync().status().unwrap())
        .await
        .unwrap();
    assert!(status.success());

    let opts = papergraph::config::DbOpts {
        database_url: url.clone(),
        database_schema: None,
        db_max_connections: 2,
        sqlite_page_cache_kib: None,
        sqlite_mmap_mb: 0,
        statement_timeout_secs: 30,
    };
    let (db, _) = papergraph::app::connect(&opts).await.unwrap();
    let total = papergraph::repo::papers::count(&db, &Default::default())
        .await
        .unwrap();
    assert_eq!(total, 24 * 7, "every paper once");
    let ids: Vec<i64> = {
        use sea_orm::{EntityTrait, QuerySelect};
        papergraph::entities::paper::Entity::find()
            .select_only()
            .column(papergraph::entities::paper::Column::Id)
            .into_tuple()
            .all(&db)
            .await
            .unwrap()
    };
    let slots =
        papergraph::repo::papers::author_slots(&db, &ids, papergraph::repo::papers::SlotRead::Own)
            .await
            .unwrap();
    assert_eq!(
        slots.values().map(Vec::len).sum::<usize>(),
        expected_slots,
        "no author slot lost or doubled"
    );
    let days_ok = papergraph::repo::status::recent_days(&db, 100)
        .await
        .unwrap();
    assert_eq!(days_ok.len(), 24);
    assert!(
        days_ok
            .iter()
            .all(|d| d.status == "ok" && d.paper_count == 7)
    );
}

#[tokio::test]
async fn items_lacking_abstract_or_authors_are_completed_from_the_paper_details() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let details: Value = serde_json::from_slice(
        &std::fs::read(crate::helpers::fixture("api/papers_2601.25962.json")).unwrap(),
    )
    .unwrap();
    let mut items = day_items("2026-06-01", 90, 3);
    // Item 0: the real paper, listed without abstract and authors; item 1 lacks them too but is
    // not indexed (404); item 2 is complete.
    items[0]["paper"]["id"] = json!("2601.25962");
    for i in [0, 1] {
        items[i]["paper"]["authors"] = json!([]);
        items[i]["paper"].as_object_mut().unwrap().remove("summary");
        items[i].as_object_mut().unwrap().remove("summary");
    }
    up.set_day("2026-06-01", items);
    up.state
        .details
        .lock()
        .unwrap()
        .insert("2601.25962".into(), details.clone());
    let (report, upstream) = run(&app, config(&up), &["2026-06-01"]).await;
    assert_eq!((report.days_ok, report.days_failed), (1, 0), "{report:?}");
    assert_eq!(
        upstream.stats.requests.load(Ordering::Relaxed),
        1 + 2,
        "one list, two detail lookups"
    );
    let d = app
        .data(
            r#"{ a: paper(arxivId: "2601.25962") { abstract authors { name } numLinkedModels numLinkedSpaces }
                 b: paper(arxivId: "2601.90001") { abstract authors { name } } }"#,
            json!({}),
        )
        .await;
    let want: Vec<Value> = details["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!({ "name": a["name"] }))
        .collect();
    assert_eq!(d["a"]["authors"], json!(want));
    assert!(
        d["a"]["abstract"]
            .as_str()
            .unwrap()
            .starts_with(&details["summary"].as_str().unwrap()[..20])
    );
    assert_eq!(d["a"]["numLinkedModels"], details["numTotalModels"]);
    assert_eq!(d["a"]["numLinkedSpaces"], details["numTotalSpaces"]);
    assert_eq!(
        d["b"],
        json!({ "abstract": "", "authors": [] }),
        "a 404 keeps the item as listed"
    );
}

#[tokio::test]
async fn a_page_without_its_data_island_gives_upvotes_from_its_cards_and_erases_nothing() {
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let date = "2026-06-08";
    let mut items = day_items(date, 91, 4);
    up.set_day(date, items.clone());
    run(&app, config(&up), &[date]).await;
    let query = r#"query($id: String!) { paper(arxivId: $id) { title abstract upvotes authors { name } upvoteHistory { upvotes } } }"#;
    let id0 = items[0]["paper"]["id"].as_str().unwrap().to_string();
    let before = app.data(query, json!({ "id": id0 })).await;
    assert!(!before["paper"]["authors"].as_array().unwrap().is_empty());

    // Upstream: item 0 gains upvotes, and two papers join the day: one with a detail page, one
    // not indexed yet. The API answers garbage and the page lost its data island.
    items[0]["paper"]["upvotes"] = json!(999);
    let details: Value = serde_json::from_slice(
        &std::fs::read(crate::helpers::fixture("api/papers_2601.25962.json")).unwrap(),
    )
    .unwrap();
    let mut joined = day_items(date, 92, 2);
    joined[0]["paper"]["id"] = json!("2601.25962");
    joined[0]["paper"]["upvotes"] = json!(77);
    items.extend(joined.clone());
    up.set_day(date, items.clone());
    up.state
        .details
        .lock()
        .unwrap()
        .insert("2601.25962".into(), details.clone());
    up.state
        .day_faults
        .lock()
        .unwrap()
        .insert(date.into(), Fault::NotAList);
    up.state
        .html_without_island
        .lock()
        .unwrap()
        .insert(date.into());
    let (report, _) = run(&app, config(&up), &[date]).await;
    assert_eq!(
        (report.days_partial, report.days_failed, report.papers_added),
        (1, 0, 1),
        "{report:?}"
    );
    let after = app.data(query, json!({ "id": id0 })).await;
    assert_eq!(after["paper"]["upvotes"], 999);
    for field in ["title", "abstract", "authors"] {
        assert_eq!(
            after["paper"][field], before["paper"][field],
            "{field} was changed by a cards-only day"
        );
    }
    assert_eq!(
        after["paper"]["upvoteHistory"].as_array().unwrap().len(),
        before["paper"]["upvoteHistory"].as_array().unwrap().len() + 1,
        "the new figure is a snapshot"
    );
    let new = app.data(query, json!({ "id": "2601.25962" })).await;
    assert_eq!(new["paper"]["upvotes"], 77, "the card's count wins");
    assert_eq!(
        new["paper"]["authors"].as_array().unwrap().len(),
        details["authors"].as_array().unwrap().len(),
        "a new paper is completed from its detail page"
    );
    let missing_id = joined[1]["paper"]["id"].as_str().unwrap();
    let missing = app.data(query, json!({ "id": missing_id })).await;
    assert_eq!(missing["paper"], Value::Null, "no detail page, not stored");
    let status = app
        .data(
            "{ syncStatus { failedDays { date status source error } } }",
            json!({}),
        )
        .await;
    let day_state = &status["syncStatus"]["failedDays"][0];
    assert_eq!(
        (
            &day_state["date"],
            &day_state["status"],
            &day_state["source"]
        ),
        (&json!(date), &json!("partial"), &json!("cards")),
        "{status}"
    );
    assert!(
        day_state["error"]
            .as_str()
            .unwrap()
            .contains("6 visible cards"),
        "{day_state}"
    );

    // The island is back: the day is fetched in full and no longer due.
    up.state.day_faults.lock().unwrap().clear();
    up.state.html_without_island.lock().unwrap().clear();
    let (report, _) = run(&app, config(&up), &[date]).await;
    assert_eq!((report.days_ok, report.papers_added), (1, 1), "{report:?}");
    let missing = app.data(query, json!({ "id": missing_id })).await;
    assert_eq!(missing["paper"]["title"], joined[1]["paper"]["title"]);
    let status = app
        .data("{ syncStatus { failedDays { date } } }", json!({}))
        .await;
    assert_eq!(status["syncStatus"]["failedDays"], json!([]));
}

#[tokio::test]
async fn a_day_published_late_is_fetched_again_and_latest_daily_date_skips_empty_days() {
    use chrono::Datelike;
    let app = spawn_app().await;
    let up = FakeUpstream::start().await;
    let today = chrono::Utc::now().date_naive();
    let back = |b: i64| today - chrono::Duration::days(b);
    // The newest weekday outside the two-day refresh window: listed empty, published later.
    let late = (3..7)
        .map(back)
        .find(|d| d.weekday().number_from_monday() <= 5)
        .unwrap();
    for b in 1..7 {
        let d = back(b);
        if d != late {
            up.set_day(&d.to_string(), day_items(&d.to_string(), 80 + b as u32, 3));
        }
    }
    // Today is not published yet either.
    let (tx, worker) = start_schedule(&app, &up, 7);
    let status =
        "{ syncStatus { paperCount latestDailyDate recheckingDays { date attempts nextAt } } }";
    eventually("the backfill and a re-check of the empty day", async || {
        let s = app.data(status, json!({})).await["syncStatus"].clone();
        s["paperCount"] == 15
            && s["recheckingDays"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["date"] == late.to_string() && r["attempts"].as_i64() >= Some(2))
    })
    .await;
    let s = app.data(status, json!({})).await["syncStatus"].clone();
    assert_eq!(
        s["latestDailyDate"],
        back(1).to_string(),
        "the newest day with papers, not today's empty list"
    );
    // The upstream publishes the late day; a later pass picks it up although it is older than
    // the refresh window, and once it stops growing it is no longer re-checked.
    up.set_day(&late.to_string(), day_items(&late.to_string(), 90, 4));
    eventually("the late day's papers", async || {
        let d = app
            .data(
                "query($d: Date!) { papers(filter: {dailyDate: $d}) { totalCount } }",
                json!({ "d": late.to_string() }),
            )
            .await;
        d["papers"]["totalCount"] == 4
    })
    .await;
    eventually("the late day to settle", async || {
        let s = app.data(status, json!({})).await["syncStatus"].clone();
        !s["recheckingDays"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["date"] == late.to_string())
    })
    .await;
    stop_schedule(tx, worker).await;
}
