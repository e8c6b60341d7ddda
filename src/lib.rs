//! papergraph: a GraphQL API over the Hugging Face Daily Papers corpus.
//!
//! `domain` holds parsed values, `entities` the tables, `repo` every query, `sync` the way data
//! comes in, `graphql` the schema, `http` the routes, and `app` wires them together
//! (docs/architecture.md; `tests/architecture.rs` keeps the layers).
pub mod alloc;
pub mod app;
pub mod config;
pub mod digest;
pub mod domain;
pub mod entities;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod live;
pub mod metrics;
pub mod repo;
pub mod search;
pub mod sync;
pub mod window;
