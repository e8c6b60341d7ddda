//! The integration suite: one binary, one module per area. Every test starts the real app on
//! port 0 over a fresh database: a SQLite file by default, or a fresh PostgreSQL schema when
//! `TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod browser;
mod compiled;
mod delivery;
mod details;
mod digest;
mod direct;
mod discovery;
mod facets;
mod feeds;
mod helpers;
mod http;
mod import;
mod limits;
mod live;
mod nplus1;
mod observability;
mod organizations;
mod pagination;
mod papers;
mod polling;
mod recommend;
mod replicas;
mod resilience;
mod schema;
mod search;
mod smtp;
mod suggest;
mod sync;
mod upstream;
