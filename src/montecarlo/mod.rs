//! Monte Carlo: per-path seeding, the parallel run over paths, and the risk
//! metrics over paths (MODEL.md §6, §7).

pub mod metrics;
pub mod seed;

use rayon::prelude::*;

use crate::engine::World;
use crate::error::{EngineError, RunError};
use crate::output::{PathRecord, PathSummary};
use crate::scenario::Scenario;

/// Paths simulated together before their rows are handed to the sink. Bounds
/// memory: only one block's time series are ever held at once.
pub const BLOCK_PATHS: u32 = 64;

/// Run every path of `sc` in parallel on the current rayon pool. Blocks of
/// paths are handed to `sink` in path order as they complete; `progress` is
/// called with the number of paths just finished. Returns the summary row of
/// every path, in path order.
pub fn run_paths<S, P>(
    sc: &Scenario,
    mut sink: S,
    progress: P,
) -> Result<Vec<PathSummary>, RunError>
where
    S: FnMut(&[PathRecord]) -> Result<(), RunError>,
    P: Fn(u64) + Sync,
{
    let mut summaries = Vec::with_capacity(sc.paths as usize);
    let mut start = 0u32;
    while start < sc.paths {
        let end = (start + BLOCK_PATHS).min(sc.paths);
        let records: Vec<PathRecord> = (start..end)
            .into_par_iter()
            .map_init(
                || World::new(sc),
                |world, path| {
                    let r = world.run_path(path);
                    progress(1);
                    r
                },
            )
            .collect::<Result<Vec<_>, EngineError>>()?;
        summaries.extend(records.iter().map(|r| r.summary));
        sink(&records)?;
        start = end;
    }
    Ok(summaries)
}
