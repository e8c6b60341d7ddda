//! Everything that brings upstream data in: parsers of the upstream formats, and file imports
//! over the shared write path (`repo::import`), the upstream client and the worker that syncs days.
pub mod details;
pub mod files;
pub mod html;
pub mod hub;
pub mod leader;
pub mod parse;
pub mod scheduler;
pub mod upstream;
pub mod worker;
