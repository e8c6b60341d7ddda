//! Digest delivery: due digests are claimed in the database, sent once through a real SMTP
//! listener with a one-click unsubscribe, retried with backoff when refused, never resent after
//! an interrupted send; `papergraph digest send --dry-run` prints and records nothing.
use chrono::{DateTime, Duration, Utc, Weekday};
use papergraph::digest::StoredInterests;
use papergraph::digest::delivery::{self, MAX_ATTEMPTS, Schedule, Sender};
use papergraph::digest::mailer::Mailer;
use papergraph::entities::{digest_delivery, digest_subscription};
use papergraph::repo::subscriptions;
use papergraph::search::SearchEngine;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;

use crate::helpers::{TestApp, at, paper, spawn_app};
use crate::smtp::SmtpSink;

const SCHEDULE: Schedule = Schedule {
    hour: 7,
    weekday: Weekday::Thu,
};

/// Daily Papers of 2026-01-14: two diffusion papers (40 and 25 upvotes) among four others.
async fn listing(app: &TestApp) {
    let mut papers: Vec<_> = (1..=6).map(|n| paper(n, "2026-01-14", n as i32)).collect();
    papers[0].title = "Diffusion transformers at scale".into();
    papers[0].upvotes = 25;
    papers[1].title = "Latent diffusion for video".into();
    papers[1].upvotes = 40;
    papers[1].ai_summary = Some("A short AI summary of the video paper.".into());
    app.import("2026-01-14", &papers).await;
}

/// An active subscription (through the repository, as the confirm link would leave it); its
/// id and manage token.
async fn active(app: &TestApp, email: &str, frequency: &str, keywords: &[&str]) -> (i64, String) {
    let interests = serde_json::to_string(&StoredInterests {
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
        authors: vec![],
        min_upvotes: 0,
        max_papers: 10,
    })
    .unwrap();
    let now = Utc::now();
    let mail = subscriptions::subscribe(&app.db, email, frequency, &interests, now)
        .await
        .unwrap()
        .unwrap();
    let subscriptions::Mail::Confirm { token, .. } = mail else {
        panic!("a new address gets a confirmation: {mail:?}")
    };
    let (m, manage) = subscriptions::confirm(&app.db, &token, now)
        .await
        .unwrap()
        .unwrap();
    (m.id, manage)
}

async fn pass(
    app: &TestApp,
    engine: &SearchEngine,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> delivery::Report {
    let sender = Sender {
        mailer: Some(mailer),
        public_url: &format!("http://{}", app.addr),
    };
    delivery::run_due(&app.db, engine, sender, &SCHEDULE, now, false)
        .await
        .unwrap()
}

fn mailer(port: u16) -> Mailer {
    Mailer::new(
        &format!("smtp://127.0.0.1:{port}"),
        "papergraph <digest@papergraph.test>",
    )
    .unwrap()
}

/// The message's text with quoted-printable soft breaks and `=3D` undone.
fn decoded(data: &str) -> String {
    data.replace("=\n", "").replace("=3D", "=")
}

fn header<'a>(data: &'a str, name: &str) -> Option<&'a str> {
    data.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

async fn delivery_row(app: &TestApp, id: i64, period: &str) -> digest_delivery::Model {
    digest_delivery::Entity::find_by_id((id, period.to_string()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("a delivery row for {id} {period}"))
}

#[tokio::test]
async fn a_due_digest_is_sent_once_with_its_papers_and_a_one_click_unsubscribe() {
    let (app, sink) = crate::digest::app_with_smtp().await;
    listing(&app).await;
    let mailer = mailer(sink.port);
    let engine = SearchEngine::new(app.db.clone());
    let (ana, ana_token) = active(&app, "ana@example.org", "daily", &["diffusion"]).await;
    let (bo, _) = active(&app, "bo@example.org", "daily", &["quantum chromodynamics"]).await;

    // Before the hour on the 15th, the due digest covers the 13th, which the mirror lacks.
    let early = pass(&app, &engine, &mailer, at("2026-01-15T06:00:00Z")).await;
    assert_eq!(early.sent, 0);
    assert_eq!(early.waiting, vec!["daily:2026-01-13".to_string()]);

    let now = at("2026-01-15T07:30:00Z");
    let r = pass(&app, &engine, &mailer, now).await;
    assert_eq!((r.sent, r.empty, r.retrying, r.failed), (1, 1, 0, 0));
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "an empty digest is not sent");
    assert_eq!(mail[0].to, vec!["<ana@example.org>".to_string()]);
    let data = decoded(&mail[0].data);
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("text/plain") && data.contains("text/html"));
    assert!(
        header(&data, "Subject")
            .is_some_and(|s| s.contains("2026-01-14") && s.contains("2 papers")),
        "{data}"
    );
    // Most upvoted first, with authors, upvotes, the AI summary and links; nothing else.
    let video = data
        .find("Latent diffusion for video")
        .expect("first paper");
    let scale = data
        .find("Diffusion transformers at scale")
        .expect("second paper");
    assert!(video < scale);
    assert!(data.contains("40 upvotes") && data.contains("Author 2, Shared Author"));
    assert!(data.contains("A short AI summary of the video paper."));
    assert!(data.contains("https://arxiv.org/abs/2601.00002"));
    assert!(!data.contains("Synthetic paper number 3"));
    assert_eq!(
        header(&data, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let link = header(&data, "List-Unsubscribe")
        .and_then(|v| v.strip_prefix('<'))
        .and_then(|v| v.strip_suffix('>'))
        .expect("a List-Unsubscribe URL")
        .to_string();
    assert!(link.starts_with(&format!("http://{}/digest/unsubscribe?token=", app.addr)));
    let row = delivery_row(&app, ana, "daily:2026-01-14").await;
    assert_eq!(
        (row.status.as_str(), row.attempts, row.paper_count),
        ("sent", 1, Some(2))
    );
    assert_eq!(
        delivery_row(&app, bo, "daily:2026-01-14").await.status,
        "empty"
    );

    // The same period again, an hour later and from a second process with its own index: nothing.
    let other = SearchEngine::new(app.db.clone());
    let again = pass(&app, &other, &mailer, now + Duration::hours(1)).await;
    assert_eq!(again.sent + again.empty, 0);
    assert_eq!(sink.messages().len(), 1);

    // Two passes racing for a new subscriber's digest: one mail.
    let (cy, _) = active(&app, "cy@example.org", "daily", &["video"]).await;
    let (a, b) = tokio::join!(
        pass(&app, &engine, &mailer, now + Duration::hours(2)),
        pass(&app, &other, &mailer, now + Duration::hours(2))
    );
    assert_eq!(a.sent + b.sent, 1, "{a:?} {b:?}");
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(
        delivery_row(&app, cy, "daily:2026-01-14").await.status,
        "sent"
    );

    // A GET shows a button and changes nothing (mail scanners follow links).
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<button"));
    let q = r#"query($t: String!) { digestSubscription(token: $t) { email } }"#;
    let gql = &app;
    let before = gql.data(q, json!({ "t": ana_token })).await;
    assert_eq!(before["digestSubscription"]["email"], "ana@example.org");

    // RFC 8058: a POST with List-Unsubscribe=One-Click ends it, and again succeeds too.
    for _ in 0..2 {
        let r = app
            .client
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let s = digest_subscription::Entity::find_by_id(ana)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.status, "unsubscribed");
    assert_eq!(
        gql.error_code(q, json!({ "t": ana_token })).await,
        "INVALID_TOKEN"
    );
    let bad = app
        .client
        .post(link.replace("token=", "token=x"))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // The next day's digest goes to the others only (and Ana's period is not even recorded).
    let mut more: Vec<_> = (11..=12).map(|n| paper(n, "2026-01-15", 5)).collect();
    more[0].title = "Video diffusion, again".into();
    app.import("2026-01-15", &more).await;
    let next = pass(&app, &engine, &mailer, at("2026-01-16T08:00:00Z")).await;
    assert_eq!((next.sent, next.empty), (1, 1), "{next:?}");
    let last = sink.messages();
    assert_eq!(last.len(), 3);
    assert_eq!(last[2].to, vec!["<cy@example.org>".to_string()]);
    assert!(
        digest_delivery::Entity::find_by_id((ana, "daily:2026-01-15".to_string()))
            .one(&app.db)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_refused_send_is_retried_with_backoff_and_an_interrupted_one_is_never_resent() {
    let app = spawn_app().await;
    listing(&app).await;
    let sink = SmtpSink::start().await;
    let good = mailer(sink.port);
    // A port nobody listens on: the relay is down.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        mailer(port)
    };
    let engine = SearchEngine::new(app.db.clone());
    let (ana, _) = active(&app, "ana@example.org", "weekly", &[]).await;
    let period = "weekly:2026-01-14";

    // Thursday 2026-01-15 is the weekly send day: the week of 01-08..01-14.
    let t0 = at("2026-01-15T07:00:00Z");
    let r = pass(&app, &engine, &down, t0).await;
    assert_eq!((r.sent, r.retrying), (0, 1));
    let row = delivery_row(&app, ana, period).await;
    assert_eq!((row.status.as_str(), row.attempts), ("retry", 1));
    assert_eq!(row.next_attempt_at, Some(t0 + Duration::minutes(2)));
    assert!(row.error.as_deref().is_some_and(|e| e.contains("SMTP")));

    // Not before its time, even with the relay back.
    let r = pass(&app, &engine, &good, t0 + Duration::minutes(1)).await;
    assert_eq!(r.sent, 0);
    assert!(sink.messages().is_empty());
    let r = pass(&app, &engine, &good, t0 + Duration::minutes(3)).await;
    assert_eq!(r.sent, 1);
    let row = delivery_row(&app, ana, period).await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
    assert_eq!(sink.messages().len(), 1);
    assert!(
        decoded(&sink.messages()[0].data)
            .contains("Weekly Papers digest, 2026-01-08 to 2026-01-14")
    );

    // Given up after MAX_ATTEMPTS refusals, with the reason kept.
    let (bo, _) = active(&app, "bo@example.org", "weekly", &[]).await;
    let mut t = t0;
    for attempt in 1..=MAX_ATTEMPTS {
        let r = pass(&app, &engine, &down, t).await;
        let row = delivery_row(&app, bo, period).await;
        assert_eq!(row.attempts, attempt);
        if attempt < MAX_ATTEMPTS {
            assert_eq!((r.retrying, row.status.as_str()), (1, "retry"));
            t = row.next_attempt_at.unwrap();
        } else {
            assert_eq!((r.failed, row.status.as_str()), (1, "failed"));
        }
    }
    let r = pass(&app, &engine, &good, t + Duration::days(1)).await;
    assert_eq!(r.sent, 0, "a failed digest is not sent later");

    // A claim left `sending` by a process that stopped is marked interrupted, never resent.
    let (cy, _) = active(&app, "cy@example.org", "weekly", &[]).await;
    digest_delivery::ActiveModel {
        subscription_id: Set(cy),
        period: Set(period.into()),
        status: Set(digest_delivery::Status::Sending),
        attempts: Set(1),
        claimed_at: Set(t0),
        sent_at: Set(None),
        error: Set(None),
        next_attempt_at: Set(None),
        unsubscribe_token_hash: Set(None),
        paper_count: Set(None),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let r = pass(&app, &engine, &good, t0 + Duration::minutes(30)).await;
    assert_eq!((r.sent, r.interrupted), (0, 1));
    assert_eq!(delivery_row(&app, cy, period).await.status, "interrupted");
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn digest_send_dry_run_prints_what_would_be_sent_and_records_nothing() {
    let app = spawn_app().await;
    let opts = app.opts.clone();
    listing(&app).await;
    let (ana, _) = active(&app, "ana@example.org", "daily", &["diffusion"]).await;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_papergraph"));
    cmd.env_remove("PAPERGRAPH_SMTP_URL")
        .env("PAPERGRAPH_LOG", "warn")
        .arg("--database-url")
        .arg(&opts.database_url);
    if let Some(schema) = &opts.database_schema {
        cmd.arg("--database-schema").arg(schema);
    }
    let out = cmd
        .args([
            "digest",
            "send",
            "--dry-run",
            "--at",
            "2026-01-15T08:00:00Z",
        ])
        .args([
            "--public-url",
            "https://papers.example.org",
            "--digest-hour",
            "7",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("would send to ana@example.org (daily:2026-01-14"),
        "{text}"
    );
    assert!(text.contains("Latent diffusion for video"), "{text}");
    assert!(text.contains("1 would be sent"), "{text}");
    assert!(
        digest_delivery::Entity::find_by_id((ana, "daily:2026-01-14".to_string()))
            .one(&app.db)
            .await
            .unwrap()
            .is_none(),
        "a dry run claims nothing"
    );
    // Without --dry-run and without SMTP: a clear error.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_papergraph"));
    let out = cmd
        .env_remove("PAPERGRAPH_SMTP_URL")
        .arg("--database-url")
        .arg(&opts.database_url)
        .args(["digest", "send"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PAPERGRAPH_SMTP_URL"));
}

#[tokio::test]
async fn the_scheduler_inside_serve_sends_a_due_digest_then_a_restart_sends_nothing_again() {
    let app = spawn_app().await;
    // Yesterday's list (real time: the server's scheduler uses the clock).
    let yesterday = (Utc::now() - Duration::days(1)).date_naive().to_string();
    let mut papers: Vec<_> = (1..=3).map(|n| paper(n, &yesterday, n as i32)).collect();
    papers[2].title = "Diffusion served by the scheduler".into();
    app.import(&yesterday, &papers).await;
    let (ana, _) = active(&app, "ana@example.org", "daily", &["diffusion"]).await;
    let sink = SmtpSink::start().await;
    let serve = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_papergraph"));
        c.env("PAPERGRAPH_LOG", "warn")
            .arg("--database-url")
            .arg(&app.opts.database_url);
        if let Some(schema) = &app.opts.database_schema {
            c.arg("--database-schema").arg(schema);
        }
        c.args(["serve", "--bind", "127.0.0.1:0", "--sync", "false"])
            .args(["--smtp-url", &sink.url(), "--digest-hour", "0"])
            .args(["--digest-check-secs", "1"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c.spawn().unwrap()
    };
    let mut child = serve();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sink.messages().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no digest within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let period = format!("daily:{yesterday}");
    // The row turns `sent` right after the SMTP answer.
    let mut row = delivery_row(&app, ana, &period).await;
    for _ in 0..50 {
        if row.status == "sent" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        row = delivery_row(&app, ana, &period).await;
    }
    assert_eq!(row.status, "sent");
    assert!(decoded(&sink.messages()[0].data).contains("Diffusion served by the scheduler"));
    child.kill().unwrap();
    child.wait().unwrap();

    // A restarted server finds the period claimed: nothing more in a few passes.
    let mut child = serve();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(sink.messages().len(), 1);
}
