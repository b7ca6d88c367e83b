//! docs/model.md §6: the same scenario and seed give the same tables whatever the
//! thread count, and path p does not depend on how many paths run.

use contagion::Overrides;
use polars::prelude::*;

use crate::common::*;

const TABLES: [&str; 4] = [
    "market.parquet",
    "protocols.parquet",
    "liquidations.parquet",
    "paths.parquet",
];

#[test]
fn one_and_two_threads_write_identical_tables() {
    let dir = tempfile::tempdir().unwrap();
    // More paths than one block, so blocks and threads interleave.
    let sc = scenario(
        SMALL,
        &Overrides {
            paths: Some(150),
            seed: None,
        },
    );
    run_into(&sc, dir.path(), "one", Some(1));
    run_into(&sc, dir.path(), "two", Some(2));
    for t in TABLES {
        let a = read(&dir.path().join("one").join(t));
        let b = read(&dir.path().join("two").join(t));
        assert!(a.height() > 0, "{t} is empty");
        assert!(same_frame(&a, &b), "{t} differs between 1 and 2 threads");
    }
    let s1 = std::fs::read_to_string(dir.path().join("one/summary.json")).unwrap();
    let s2 = std::fs::read_to_string(dir.path().join("two/summary.json")).unwrap();
    assert_eq!(s1, s2);
}

fn path_rows(df: &DataFrame, path: u32) -> DataFrame {
    let mask = df
        .column("path")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .equal(path as i64);
    df.filter(&mask).unwrap()
}

#[test]
fn path_p_is_the_same_in_a_10_and_a_100_path_run() {
    let dir = tempfile::tempdir().unwrap();
    let few = scenario(
        &edit(SMALL, &[Edit::Set("simulation.record_paths", val("100"))]),
        &Overrides {
            paths: Some(10),
            seed: None,
        },
    );
    let many = scenario(
        &edit(SMALL, &[Edit::Set("simulation.record_paths", val("100"))]),
        &Overrides {
            paths: Some(100),
            seed: None,
        },
    );
    run_into(&few, dir.path(), "few", None);
    run_into(&many, dir.path(), "many", None);
    for t in TABLES {
        let a = read(&dir.path().join("few").join(t));
        let b = read(&dir.path().join("many").join(t));
        for p in [0u32, 7, 9] {
            let (ra, rb) = (path_rows(&a, p), path_rows(&b, p));
            assert!(ra.height() > 0, "{t}: path {p} has no rows");
            assert!(same_frame(&ra, &rb), "{t}: path {p} differs");
        }
    }
}

#[test]
fn a_different_seed_gives_different_paths() {
    let dir = tempfile::tempdir().unwrap();
    let a = scenario(SMALL, &Overrides::default());
    let b = scenario(
        SMALL,
        &Overrides {
            paths: None,
            seed: Some(6),
        },
    );
    run_into(&a, dir.path(), "a", None);
    run_into(&b, dir.path(), "b", None);
    let ma = read(&dir.path().join("a/market.parquet"));
    let mb = read(&dir.path().join("b/market.parquet"));
    assert!(!same_frame(&ma, &mb));
}

/// The same for the shipped contagion scenarios, whose paths exercise
/// receipt tokens, pegs, runs, deleveraging, the systemic metrics and an
/// oracle with state (feed-floor's push feed), and an attacker whose
/// forecast copies the market and the oracles (oracle-manipulation).
#[test]
fn shipped_contagion_scenarios_are_thread_count_independent() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "lst-depeg",
        "rehypothecation",
        "perp-adl",
        "short-gamma-crash",
        "predictive-margin",
        "feed-floor",
        "oracle-manipulation",
    ] {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
        let sc = contagion::Scenario::load(
            &path,
            &Overrides {
                paths: Some(70),
                seed: None,
            },
        )
        .unwrap();
        run_into(&sc, dir.path(), &format!("{name}-1"), Some(1));
        run_into(&sc, dir.path(), &format!("{name}-2"), Some(2));
        let extra: &[&str] = if sc.perps.is_empty() {
            &[]
        } else {
            &["perps.parquet"]
        };
        let greeks: &[&str] = if sc.hedgers.is_empty() && sc.option_vaults.is_empty() {
            &[]
        } else {
            &["greeks.parquet"]
        };
        let oracles: &[&str] = if sc.protocols.iter().any(|p| p.oracle.has_state()) {
            &["oracles.parquet"]
        } else {
            &[]
        };
        for t in TABLES.iter().chain(extra).chain(greeks).chain(oracles) {
            let a = read(&dir.path().join(format!("{name}-1")).join(t));
            let b = read(&dir.path().join(format!("{name}-2")).join(t));
            assert!(
                same_frame(&a, &b),
                "{name}/{t} differs between 1 and 2 threads"
            );
        }
    }
}
