//! Airlock's pages: Askama templates and the view models they render.
//!
//! Not built yet (issue 7). The crate exists so the workspace has its final shape; it exports
//! nothing until there is something real to export.
