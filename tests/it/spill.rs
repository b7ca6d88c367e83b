//! Recorded paths move their liquidation rows to disk as they grow
//! (`output::spill`): the rows come back complete and in order, the files
//! go, and a whole run writes the same table as one that never spills.

use std::sync::Arc;

use contagion::Overrides;
use contagion::engine::{CandidateSearch, World};
use contagion::mechanism::lending::LiquidationRows;
use contagion::montecarlo::run_paths;
use contagion::output::PathRecord;
use contagion::output::spill::{SPILL_ROWS, Spill, take_spilled};
use contagion::output::table::Names;
use polars::prelude::*;

use crate::common::*;

/// SMALL's liquidations, spilled every few rows, against the same paths
/// run by a world that keeps every row in memory.
#[test]
fn spilled_rows_come_back_complete_and_in_order() {
    let sc = scenario(SMALL, &Overrides::default());
    let names = Names::of(&sc);
    let dir = tempfile::tempdir().unwrap();
    let spill = Arc::new(Spill::with_rows(&sc, dir.path(), 7));
    let mut records: Vec<PathRecord> = Vec::new();
    run_paths(
        &sc,
        CandidateSearch::Indexed,
        Some(spill.clone()),
        |block| {
            records.extend(block);
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    let mut spilled_paths = 0;
    for r in records.iter().filter(|r| r.recorded) {
        let p = r.summary.path;
        let mut parts: Vec<DataFrame> = Vec::new();
        for f in &r.spilled {
            assert!(f.exists(), "{f:?}");
            parts.push(take_spilled(f).unwrap());
            assert!(!f.exists(), "{f:?} is removed once read");
        }
        if !r.spilled.is_empty() {
            spilled_paths += 1;
            assert!(parts.iter().all(|d| d.height() >= 7));
        }
        parts.push(LiquidationRows::frame(&names, std::slice::from_ref(r)));
        let mut got = parts[0].clone();
        for d in &parts[1..] {
            got.vstack_mut(d).unwrap();
        }
        let whole = World::new(&sc).run_path(p).unwrap();
        assert!(whole.spilled.is_empty());
        let want = LiquidationRows::frame(&names, std::slice::from_ref(&whole));
        assert!(want.height() > 0 || got.height() == 0);
        assert!(same_frame(&got, &want), "path {p}");
    }
    assert!(spilled_paths >= 3, "only {spilled_paths} paths spilled");
    // Unrecorded paths never spill.
    assert!(
        records
            .iter()
            .filter(|r| !r.recorded)
            .all(|r| r.spilled.is_empty())
    );
}

/// Files a failed or abandoned run left behind go with the spill.
#[test]
fn a_dropped_spill_removes_what_was_not_read() {
    let sc = scenario(SMALL, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    let spill = Arc::new(Spill::with_rows(&sc, dir.path(), 5));
    let mut files = Vec::new();
    run_paths(
        &sc,
        CandidateSearch::Indexed,
        Some(spill.clone()),
        |block| {
            files.extend(block.into_iter().flat_map(|r| r.spilled));
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    assert!(files.len() > 3);
    assert!(files.iter().all(|f| f.exists()));
    drop(spill);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A crash on 10⁵ positions: one path liquidates more than `SPILL_ROWS`
/// positions, so the run spills; its table equals the rows a world that
/// never spills produces, and the folder holds no spill file.
#[test]
fn a_run_that_spills_writes_the_table_of_one_that_does_not() {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/crash-1e5.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text.replace("record_paths = 0", "record_paths = 1");
    let sc = scenario(
        &text,
        &Overrides {
            paths: Some(1),
            seed: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(2));
    let out = dir.path().join("run");
    let table = read(&out.join("liquidations.parquet"));
    assert!(table.height() > 2 * SPILL_ROWS, "{} rows", table.height());
    let whole = World::new(&sc).run_path(0).unwrap();
    let want = LiquidationRows::frame(&Names::of(&sc), std::slice::from_ref(&whole));
    assert!(same_frame(&table, &want));
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("spill"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
