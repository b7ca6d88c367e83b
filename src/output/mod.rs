//! Output: per-path row buffers (`recorder`), the Parquet tables, charts,
//! the manifest, and the run folder that is renamed into place when complete.

pub mod charts;
pub mod manifest;
pub mod parquet;
pub mod recorder;
pub mod run_folder;
pub mod spill;
pub mod summary;
pub mod table;

pub use recorder::{PathRecord, PathSummary, PerpOutcome};
