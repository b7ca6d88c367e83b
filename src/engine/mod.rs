//! The engine: a `World` holds one path's state (the shared market and one
//! value per mechanism); `World::run_path` runs the phases of
//! docs/model.md §1 for every step and leaves rows in a `PathRecord`. A
//! `World` is reused from path to path (its buffers are reset, not
//! reallocated), and nothing in the per-position loops allocates.

pub mod phase;
mod world;

pub use crate::mechanism::lending::{CandidateSearch, SupplyState};
pub use phase::{Stage, StageNanos};
pub use world::{CascadeOutcome, World};
