//! `report.html`: one self-contained page per run folder and per sweep
//! folder, for people who read rather than query: the tables of
//! `summary.json` or `runs.parquet` with their intervals, every chart
//! inline as SVG, the scenario with its sources, and provenance. The page
//! loads nothing (no scripts, fonts or images from elsewhere).

pub mod html;
pub mod run;
pub mod sweep;

pub use run::run_report;
pub use sweep::sweep_report;
