//! The `papergraph` binary: `serve` (default) | `migrate` | `import` | `schema`.
use std::process::ExitCode;

use clap::Parser;
use papergraph::app;
use papergraph::config::{Cli, Command, DbOpts, DigestCommand, DigestSendOpts, SyncOpts};
use papergraph::entities::sync_run::Kind;
use tracing_subscriber::EnvFilter;

// glibc malloc showed up as ~20 % of the server's CPU under load (many small, short-lived
// allocations per GraphQL response); mimalloc handles that pattern far better.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info"));
    match cli.log_format {
        papergraph::config::LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
        papergraph::config::LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => app::run_server(cli.db, cli.serve).await,
        Some(Command::Serve(opts)) => app::run_server(cli.db, *opts).await,
        Some(Command::Migrate) => {
            let (db, _) = app::connect(&cli.db).await?;
            app::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Some(Command::Import(opts)) => {
            let (db, _) = app::connect(&bulk_writer(cli.db)).await?;
            app::migrate(&db).await?;
            let outcomes =
                papergraph::sync::files::import_files(&db, &opts.files, opts.date).await?;
            if outcomes.iter().any(|o| !o.unchanged) {
                papergraph::repo::checkpoint(&db).await;
            }
            for o in &outcomes {
                let day = o.date.map(|d| d.to_string()).unwrap_or_default();
                if o.unchanged {
                    println!("{day}: {} papers, unchanged", o.papers);
                } else {
                    println!(
                        "{day}: {} papers ({} new, {} with new figures)",
                        o.papers,
                        o.added.len(),
                        o.updated.len()
                    );
                }
            }
            Ok(())
        }
        Some(Command::Sync(opts)) => sync(cli.db, opts).await,
        Some(Command::Digest(DigestCommand::Send(opts))) => digest_send(cli.db, opts).await,
        Some(Command::Schema) => {
            print!("{}", papergraph::graphql::sdl());
            Ok(())
        }
    }
}

async fn sync(db_opts: DbOpts, opts: SyncOpts) -> anyhow::Result<()> {
    use std::sync::Arc;
    let dates = opts
        .dates(chrono::Utc::now().date_naive())
        .map_err(|e| anyhow::anyhow!(e))?;
    let (db, _) = app::connect(&bulk_writer(db_opts)).await?;
    app::migrate(&db).await?;
    let upstream = Arc::new(papergraph::sync::upstream::Upstream::new(
        papergraph::sync::upstream::UpstreamConfig::from(&opts.upstream),
    )?);
    let progress = indicatif::ProgressBar::new(dates.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} days · {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let kind = if dates.len() > 2 {
        Kind::Backfill
    } else {
        Kind::Sync
    };
    let report =
        papergraph::sync::worker::sync_days(&db, upstream.clone(), dates, kind, &progress).await?;
    if report.papers_added + report.papers_updated > 0 {
        papergraph::repo::checkpoint(&db).await;
    }
    println!(
        "synced {} days: {} papers ({} new, {} with new figures), {} unchanged days, {} from visible cards only, {} failed; {} requests, {} rate-limit waits",
        report.days_stored() + report.days_failed,
        report.papers_seen,
        report.papers_added,
        report.papers_updated,
        report.days_unchanged,
        report.days_partial,
        report.days_failed,
        upstream
            .stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        upstream
            .stats
            .rate_limit_waits
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    if opts.details && !report.unreachable {
        details(&db, &upstream, &opts).await?;
    }
    if report.unreachable {
        anyhow::bail!(
            "the upstream at {} is unreachable ({}); check PAPERGRAPH_UPSTREAM_URL and the network",
            opts.upstream.upstream_url,
            report
                .failures
                .first()
                .map(|f| f.1.as_str())
                .unwrap_or("no answer")
        );
    }
    if report.days_failed > 0 {
        for (d, reason) in &report.failures {
            eprintln!("failed {d}: {reason}");
        }
        anyhow::bail!(
            "{} days failed; they are recorded and will be retried by the next sync",
            report.days_failed
        );
    }
    Ok(())
}

/// `sync --details`: the Hub details of the synced days' papers that are due, after their lists.
async fn details(
    db: &sea_orm::DatabaseConnection,
    upstream: &std::sync::Arc<papergraph::sync::upstream::Upstream>,
    opts: &SyncOpts,
) -> anyhow::Result<()> {
    use papergraph::sync::details::{self, DetailPass};
    let pass = DetailPass {
        refresh: papergraph::repo::details::Refresh::days(opts.upstream.detail_refresh_days),
        days: Some(
            opts.dates(chrono::Utc::now().date_naive())
                .map_err(|e| anyhow::anyhow!(e))?,
        ),
        keep: 0,
        until: None,
    };
    let due = details::due_count(db, &pass).await?;
    let progress = indicatif::ProgressBar::new(due.max(0) as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} paper details · {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let stop = papergraph::sync::worker::Stop::never();
    let started = std::time::Instant::now();
    let report = details::run(db, upstream, &pass, &stop, &|| false, &progress).await?;
    progress.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "paper details: {} stored, {} not indexed (404), {} failed (retried later) in {secs:.1} s ({:.0} papers/s)",
        report.fetched,
        report.not_indexed,
        report.failed,
        report.papers() as f64 / secs.max(0.001)
    );
    if report.unreachable {
        anyhow::bail!(
            "the upstream at {} is unreachable for paper details; check PAPERGRAPH_UPSTREAM_URL and the network",
            opts.upstream.upstream_url
        );
    }
    Ok(())
}

/// `papergraph digest send [--dry-run]`: one pass of the scheduler, now (or `--at`).
async fn digest_send(db_opts: DbOpts, opts: DigestSendOpts) -> anyhow::Result<()> {
    use papergraph::digest::delivery::{self, Sender};
    let (db, _) = app::connect(&db_opts).await?;
    app::migrate(&db).await?;
    let public = opts
        .mail
        .public_url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:8000".into());
    let service = match (&opts.mail.smtp_url, opts.dry_run) {
        (Some(url), _) => Some(
            papergraph::digest::service::DigestService::new(url, &opts.mail.mail_from, &public)
                .map_err(|e| anyhow::anyhow!(e))?,
        ),
        (None, true) => None,
        (None, false) => anyhow::bail!(
            "sending digests needs PAPERGRAPH_SMTP_URL (or --smtp-url); use --dry-run to see what would be sent"
        ),
    };
    let engine = papergraph::search::SearchEngine::new(db.clone());
    engine.current().await?;
    let sender = Sender {
        mailer: service.as_ref().map(|s| &s.mailer),
        public_url: service.as_ref().map_or(public.as_str(), |s| &s.public_url),
    };
    let now = opts.at.unwrap_or_else(chrono::Utc::now);
    let schedule = papergraph::digest::delivery::Schedule::from(&opts.digest);
    let report = delivery::run_due(&db, &engine, sender, &schedule, now, opts.dry_run).await?;
    for p in &report.planned {
        if opts.dry_run {
            println!(
                "=== would send to {} ({}, subscription {}, {} papers)",
                p.mail.to, p.period, p.subscription_id, p.papers
            );
            println!("Subject: {}\n\n{}", p.mail.subject, p.mail.text);
        } else {
            println!("sent to {} ({}, {} papers)", p.mail.to, p.period, p.papers);
        }
    }
    for w in &report.waiting {
        println!("{w}: waiting for the sync to store its last day");
    }
    println!(
        "{} {}, {} empty (not sent), {} to retry, {} failed, {} interrupted",
        report.planned.len(),
        if opts.dry_run {
            "would be sent"
        } else {
            "sent"
        },
        report.empty,
        report.retrying,
        report.failed,
        report.interrupted
    );
    if report.failed > 0 || report.retrying > 0 {
        anyhow::bail!(
            "some digests were not delivered; the log says why, and `serve` retries them"
        );
    }
    Ok(())
}

/// Connection settings for commands that write in bulk: a few connections with a 16 MiB SQLite
/// page cache (backfills slow down as indexes outgrow SQLite's default 2 MiB; `serve` keeps the
/// default so that its many pooled connections stay small).
fn bulk_writer(mut opts: DbOpts) -> DbOpts {
    opts.sqlite_page_cache_kib.get_or_insert(16 * 1024);
    opts.statement_timeout_secs = 0;
    opts.db_max_connections = opts.max_connections().min(4);
    opts
}
