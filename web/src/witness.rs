//! `/witness`: per witnessed log its size, root hash, last update and history.

use askama::Template;

use crate::layout::Chrome;
use crate::text::Text;

/// One accepted checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointLine {
    /// Tree size.
    pub size: u64,
    /// Root hash (hex).
    pub root_hash: String,
    /// When it was accepted.
    pub witnessed_at: String,
    /// The import that brought it.
    pub import_id: Option<i64>,
}

/// One log.
#[derive(Debug, Clone)]
pub struct WitnessedLog {
    /// The log's origin.
    pub origin: Text,
    /// The head: the largest checkpoint accepted.
    pub head: CheckpointLine,
    /// The head's signed note.
    pub note: Text,
    /// Checkpoints accepted, newest first (the head included).
    pub history: Vec<CheckpointLine>,
}

/// The witness page.
#[derive(Debug, Template)]
#[template(path = "witness.html")]
pub struct WitnessPage {
    /// The frame.
    pub chrome: Chrome,
    /// Every log.
    pub logs: Vec<WitnessedLog>,
    /// How many history rows each log shows at most.
    pub history_limit: i64,
}
