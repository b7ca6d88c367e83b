//! Parameter sweeps (docs/sweeps.md): a sweep file names a base scenario and
//! axes over its fields; runs share their path seeds (common random
//! numbers) and are written as one dataset (a folder per table and run), in units that
//! can be sharded across processes or Slurm array tasks and resumed.

pub mod charts;
mod design;
pub mod exec;
pub(crate) mod files;
pub(crate) mod merge;
pub mod raw;
pub mod recommend;
mod slurm;
pub mod spec;

pub use exec::{SweepOptions, SweepReport, merge, run_sweep};
pub use spec::Sweep;
