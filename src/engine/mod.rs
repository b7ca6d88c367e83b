//! The engine: a `World` holds one path's state; `World::run_path` runs the
//! stages of docs/model.md §1 for every step and leaves rows in a `PathRecord`.
//! A `World` is reused from path to path (its buffers are reset, not
//! reallocated), and nothing in the per-position loops allocates.

pub mod index;
mod world;

pub use world::{CandidateSearch, CascadeOutcome, StageNanos, SupplyState, World};
