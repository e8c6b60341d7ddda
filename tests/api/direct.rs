//! The PostgreSQL connections of leases (`repo::direct`): reused without a test round trip, and
//! never put back in the middle of a statement or after an error.
use std::time::Duration;

use papergraph::repo::direct::Direct;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::helpers::{TestApp, spawn_app};

fn skipped(name: &str) {
    // Straight to stderr: the test harness captures eprintln!.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "\n!!! SKIPPED {name}: it needs PostgreSQL; set TEST_DATABASE_URL (e.g. \
         postgres://postgres@127.0.0.1:5432/test)\n"
    );
}

async fn backend_pid(c: &impl ConnectionTrait) -> Result<i32, sea_orm::DbErr> {
    let row = c
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_backend_pid()",
        ))
        .await?
        .expect("a row");
    row.try_get_by_index(0)
}

async fn postgres_app(name: &str) -> Option<TestApp> {
    let app = spawn_app().await;
    if app.db.get_database_backend() != DbBackend::Postgres {
        skipped(name);
        return None;
    }
    Some(app)
}

#[tokio::test]
async fn a_lease_reuses_its_connection_and_drops_one_left_mid_statement_or_after_an_error() {
    let Some(app) = postgres_app(
        "a_lease_reuses_its_connection_and_drops_one_left_mid_statement_or_after_an_error",
    )
    .await
    else {
        return;
    };
    let direct = Direct::new(&app.db, None).expect("leases on PostgreSQL");
    let lease = direct.lease().await.unwrap().expect("a free lease");
    let first = backend_pid(&lease).await.unwrap();
    // Statements of one lease run on one connection.
    assert_eq!(backend_pid(&lease).await.unwrap(), first);
    drop(lease);
    assert_eq!(direct.idle_connections(), 1);
    let lease = direct.lease().await.unwrap().unwrap();
    assert_eq!(backend_pid(&lease).await.unwrap(), first, "reused");
    // Dropped in the middle of a statement: the connection is not put back.
    let slow = lease.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        "SELECT pg_sleep(5)",
    ));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), slow)
            .await
            .is_err()
    );
    drop(lease);
    assert_eq!(
        direct.idle_connections(),
        0,
        "a connection mid-statement was put back"
    );
    // A failed statement: the connection is not put back either, and the lease says why.
    let lease = direct.lease().await.unwrap().unwrap();
    let second = backend_pid(&lease).await.unwrap();
    assert_ne!(second, first);
    let err = lease
        .execute_unprepared("SELECT no_such_column FROM papers")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no_such_column"), "{err}");
    assert!(!lease.lost_idle_connection());
    assert!(
        backend_pid(&lease).await.is_err(),
        "the connection is closed"
    );
    drop(lease);
    assert_eq!(direct.idle_connections(), 0);
    // Leases are bounded by the pool's size; beyond it the caller reads through the pool.
    let max = app
        .db
        .get_postgres_connection_pool()
        .options()
        .get_max_connections() as usize;
    let mut held = Vec::new();
    for _ in 0..max {
        held.push(direct.lease().await.unwrap().expect("within the bound"));
    }
    assert!(direct.lease().await.unwrap().is_none(), "past the bound");
    drop(held);
    assert_eq!(direct.idle_connections(), max);
}

#[tokio::test]
async fn a_connection_closed_while_idle_is_reported_lost() {
    let Some(app) = postgres_app("a_connection_closed_while_idle_is_reported_lost").await else {
        return;
    };
    let direct = Direct::new(&app.db, None).unwrap();
    let lease = direct.lease().await.unwrap().unwrap();
    let pid = backend_pid(&lease).await.unwrap();
    drop(lease);
    app.db
        .execute_unprepared(&format!("SELECT pg_terminate_backend({pid})"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let lease = direct.lease().await.unwrap().unwrap();
    assert!(backend_pid(&lease).await.is_err());
    assert!(lease.lost_idle_connection());
    drop(lease);
    assert_eq!(direct.idle_connections(), 0);
}
