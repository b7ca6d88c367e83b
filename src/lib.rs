//! # contagion
//!
//! A Monte Carlo, agent-based simulator of liquidation cascades in
//! decentralised finance. The reference semantics are in `docs/model.md`;
//! each module cites the section it implements.
//!
//! How the types relate (data moves one way):
//!
//! ```text
//! TOML ─▶ scenario::RawScenario ─▶ scenario::Scenario (validated, with its Book)
//!      ─▶ engine::World::run_path  (one per path, rayon over paths)
//!      ─▶ output::PathRecord       (row buffers + a PathSummary)
//!      ─▶ output::parquet / charts / summary.json, via run::run
//! ```
//!
//! The engine never touches files; the output layer never touches the engine.

pub mod derivatives;
pub mod engine;
pub mod error;
pub mod graph;
pub mod market;
pub mod mechanism;
pub mod montecarlo;
pub mod output;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sweep;

pub use error::{EngineError, OutputError, RunError, ScenarioError};
pub use run::{RunOptions, RunReport, Summary, run};
pub use scenario::{Overrides, Scenario};
