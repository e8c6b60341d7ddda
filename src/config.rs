//! Typed settings from command-line flags, each with a `PAPERGRAPH_*` environment fallback.
//! Secrets (database passwords) are never logged: see [`redact_url`].
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// papergraph: a GraphQL API over the Hugging Face Daily Papers corpus.
#[derive(Debug, Parser)]
#[command(name = "papergraph", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbOpts,
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `papergraph=debug,sqlx=warn`.
    #[arg(long, env = "PAPERGRAPH_LOG", default_value = "info", global = true)]
    pub log: String,
    /// Log lines as `text` (for people) or `json` (one object per line, for log collectors).
    #[arg(
        long,
        env = "PAPERGRAPH_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, which runs when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeOpts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GraphQL API, GraphiQL and health checks (the default).
    Serve(Box<ServeOpts>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Import daily-list JSON files (the `/api/daily_papers` format) into the database.
    Import(ImportOpts),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Fetch daily lists from Hugging Face into the database (default: today and yesterday).
    Sync(SyncOpts),
    /// Email digests: `digest send [--dry-run]`.
    #[command(subcommand)]
    Digest(DigestCommand),
}

/// Where daily lists are read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// The JSON API only.
    Api,
    /// The HTML pages only.
    Html,
    /// The JSON API, falling back to the HTML page when the API answers with something that is
    /// not a list of papers (or 404).
    Auto,
}

/// How to reach Hugging Face.
#[derive(Debug, Clone, Args)]
pub struct UpstreamOpts {
    /// Base URL of the upstream (tests point it at a local server).
    #[arg(
        long,
        env = "PAPERGRAPH_UPSTREAM_URL",
        default_value = "https://huggingface.co"
    )]
    pub upstream_url: String,
    /// Hugging Face token (raises the rate limits); never logged.
    #[arg(long, env = "PAPERGRAPH_UPSTREAM_TOKEN", hide_env_values = true)]
    pub upstream_token: Option<String>,
    /// Upstream requests in flight at most.
    #[arg(long, env = "PAPERGRAPH_SYNC_CONCURRENCY", default_value_t = 4)]
    pub sync_concurrency: usize,
    /// Upstream requests per 5-minute window (the Hub allows 500 anonymously).
    #[arg(long, env = "PAPERGRAPH_UPSTREAM_BUDGET", default_value_t = 450)]
    pub upstream_budget: u32,
    /// Where daily lists come from: the JSON API, the HTML pages, or the API with the pages as
    /// fallback.
    #[arg(
        long,
        env = "PAPERGRAPH_SYNC_SOURCE",
        value_enum,
        default_value = "auto"
    )]
    pub sync_source: Source,
    /// Retries of a failed request (408, 429, 5xx, timeouts) before the day counts as failed.
    #[arg(long, env = "PAPERGRAPH_UPSTREAM_RETRIES", default_value_t = 4)]
    pub upstream_retries: u32,
    /// Days before a paper's Hub details (linked repos, comments) are fetched again when
    /// nothing about it moved (0: whenever asked).
    #[arg(long, env = "PAPERGRAPH_DETAIL_REFRESH_DAYS", default_value_t = 7)]
    pub detail_refresh_days: u32,
}

impl Default for UpstreamOpts {
    fn default() -> Self {
        Self {
            upstream_url: "https://huggingface.co".into(),
            upstream_token: None,
            sync_concurrency: 4,
            upstream_budget: 450,
            upstream_retries: 4,
            sync_source: Source::Auto,
            detail_refresh_days: 7,
        }
    }
}

/// Which days `papergraph sync` fetches.
#[derive(Debug, Clone, Args)]
pub struct SyncOpts {
    #[command(flatten)]
    pub upstream: UpstreamOpts,
    /// One day, YYYY-MM-DD.
    #[arg(long, conflicts_with_all = ["from", "days"])]
    pub date: Option<chrono::NaiveDate>,
    /// First day of a backfill (with --to, default today).
    #[arg(long, conflicts_with = "days")]
    pub from: Option<chrono::NaiveDate>,
    /// Last day of a backfill.
    #[arg(long, requires = "from")]
    pub to: Option<chrono::NaiveDate>,
    /// The last N days, ending today (UTC).
    #[arg(long)]
    pub days: Option<u32>,
    /// Also fetch the Hub details (linked repos, comments) of the days' papers that are due.
    #[arg(long)]
    pub details: bool,
}

impl SyncOpts {
    /// The days to sync, given today's UTC date.
    pub fn dates(&self, today: chrono::NaiveDate) -> Result<Vec<chrono::NaiveDate>, String> {
        let span = |from: chrono::NaiveDate, to: chrono::NaiveDate| {
            if from > to {
                return Err(format!("--from {from} is after --to {to}"));
            }
            Ok(from.iter_days().take_while(|d| *d <= to).collect())
        };
        match (self.date, self.from, self.days) {
            (Some(d), _, _) => Ok(vec![d]),
            (_, Some(from), _) => span(from, self.to.unwrap_or(today)),
            (_, _, Some(0)) => Err("--days must be at least 1".into()),
            (_, _, Some(n)) => span(today - chrono::Duration::days(i64::from(n) - 1), today),
            _ => span(today - chrono::Duration::days(1), today),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct DbOpts {
    /// Database URL: `sqlite://FILE?mode=rwc` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "PAPERGRAPH_DATABASE_URL",
        default_value = "sqlite://papergraph.db?mode=rwc",
        global = true
    )]
    pub database_url: String,
    /// PostgreSQL only: the schema to use (created if missing); default `public`.
    #[arg(long, env = "PAPERGRAPH_DATABASE_SCHEMA", global = true)]
    pub database_schema: Option<String>,
    /// Maximum database connections in the pool; 0 (the default) picks it: 8 on PostgreSQL, and
    /// on SQLite two per CPU core, from 2 to 8 (each SQLite connection is a thread with its own
    /// page cache, and reads use the CPU, not the network).
    #[arg(
        long,
        env = "PAPERGRAPH_DB_MAX_CONNECTIONS",
        default_value_t = 0,
        global = true
    )]
    pub db_max_connections: u32,
    /// PostgreSQL only: seconds after which the database cancels a statement (0: never).
    /// `import` and `sync` run without one.
    #[arg(
        long,
        env = "PAPERGRAPH_STATEMENT_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub statement_timeout_secs: u64,
    /// SQLite only: MiB of the database file reads map into memory (0: off). Faster reads, but
    /// every connection's mapping counts in the process's RSS.
    #[arg(
        long,
        env = "PAPERGRAPH_SQLITE_MMAP_MB",
        default_value_t = 0,
        global = true
    )]
    pub sqlite_mmap_mb: u64,
    /// SQLite only: KiB of page cache per pooled connection (default: 512 for `serve`, whose
    /// pooled connections each keep one, and 16 MiB for the bulk writers `import` and `sync`).
    /// The operating system's file cache holds the database's pages as well.
    #[arg(
        long = "sqlite-cache-kib",
        env = "PAPERGRAPH_SQLITE_CACHE_KIB",
        global = true
    )]
    pub sqlite_page_cache_kib: Option<u32>,
}

impl DbOpts {
    /// The pool's size: `db_max_connections`, or when 0 the choice it documents.
    pub fn max_connections(&self) -> u32 {
        if self.db_max_connections > 0 {
            return self.db_max_connections;
        }
        if self.database_url.starts_with("sqlite:") {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
            (2 * cores).clamp(2, 8)
        } else {
            8
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeOpts {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "PAPERGRAPH_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    /// Load the bundled sample daily lists before serving, so there is data to explore offline.
    #[arg(long, env = "PAPERGRAPH_DEMO", default_value_t = false)]
    pub demo: bool,
    /// Serve the GraphiQL playground on `GET /graphql` from a browser.
    #[arg(long, env = "PAPERGRAPH_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,
    /// Memory for cached query responses, in MiB (0 turns the cache off). Entries are dropped
    /// the moment a write commits.
    #[arg(long, env = "PAPERGRAPH_RESPONSE_CACHE_MB", default_value_t = 64)]
    pub response_cache_mb: usize,
    /// Run the sync worker inside the server (off with --demo).
    #[arg(long, env = "PAPERGRAPH_SYNC", default_value_t = true, action = clap::ArgAction::Set)]
    pub sync: bool,
    /// Seconds between sync passes.
    #[arg(long, env = "PAPERGRAPH_SYNC_INTERVAL_SECS", default_value_t = 900)]
    pub sync_interval_secs: u64,
    /// Days backfilled when the database is empty.
    #[arg(long, env = "PAPERGRAPH_BACKFILL_DAYS", default_value_t = 30)]
    pub backfill_days: u32,
    /// Work the detail queue (papers' linked repos and comments) between sync passes, inside
    /// the request budget the daily lists leave.
    #[arg(long, env = "PAPERGRAPH_DETAILS", default_value_t = true, action = clap::ArgAction::Set)]
    pub details: bool,
    /// Recent days re-fetched every pass to refresh upvotes, comments and stars.
    #[arg(long, env = "PAPERGRAPH_REFRESH_DAYS", default_value_t = 3)]
    pub refresh_days: u32,
    /// Answer introspection queries (GraphiQL and code generators need them); off for a locked
    /// down production endpoint.
    #[arg(long, env = "PAPERGRAPH_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,
    /// Origins allowed to call the API from browsers (comma-separated), `*` for any (no
    /// credentials), empty for none.
    #[arg(
        long,
        env = "PAPERGRAPH_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = "*"
    )]
    pub cors_origins: Vec<String>,
    /// Token for admin mutations (`requestSync`), sent as `Authorization: Bearer <token>`;
    /// unset: admin mutations are off. Never logged.
    #[arg(long, env = "PAPERGRAPH_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Seconds a GraphQL request may run before it is answered `REQUEST_TIMEOUT` (503).
    #[arg(long, env = "PAPERGRAPH_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// `Cache-Control: public, max-age=N` on the answers of GraphQL queries sent by GET (they
    /// carry an `ETag` either way), so a CDN or a browser may keep them for N seconds; 0 sends
    /// no such header.
    #[arg(long, env = "PAPERGRAPH_HTTP_CACHE_MAX_AGE_SECS", default_value_t = 0)]
    pub http_cache_max_age_secs: u64,
    /// Query-cost budget per client per window (see `rateLimit`); 0 turns rate limiting off.
    #[arg(long, env = "PAPERGRAPH_RATE_LIMIT_COST", default_value_t = 500_000)]
    pub rate_limit_cost: u64,
    /// Length of a rate-limit window in seconds.
    #[arg(long, env = "PAPERGRAPH_RATE_LIMIT_WINDOW_SECS", default_value_t = 60)]
    pub rate_limit_window_secs: u64,
    /// API keys (comma-separated) that clients send as `X-API-Key` for a budget of their own.
    #[arg(
        long,
        env = "PAPERGRAPH_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,
    /// Query-cost budget per API key per window.
    #[arg(long, env = "PAPERGRAPH_API_KEY_COST", default_value_t = 5_000_000)]
    pub api_key_cost: u64,
    /// Proxies (comma-separated addresses) whose `X-Forwarded-For` names the client.
    #[arg(long, env = "PAPERGRAPH_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Seconds a shutdown (SIGTERM) waits for in-flight requests, the sync worker and digest
    /// sends before the process exits anyway.
    #[arg(long, env = "PAPERGRAPH_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,
    #[command(flatten)]
    pub mail: MailOpts,
    #[command(flatten)]
    pub digest: DigestScheduleOpts,
    #[command(flatten)]
    pub upstream: UpstreamOpts,
}

impl Default for ServeOpts {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            demo: false,
            graphiql: true,
            response_cache_mb: 64,
            sync: true,
            sync_interval_secs: 900,
            backfill_days: 30,
            refresh_days: 3,
            details: true,
            shutdown_grace_secs: 20,
            introspection: true,
            cors_origins: vec!["*".into()],
            request_timeout_secs: 30,
            http_cache_max_age_secs: 0,
            admin_token: None,
            rate_limit_cost: 500_000,
            rate_limit_window_secs: 60,
            api_keys: Vec::new(),
            api_key_cost: 5_000_000,
            trusted_proxies: Vec::new(),
            mail: MailOpts::default(),
            digest: DigestScheduleOpts::default(),
            upstream: UpstreamOpts::default(),
        }
    }
}

/// Mail: where digests and confirmation links go out, and what their links point to.
#[derive(Debug, Clone, Args)]
pub struct MailOpts {
    /// SMTP relay for digest mail: `smtp://host:port` (plain, local relay),
    /// `smtp://user:pass@host:587?tls=required` or `smtps://user:pass@host`. Unset: digests off.
    #[arg(long, env = "PAPERGRAPH_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of digest mail.
    #[arg(
        long,
        env = "PAPERGRAPH_MAIL_FROM",
        default_value = "papergraph <digest@localhost>"
    )]
    pub mail_from: String,
    /// The address people reach this server at, for links in mail (default: http://BIND).
    #[arg(long, env = "PAPERGRAPH_PUBLIC_URL")]
    pub public_url: Option<String>,
}

impl Default for MailOpts {
    fn default() -> Self {
        Self {
            smtp_url: None,
            mail_from: "papergraph <digest@localhost>".into(),
            public_url: None,
        }
    }
}

/// When digests go out (UTC).
#[derive(Debug, Clone, Args)]
pub struct DigestScheduleOpts {
    /// Hour of the day (UTC, 0–23) daily and weekly digests are sent.
    #[arg(long, env = "PAPERGRAPH_DIGEST_HOUR", default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..24))]
    pub digest_hour: u32,
    /// Day weekly digests are sent (mon, tue, … or monday, …).
    #[arg(long, env = "PAPERGRAPH_DIGEST_WEEKDAY", default_value = "mon")]
    pub digest_weekday: chrono::Weekday,
    /// Seconds between the scheduler's checks for due digests (and retries).
    #[arg(long, env = "PAPERGRAPH_DIGEST_CHECK_SECS", default_value_t = 60)]
    pub digest_check_secs: u64,
}

impl Default for DigestScheduleOpts {
    fn default() -> Self {
        Self {
            digest_hour: 7,
            digest_weekday: chrono::Weekday::Mon,
            digest_check_secs: 60,
        }
    }
}

/// `papergraph digest …`
#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Build and send every digest due now (what the scheduler in `serve` does each minute).
    Send(DigestSendOpts),
}

#[derive(Debug, Clone, Args)]
pub struct DigestSendOpts {
    /// Print what would be sent; send, claim and record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Act as if it were this time (RFC 3339, e.g. 2026-11-26T08:00:00Z); default now.
    #[arg(long)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    #[command(flatten)]
    pub mail: MailOpts,
    #[command(flatten)]
    pub digest: DigestScheduleOpts,
}

#[derive(Debug, Clone, Args)]
pub struct ImportOpts {
    /// Files in the `/api/daily_papers` JSON format.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The Daily Papers day the files list. Default: the `date-YYYY-MM-DD` in each file name, else
    /// the day each item entered Daily Papers.
    #[arg(long, env = "PAPERGRAPH_IMPORT_DATE")]
    pub date: Option<chrono::NaiveDate>,
}

/// The URL with any password replaced by `***`, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

/// Who gets which budget of query cost.
#[derive(Clone, Debug)]
pub struct RateLimitOptions {
    /// Cost per client per window.
    pub budget: u64,
    pub window: std::time::Duration,
    /// API keys (sent as `X-API-Key`) whose holders get `key_budget` each; other keys count as
    /// no key.
    pub api_keys: Vec<String>,
    pub key_budget: u64,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn the_pool_size_is_the_one_given_or_picked_by_backend() {
        let opts = |url: &str, n: u32| super::DbOpts {
            database_url: url.into(),
            database_schema: None,
            db_max_connections: n,
            statement_timeout_secs: 30,
            sqlite_mmap_mb: 0,
            sqlite_page_cache_kib: None,
        };
        assert_eq!(opts("postgres://u@h/db", 0).max_connections(), 8);
        assert_eq!(opts("postgres://u@h/db", 3).max_connections(), 3);
        assert_eq!(opts("sqlite://x.db?mode=rwc", 12).max_connections(), 12);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        let auto = opts("sqlite://x.db?mode=rwc", 0).max_connections();
        assert_eq!(auto, (2 * cores).clamp(2, 8));
        assert!((2..=8).contains(&auto));
    }
}
