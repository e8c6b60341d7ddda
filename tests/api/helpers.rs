//! `spawn_app()`: the real router on 127.0.0.1:0 over a fresh database, and typed helpers.
use papergraph::entities::daily_list;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use papergraph::app;
use papergraph::config::DbOpts;
use papergraph::domain::{ArxivId, AuthorName, DailyPaper, OrganizationRef, PaperAuthorEntry};
use papergraph::repo::direct::DbStats;
use papergraph::repo::import::{ImportOutcome, import_daily_list};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

pub struct TestApp {
    pub addr: SocketAddr,
    /// How to reach its database (for the CLI).
    pub opts: DbOpts,
    pub db: DatabaseConnection,
    pub stats: Arc<DbStats>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The options for a fresh database: a temp SQLite file, or a new schema on `TEST_DATABASE_URL`.
pub fn fresh_db_opts(dir: &tempfile::TempDir) -> (DbOpts, &'static str) {
    match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(url) => {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = Utc::now().timestamp_subsec_nanos();
            let schema = format!("t_{}_{}_{}", std::process::id(), n, nanos);
            (
                DbOpts {
                    database_url: url,
                    database_schema: Some(schema),
                    db_max_connections: 4,
                    sqlite_page_cache_kib: None,
                    sqlite_mmap_mb: 0,
                    statement_timeout_secs: 30,
                },
                "postgres",
            )
        }
        None => {
            let path = dir.path().join("test.db");
            (
                DbOpts {
                    database_url: format!("sqlite://{}?mode=rwc", path.display()),
                    database_schema: None,
                    db_max_connections: 4,
                    sqlite_page_cache_kib: None,
                    sqlite_mmap_mb: 0,
                    statement_timeout_secs: 30,
                },
                "sqlite",
            )
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(app::HttpOptions::default()).await
}

/// `spawn_app` with HTTP options (digests, cache, GraphiQL).
pub async fn spawn_app_with(mut http: app::HttpOptions) -> TestApp {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()))
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let (opts, backend) = fresh_db_opts(&dir);
    static ANNOUNCE: std::sync::Once = std::sync::Once::new();
    ANNOUNCE.call_once(|| {
        // Straight to stderr: the test harness captures eprintln!.
        use std::io::Write as _;
        if backend == "sqlite" {
            let _ = writeln!(
                std::io::stderr(),
                "\n!!! TEST_DATABASE_URL is not set: this run covers SQLite only. Set it (e.g. \
                 postgres://postgres@127.0.0.1:5432/test) to run the same suite on PostgreSQL.\n"
            );
        } else {
            let _ = writeln!(
                std::io::stderr(),
                "\n--- running the suite on PostgreSQL (fresh schema per test)\n"
            );
        }
    });
    let (db, stats) = app::connect(&opts)
        .await
        .expect("connect to the test database");
    app::migrate(&db).await.expect("migrate the test database");
    let listener = app::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    http.db_stats = Some(stats.clone());
    let router = app::router(db.clone(), &http);
    tokio::spawn(app::serve(listener, router, std::future::pending()));
    TestApp {
        addr,
        opts,
        db,
        stats,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl TestApp {
    /// Another server (its own router, caches and search index) over the same database, as a
    /// replica would be; returns its base URL.
    pub async fn second_server(&self) -> String {
        let listener = app::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = app::router(self.db.clone(), &app::HttpOptions::default());
        tokio::spawn(app::serve(listener, router, std::future::pending()));
        format!("http://{addr}")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a GraphQL request and returns the whole JSON response (`data` and `errors`).
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_at(&self.url(""), query, variables).await
    }

    /// `gql` to another server of the test (its base URL, e.g. from `second_server`).
    pub async fn gql_at(&self, base: &str, query: &str, variables: Value) -> Value {
        let resp = self
            .client
            .post(format!("{base}/graphql"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            200,
            "GraphQL over application/json always answers 200"
        );
        resp.json().await.unwrap()
    }

    /// Like `gql`, but fails the test on any error and returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let v = self.gql(query, variables).await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
        v["data"].clone()
    }

    /// The `extensions.code` of the first error, failing the test if there is none.
    pub async fn error_code(&self, query: &str, variables: Value) -> String {
        let v = self.gql(query, variables).await;
        let err = &v["errors"][0];
        assert!(err.is_object(), "expected an error, got {v:#}");
        err["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("error without extensions.code: {v:#}"))
            .to_string()
    }

    /// Imports the sample file `fixtures/upstream/<rel>` as the list of `date`.
    pub async fn import_fixture(&self, rel: &str, date: &str) -> Vec<ImportOutcome> {
        let body = std::fs::read(fixture(rel)).unwrap();
        papergraph::sync::files::import_body(&self.db, &body, Some(date.parse().unwrap()))
            .await
            .unwrap()
    }

    /// Imports the three full sample days.
    pub async fn import_samples(&self) {
        for date in ["2026-01-14", "2026-01-30", "2026-04-02"] {
            self.import_fixture(&format!("api/daily_papers_date-{date}.json"), date)
                .await;
        }
    }

    pub async fn import(&self, date: &str, papers: &[DailyPaper]) -> ImportOutcome {
        import_daily_list(
            &self.db,
            day(date),
            papers,
            daily_list::Source::File,
            Utc::now(),
        )
        .await
        .unwrap()
    }
}

pub fn fixture(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/upstream")
        .join(rel)
}

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[allow(dead_code)]
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A synthetic paper `2601.<n>` listed on `date` at noon.
pub fn paper(n: u32, date: &str, upvotes: i32) -> DailyPaper {
    let listed = day(date).and_hms_opt(12, 0, 0).unwrap().and_utc();
    DailyPaper {
        arxiv_id: ArxivId::parse(&format!("2601.{n:05}")).unwrap(),
        title: format!("Synthetic paper number {n}"),
        abstract_text: format!("An abstract about topic {n}."),
        authors: vec![author(&format!("Author {n}")), author("Shared Author")],
        published_at: Some(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::hours(n.into()),
        ),
        submitted_at: Some(listed),
        upvotes,
        num_comments: (n % 7) as i32,
        github_repo: (n.is_multiple_of(2)).then(|| format!("https://github.com/example/repo{n}")),
        github_repo_added_by: None,
        github_stars: (n.is_multiple_of(2)).then_some((n * 3) as i32),
        project_page: None,
        ai_summary: None,
        ai_summary_model: None,
        ai_keywords: vec![],
        thumbnail_url: None,
        media_urls: vec![],
        discussion_id: None,
        withdrawn_at: None,
        is_author_participating: false,
        num_linked_models: None,
        num_linked_datasets: None,
        num_linked_spaces: None,
        organization: (n.is_multiple_of(3)).then(|| OrganizationRef {
            name: "synthetic-lab".into(),
            hf_id: None,
            fullname: Some("Synthetic Lab".into()),
            avatar_url: None,
        }),
        submitted_by: None,
    }
}

pub fn author(name: &str) -> PaperAuthorEntry {
    PaperAuthorEntry {
        name: AuthorName::parse(name).unwrap(),
        hidden: false,
        hf_author_id: None,
        user: None,
        claim_status: None,
        status_changed_at: None,
    }
}

/// The arXiv ids of `papers.nodes` (or `edges[].node`) in a response fragment.
pub fn ids(conn: &Value) -> Vec<String> {
    let nodes = if conn["nodes"].is_array() {
        conn["nodes"].as_array().unwrap().clone()
    } else {
        conn["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect()
    };
    nodes
        .iter()
        .map(|n| n["arxivId"].as_str().unwrap().to_string())
        .collect()
}

/// `GET {base}/graphql?query=q`: the `x-papergraph-cache` header (`hit` or `miss`) and the body.
pub async fn cached_get(client: &reqwest::Client, base: &str, q: &str) -> (String, Value) {
    let r = client
        .get(format!("{base}/graphql"))
        .query(&[("query", q)])
        .send()
        .await
        .unwrap();
    let cache = r.headers()["x-papergraph-cache"]
        .to_str()
        .unwrap()
        .to_string();
    (cache, r.json::<Value>().await.unwrap())
}
