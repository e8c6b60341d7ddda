//! Database migrations for papergraph. Backend-neutral DDL (SQLite and PostgreSQL); anything
//! backend-specific is written per backend inside the migration that needs it.
pub use sea_orm_migration::prelude::*;

mod m20261126_000001_init;
mod m20261126_000002_discovery;
mod m20261126_000003_search_changes;
mod m20261126_000004_digests;
mod m20261126_000005_digest_delivery;
mod m20261126_000006_paper_events;
mod m20261206_000007_day_rechecks;
mod m20261206_000008_updated_at_index;
mod m20261206_000009_paper_details;
mod m20261206_000010_paper_authors_cover;

/// Applies every migration in order; `papergraph migrate` and `serve` both run it.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_init::Migration),
            Box::new(m20261126_000002_discovery::Migration),
            Box::new(m20261126_000003_search_changes::Migration),
            Box::new(m20261126_000004_digests::Migration),
            Box::new(m20261126_000005_digest_delivery::Migration),
            Box::new(m20261126_000006_paper_events::Migration),
            Box::new(m20261206_000007_day_rechecks::Migration),
            Box::new(m20261206_000008_updated_at_index::Migration),
            Box::new(m20261206_000009_paper_details::Migration),
            Box::new(m20261206_000010_paper_authors_cover::Migration),
        ]
    }
}
