//! Everything that brings upstream data in: parsers of the upstream formats, and file imports
//! over the shared write path (`repo::import`). The HTTP client and scheduler come with the sync
//! worker.
pub mod files;
pub mod parse;
