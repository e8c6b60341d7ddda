//! The import path: idempotence, newer copies, missing fields, Unicode, bad files, the CLI.
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{fixture, paper, spawn_app};

async fn counts(app: &crate::helpers::TestApp) -> Value {
    app.data(
        r#"{ syncStatus { paperCount authorCount }
             papers(first: 100, orderBy: {field: UPVOTES}) { nodes { arxivId upvotes numComments
               upvoteHistory { upvotes } authors { name } } } }"#,
        json!({}),
    )
    .await
}

#[tokio::test]
async fn importing_the_same_list_twice_changes_nothing() {
    let app = spawn_app().await;
    let first = app
        .import_fixture("api/daily_papers_date-2026-01-30.json", "2026-01-30")
        .await;
    assert_eq!(first[0].added.len(), 8);
    let before = counts(&app).await;
    let statements = app.stats.statements();
    let again = app
        .import_fixture("api/daily_papers_date-2026-01-30.json", "2026-01-30")
        .await;
    assert!(again[0].unchanged, "{again:?}");
    assert!(again[0].added.is_empty() && again[0].updated.is_empty());
    assert!(
        app.stats.statements() - statements <= 4,
        "an unchanged list is one read, not a rewrite ({} statements)",
        app.stats.statements() - statements
    );
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn a_newer_copy_updates_figures_and_appends_a_snapshot() {
    let app = spawn_app().await;
    let path = fixture("api/daily_papers_date-2026-01-30.json");
    let body = std::fs::read(&path).unwrap();
    papergraph::sync::files::import_body(&app.db, &body, Some("2026-01-30".parse().unwrap()))
        .await
        .unwrap();
    let mut items: Vec<Value> = serde_json::from_slice(&body).unwrap();
    items[0]["paper"]["upvotes"] = json!(500);
    items[0]["numComments"] = json!(9);
    items[1]["paper"]["title"] = json!("A corrected title");
    let newer = serde_json::to_vec(&items).unwrap();
    let out =
        papergraph::sync::files::import_body(&app.db, &newer, Some("2026-01-30".parse().unwrap()))
            .await
            .unwrap();
    let id0 = items[0]["paper"]["id"].as_str().unwrap();
    let id1 = items[1]["paper"]["id"].as_str().unwrap();
    assert_eq!(
        out[0].updated,
        vec![id0.to_string()],
        "only figures count as updates"
    );
    assert!(out[0].added.is_empty());
    let q = "query($id: String!) { paper(arxivId: $id) { title upvotes numComments upvoteHistory { upvotes numComments } } }";
    let p0 = app.data(q, json!({ "id": id0 })).await;
    assert_eq!(p0["paper"]["upvotes"], 500);
    assert_eq!(p0["paper"]["numComments"], 9);
    let old_upvotes =
        serde_json::from_slice::<Vec<Value>>(&body).unwrap()[0]["paper"]["upvotes"].clone();
    assert_eq!(
        p0["paper"]["upvoteHistory"],
        json!([{ "upvotes": old_upvotes, "numComments": serde_json::from_slice::<Vec<Value>>(&body).unwrap()[0]["numComments"] },
               { "upvotes": 500, "numComments": 9 }])
    );
    let p1 = app.data(q, json!({ "id": id1 })).await;
    assert_eq!(p1["paper"]["title"], "A corrected title");
    assert_eq!(p1["paper"]["upvoteHistory"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn sparse_items_import_with_defaults_and_normalised_text() {
    let app = spawn_app().await;
    let out = app
        .import_fixture(
            "bad/daily_papers_missing-optional-fields.json",
            "2026-04-02",
        )
        .await;
    assert_eq!(out[0].papers, 4);
    let d = app
        .data(
            r#"{ a: paper(arxivId: "2508.03914") { authors { name } aiKeywords aiSummary organization { name } submittedBy { username } thumbnailUrl upvotes numComments submittedAt publishedAt dailyDate }
                 v: paper(arxivId: "2310.14966") { arxivId abstract githubRepo githubStars }
                 h: papers(filter: {dailyDate: "2026-04-02"}, first: 10) { nodes { arxivId withdrawnAt authors { name hidden } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["a"]["authors"], json!([]));
    assert_eq!(d["a"]["aiKeywords"], json!([]));
    assert!(
        d["a"]["aiSummary"].is_null()
            && d["a"]["organization"].is_null()
            && d["a"]["submittedBy"].is_null()
    );
    assert_eq!(d["a"]["upvotes"], 0);
    assert_eq!(d["a"]["dailyDate"], "2026-04-02");
    assert_eq!(
        d["v"]["arxivId"], "2310.14966",
        "the version suffix is dropped"
    );
    let abs = d["v"]["abstract"].as_str().unwrap();
    assert!(
        !abs.contains('\r') && !abs.contains('\n') && !abs.ends_with(' ') && !abs.contains("  ")
    );
    assert!(d["v"]["githubRepo"].is_null());
    assert_eq!(d["v"]["githubStars"], 0);
    let nodes = d["h"]["nodes"].as_array().unwrap();
    assert!(nodes.iter().any(|n| n["withdrawnAt"].is_string()));
    assert!(nodes.iter().any(|n| {
        n["authors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["hidden"] == true)
    }));
}

#[tokio::test]
async fn unicode_and_entities_survive_exactly() {
    let app = spawn_app().await;
    app.import_fixture("bad/daily_papers_unicode-entities.json", "2026-04-02")
        .await;
    let raw: Vec<Value> = serde_json::from_slice(
        &std::fs::read(fixture("bad/daily_papers_unicode-entities.json")).unwrap(),
    )
    .unwrap();
    let d = app
        .data(
            r#"{ paper(arxivId: "2604.00042") { title authors { name } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["paper"]["title"], raw[0]["paper"]["title"]);
    assert!(
        d["paper"]["title"].as_str().unwrap().contains("A&amp;B"),
        "a literal &amp; stays"
    );
    let names: Vec<Value> = raw[0]["paper"]["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!({ "name": a["name"] }))
        .collect();
    assert_eq!(d["paper"]["authors"], json!(names));
}

#[tokio::test]
async fn bad_files_are_errors_and_leave_the_database_as_it_was() {
    let app = spawn_app().await;
    app.import_samples().await;
    let before = counts(&app).await;
    for bad in [
        "bad/daily_papers_truncated.json",
        "bad/daily_papers_not-a-list.json",
    ] {
        let body = std::fs::read(fixture(bad)).unwrap();
        let err = papergraph::sync::files::import_body(
            &app.db,
            &body,
            Some("2026-04-02".parse().unwrap()),
        )
        .await
        .unwrap_err();
        assert!(!format!("{err:#}").is_empty());
    }
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn one_name_is_one_author_across_papers() {
    let app = spawn_app().await;
    app.import(
        "2026-02-01",
        &[paper(1, "2026-02-01", 3), paper(2, "2026-02-01", 4)],
    )
    .await;
    app.import("2026-02-02", &[paper(3, "2026-02-02", 5)]).await;
    let d = app
        .data(r#"{ authors(search: "shared author") { nodes { name paperCount papers { totalCount } } } }"#, json!({}))
        .await;
    assert_eq!(
        d["authors"]["nodes"],
        json!([{ "name": "Shared Author", "paperCount": 3, "papers": { "totalCount": 3 } }])
    );
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_papergraph"));
    c.env_remove("PAPERGRAPH_DATABASE_URL")
        .env("PAPERGRAPH_LOG", "warn");
    c
}

#[test]
fn cli_import_is_idempotent_and_errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let files = [
        fixture("api/daily_papers_date-2026-01-14.json"),
        fixture("api/daily_papers_date-2026-01-30.json"),
    ];
    let out = bin()
        .arg("--database-url")
        .arg(&url)
        .arg("import")
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2026-01-14: 7 papers (7 new"), "{text}");
    assert!(text.contains("2026-01-30: 8 papers (8 new"), "{text}");
    let out = bin()
        .arg("--database-url")
        .arg(&url)
        .arg("import")
        .args(&files)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2026-01-14: 7 papers, unchanged"), "{text}");

    let out = bin()
        .arg("--database-url")
        .arg(&url)
        .arg("import")
        .arg(fixture("bad/daily_papers_truncated.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: cannot import") && err.contains("not valid JSON"),
        "{err}"
    );

    let out = bin()
        .args(["--database-url", "mysql://x/y", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: unsupported database URL") && err.trim().lines().count() == 1,
        "{err}"
    );

    let out = bin()
        .args([
            "--database-url",
            "sqlite:///no/such/folder/x.db?mode=rwc",
            "migrate",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("does its folder exist"),
        "{err}"
    );
}

#[test]
fn cli_serve_reports_a_taken_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let out = bin()
        .args(["--database-url", &url, "serve", "--bind", &addr.to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already in use"), "{err}");
}

#[tokio::test]
async fn a_changed_author_list_moves_paper_counts_exactly() {
    use crate::helpers::author;
    let app = spawn_app().await;
    let mut p = paper(7, "2026-02-09", 3);
    p.authors = vec![author("Ann Alpha"), author("Bob Beta"), author("Ann Alpha")];
    app.import("2026-02-09", &[p.clone(), paper(8, "2026-02-09", 1)])
        .await;
    p.authors = vec![author("Ann Alpha"), author("Cid Gamma")];
    p.upvotes = 4;
    app.import("2026-02-09", &[p, paper(8, "2026-02-09", 1)])
        .await;
    let q = r#"query($s: String) { authors(search: $s, first: 10) { nodes { name paperCount papers { totalCount } } } }"#;
    for (name, count) in [
        ("Ann Alpha", 1),
        ("Bob Beta", 0),
        ("Cid Gamma", 1),
        ("Shared Author", 1),
    ] {
        let d = app.data(q, json!({ "s": name })).await;
        let node = &d["authors"]["nodes"][0];
        assert_eq!(node["name"], name);
        assert_eq!(node["paperCount"], count, "{name}");
        assert_eq!(node["papers"]["totalCount"], count, "{name}");
    }
}
