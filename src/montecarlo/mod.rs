//! Monte Carlo: per-path seeding, the parallel run over paths, and the risk
//! metrics over paths (docs/model.md §6, §7).

pub mod bootstrap;
pub mod metrics;
pub mod seed;

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::engine::{CandidateSearch, World};
use crate::error::{EngineError, RunError};
use crate::output::spill::Spill;
use crate::output::{PathRecord, PathSummary};
use crate::scenario::validated::Scenario;

/// Paths simulated together before their rows are handed to the sink. Bounds
/// memory: only one block's time series are ever held at once. Recorded
/// paths (whose row buffers can be large: a crash path may log millions of
/// liquidations) go in blocks of one path per worker thread.
pub const BLOCK_PATHS: u32 = 64;

/// A world borrowed from the pool for one rayon job, returned when the job
/// ends: worlds (and their copy of the book's state) are built once per
/// thread, not once per job or path.
struct Lease<'p, 'a> {
    world: Option<World<'a>>,
    pool: &'p Mutex<Vec<World<'a>>>,
}

impl Drop for Lease<'_, '_> {
    fn drop(&mut self) {
        if let Some(w) = self.world.take() {
            self.pool.lock().expect("pool lock").push(w);
        }
    }
}

/// Run every path of `sc` in parallel on the current rayon pool. Blocks of
/// paths are handed to `sink` (which owns and frees them) in path order as
/// they complete; `progress` is
/// called with the number of paths just finished. With `spill`, recorded
/// paths move their liquidation rows to disk as they grow (the records
/// name the files). Returns the summary row of every path, in path order.
pub fn run_paths<S, P>(
    sc: &Scenario,
    search: CandidateSearch,
    spill: Option<Arc<Spill>>,
    sink: S,
    progress: P,
) -> Result<Vec<PathSummary>, RunError>
where
    S: FnMut(Vec<PathRecord>) -> Result<(), RunError>,
    P: Fn(u64) + Sync,
{
    run_path_range(sc, 0..sc.paths, search, spill, sink, progress)
}

/// `run_paths` over the paths in `range` only (path p is the same whatever
/// range it is run in: a sweep splits a run's paths into units this way).
pub fn run_path_range<S, P>(
    sc: &Scenario,
    range: std::ops::Range<u32>,
    search: CandidateSearch,
    spill: Option<Arc<Spill>>,
    mut sink: S,
    progress: P,
) -> Result<Vec<PathSummary>, RunError>
where
    S: FnMut(Vec<PathRecord>) -> Result<(), RunError>,
    P: Fn(u64) + Sync,
{
    let pool: Mutex<Vec<World>> = Mutex::new(Vec::new());
    let mut summaries = Vec::with_capacity(range.len());
    let workers = rayon::current_num_threads().max(1) as u32;
    let mut start = range.start;
    while start < range.end {
        let block = if start < sc.record_paths {
            workers.min(sc.record_paths - start)
        } else {
            BLOCK_PATHS
        };
        let end = (start + block).min(range.end);
        let records: Vec<PathRecord> = (start..end)
            .into_par_iter()
            .map_init(
                || {
                    let world = pool.lock().expect("pool lock").pop().unwrap_or_else(|| {
                        let mut w = World::new(sc);
                        w.set_search(search);
                        w.set_spill(spill.clone());
                        w
                    });
                    Lease {
                        world: Some(world),
                        pool: &pool,
                    }
                },
                |lease, path| {
                    let r = if sc.resolved.overlapping_portfolios.is_some() && path > 0 {
                        run_own_path(sc, path, search, spill.clone())
                    } else {
                        lease.world.as_mut().expect("leased").run_path(path)
                    };
                    let r = r.and_then(|r| r.check_finite().map(|()| r));
                    progress(1);
                    r
                },
            )
            .collect::<Result<Vec<_>, EngineError>>()?;
        // Cloned, not moved: the sink still keys rows by `summary.path`.
        summaries.extend(records.iter().map(|r| r.summary.clone()));
        sink(records)?;
        start = end;
    }
    Ok(summaries)
}

/// Path `path` of a family whose book is drawn per path (docs/model.md
/// §19): the path's own scenario and a world for it.
fn run_own_path(
    sc: &Scenario,
    path: u32,
    search: CandidateSearch,
    spill: Option<Arc<Spill>>,
) -> Result<PathRecord, EngineError> {
    let own = sc.for_path(path).map_err(|e| EngineError::PathScenario {
        path,
        source: Box::new(e),
    })?;
    let mut world = World::new(&own);
    world.set_search(search);
    world.set_spill(spill);
    world.run_path(path)
}
