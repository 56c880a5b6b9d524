//! The offline appliance: import pipeline, policy, log witness, SQLite store, audit chain, HTTP.
//!
//! Not built yet (issue 6). The crate exists so the workspace has its final shape and its
//! dependency arrows are fixed; it exports nothing until there is something real to export.
