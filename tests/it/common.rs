//! Helpers shared by the integration tests.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use contagion::{Overrides, RunOptions, RunReport, Scenario};
use polars::prelude::*;

/// The built binary.
/// Check a manifest's `git_commit` against the checkout the tests run in:
/// the commit `git rev-parse HEAD` gives (with `-dirty` if tracked files
/// differ from it), or `unknown` where git cannot say.
pub fn assert_build_commit(got: &serde_json::Value) {
    let got = got.as_str().expect("git_commit is a string");
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        Some(sha) => assert!(
            got == sha || got == format!("{sha}-dirty"),
            "git_commit {got}, but the checkout is at {sha}"
        ),
        None => assert_eq!(got, "unknown"),
    }
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_contagion"))
}

/// Run the binary in `cwd` with `args`.
pub fn cli(cwd: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the contagion binary runs")
}

/// Read a Parquet file whole.
pub fn read(path: &Path) -> DataFrame {
    let f = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetReader::new(f).finish().expect("readable Parquet")
}

/// A column as f64 values (no nulls).
pub fn f64s(df: &DataFrame, name: &str) -> Vec<f64> {
    df.column(name)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.expect("no null"))
        .collect()
}

/// Equal within 1e-9, relative to `b` (absolute below 1).
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// An integer column (indices are Int64, counts UInt32) as u32 values;
/// a negative or too large value fails the test.
pub fn u32s(df: &DataFrame, name: &str) -> Vec<u32> {
    df.column(name)
        .unwrap()
        .strict_cast(&DataType::UInt32)
        .unwrap()
        .u32()
        .unwrap()
        .iter()
        .map(|v| v.expect("no null"))
        .collect()
}

/// An integer column of any width or sign as i64 values (no nulls): index
/// columns may change type without every test changing with them.
pub fn i64s(df: &DataFrame, name: &str) -> Vec<i64> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .map(|v| v.expect("no null"))
        .collect()
}

/// A column as strings.
pub fn strs(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.expect("no null").to_string())
        .collect()
}

/// Whether two frames have the same columns, types and values (nulls equal).
pub fn same_frame(a: &DataFrame, b: &DataFrame) -> bool {
    a.height() == b.height()
        && a.schema() == b.schema()
        && a.columns()
            .iter()
            .zip(b.columns())
            .all(|(x, y)| x.equals_missing(y))
}

/// Path 0 of a scenario text (default overrides), in a fresh world.
pub fn run_path0(text: &str) -> contagion::output::recorder::PathRecord {
    let sc = scenario(text, &Overrides::default());
    contagion::engine::World::new(&sc).run_path(0).unwrap()
}

/// Parse a scenario from text, with optional overrides.
pub fn scenario(text: &str, overrides: &Overrides) -> Scenario {
    Scenario::from_toml(text, "test.toml", Path::new("."), overrides)
        .unwrap_or_else(|e| panic!("scenario should be valid: {e}"))
}

/// Run a scenario into `dir/name` with the given thread count.
pub fn run_into(sc: &Scenario, dir: &Path, name: &str, threads: Option<usize>) -> RunReport {
    let opts = RunOptions {
        out: dir.join(name),
        force: false,
        threads,
        progress: false,
        search: Default::default(),
        cuts: Vec::new(),
    };
    contagion::run(sc, &opts).unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Run a scenario into `dir/indexed` and `dir/scan`, with the liquidation
/// indexes and with the full scan, on `threads` threads.
pub fn run_both_searches(sc: &Scenario, dir: &Path, threads: Option<usize>) {
    use contagion::engine::CandidateSearch;
    for (name, search) in [
        ("indexed", CandidateSearch::Indexed),
        ("scan", CandidateSearch::FullScan),
    ] {
        let opts = RunOptions {
            out: dir.join(name),
            force: false,
            threads,
            progress: false,
            search,
            cuts: Vec::new(),
        };
        contagion::run(sc, &opts).unwrap_or_else(|e| panic!("run failed: {e}"));
    }
}

/// Run `text` on one thread with the counterfactual worlds of `cuts`
/// ((protocol, asset) pairs, as `--cut` takes them) into a fresh `run`
/// folder: the folder, and the temporary folder that holds it.
pub fn run_with_cuts(text: &str, cuts: &[(&str, &str)]) -> (std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(text, &Overrides::default());
    let opts = contagion::RunOptions {
        out: dir.path().join("run"),
        force: false,
        threads: Some(1),
        progress: false,
        search: Default::default(),
        cuts: cuts
            .iter()
            .map(|(p, a)| (p.to_string(), a.to_string()))
            .collect(),
    };
    contagion::run(&sc, &opts).unwrap();
    (dir.path().join("run"), dir)
}

/// Run a scenario that must fail into `dir/run` on one thread: its error,
/// after checking that nothing was left behind in `dir`.
pub fn run_error(sc: &Scenario, dir: &Path) -> String {
    let opts = RunOptions {
        out: dir.join("run"),
        force: false,
        threads: Some(1),
        progress: false,
        search: Default::default(),
        cuts: Vec::new(),
    };
    let err = contagion::run(sc, &opts).expect_err("the run should fail");
    assert!(!dir.join("run").exists(), "no partial output");
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(left.is_empty(), "no temporary folder left: {left:?}");
    err.to_string()
}

/// A small stochastic scenario with two correlated assets, a pool, a
/// population and a crash: every table gets rows.
pub const SMALL: &str = r#"
[simulation]
name = "small"
steps = 30
paths = 12
seed = 5
record_paths = 8

[network]
gas_usd = 2.0
congestion = 0.01

[[assets]]
symbol = "ETH"
price = 2000.0
process = { kind = "merton", vol = 0.9, jump_intensity = 20.0, jump_mean = -0.05, jump_std = 0.05 }

[[assets]]
symbol = "BTC"
price = 50000.0
process = { kind = "gbm", vol = 0.6 }

[[assets]]
symbol = "USDC"
price = 1.0

[correlation]
assets = ["ETH", "BTC"]
matrix = [[1.0, 0.7], [0.7, 1.0]]

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 500.0
impact_persistence = 0.5

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"
full_liquidation_hf = 0.95
oracle = { source = "pool" }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[protocols.collateral]]
asset = "BTC"
liquidation_threshold = 0.75
liquidation_bonus = 0.08
max_ltv = 0.7

[[positions]]
protocol = "lend"
debt = 30000.0
collateral = { ETH = 10.0, BTC = 0.5 }

[[populations]]
protocol = "lend"
count = 200
collateral_asset = "ETH"
size_usd = { dist = "lognormal", median = 5000.0, sigma = 1.0 }
health_factor = { dist = "uniform", min = 1.07, max = 1.6 }

[[liquidators]]
name = "bot"
capital = "unlimited"
min_profit = 1.0

[[liquidators]]
name = "keeper"
capital = 50000.0

[[shocks]]
step = 10
asset = "ETH"
return = -0.25
"#;

/// A nullable f64 column.
/// An integer column with its nulls.
pub fn i64_opts(df: &DataFrame, name: &str) -> Vec<Option<i64>> {
    let c = df.column(name).unwrap().cast(&DataType::Int64).unwrap();
    c.i64().unwrap().iter().collect()
}

pub fn f64_opts(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    df.column(name).unwrap().f64().unwrap().iter().collect()
}

/// `column` of the rows of `path` whose `key` column equals `name` (an
/// asset, a protocol, an agent), in row order; nulls are not allowed.
pub fn rows_of(df: &DataFrame, path: u32, key: &str, name: &str, column: &str) -> Vec<f64> {
    let (paths, keys, values) = (u32s(df, "path"), strs(df, key), f64_opts(df, column));
    (0..df.height())
        .filter(|&r| paths[r] == path && keys[r] == name)
        .map(|r| values[r].expect("no null"))
        .collect()
}

/// The one-line error a scenario text is rejected with.
pub fn scenario_error(text: &str) -> String {
    Scenario::from_toml(text, "t.toml", Path::new("."), &Overrides::default())
        .unwrap_err()
        .to_string()
}

/// The scenario text is rejected with an error that names every needle.
pub fn assert_rejected(text: &str, needles: &[&str]) {
    let err = scenario_error(text);
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
}

/// An edit of a scenario's TOML text, by dotted path as sweep axes
/// address fields (`perps.eth-perp.insurance_fund`, `assets.ETH.process`,
/// `populations.0.count`; `contagion::scenario::fields`).
#[derive(Debug)]
pub enum Edit<'a> {
    /// Replace the value (or section) at an existing path.
    Set(&'a str, toml::Value),
    /// Add a key that is not there yet, in an existing table.
    Add(&'a str, toml::Value),
    /// Remove an existing key.
    Remove(&'a str),
    /// Append a table to an array of tables (created if absent).
    Push(&'a str, toml::Value),
}

/// A TOML value from TOML text: `val("0.5")`, `val("{ kind = \"gbm\", vol = 0.8 }")`.
pub fn val(text: &str) -> toml::Value {
    let doc: toml::Table = toml::from_str(&format!("v = {text}"))
        .unwrap_or_else(|e| panic!("`{text}` is not a TOML value: {e}"));
    doc["v"].clone()
}

/// A TOML table from TOML text (`key = value` lines), for `Edit::Push`.
pub fn table(text: &str) -> toml::Value {
    toml::Value::Table(
        toml::from_str(text).unwrap_or_else(|e| panic!("`{text}` is not a TOML table: {e}")),
    )
}

/// `text` with `edits` applied in order. A path that does not exist (or,
/// for `Add`, one that already does) fails the test, naming it: an edit
/// never silently does nothing.
pub fn edit(text: &str, edits: &[Edit]) -> String {
    use contagion::scenario::fields::{navigate, parent};
    let mut doc: toml::Value = toml::from_str(text).expect("the fixture is TOML");
    for e in edits {
        match e {
            Edit::Set(path, v) => {
                *navigate(&mut doc, path).unwrap_or_else(|m| panic!("Set: {m}")) = v.clone();
            }
            Edit::Add(path, v) => {
                let (t, key) = parent(&mut doc, path).unwrap_or_else(|m| panic!("Add: {m}"));
                assert!(!t.contains_key(key), "Add: `{path}` is already there");
                t.insert(key.to_string(), v.clone());
            }
            Edit::Remove(path) => {
                let (t, key) = parent(&mut doc, path).unwrap_or_else(|m| panic!("Remove: {m}"));
                assert!(t.remove(key).is_some(), "Remove: `{path}` is not there");
            }
            Edit::Push(path, v) => match navigate(&mut doc, path) {
                Ok(toml::Value::Array(items)) => items.push(v.clone()),
                Ok(_) => panic!("Push: `{path}` is not an array of tables"),
                Err(_) => {
                    let (t, key) = parent(&mut doc, path).unwrap_or_else(|m| panic!("Push: {m}"));
                    t.insert(key.to_string(), toml::Value::Array(vec![v.clone()]));
                }
            },
        }
    }
    toml::to_string(&doc).expect("TOML serialises")
}

#[test]
fn an_edit_of_a_missing_path_fails_instead_of_doing_nothing() {
    let text = "[simulation]\nsteps = 4\n\n[[assets]]\nsymbol = \"ETH\"\nprice = 2000.0\n";
    let out = edit(
        text,
        &[
            Edit::Set("simulation.steps", val("40")),
            Edit::Add("assets.ETH.process", val("{ kind = \"gbm\", vol = 0.8 }")),
            Edit::Push("shocks", table("step = 1\nasset = \"ETH\"\nreturn = -0.1")),
        ],
    );
    let doc: toml::Table = toml::from_str(&out).unwrap();
    assert_eq!(doc["simulation"]["steps"].as_integer(), Some(40));
    assert_eq!(doc["assets"][0]["process"]["vol"].as_float(), Some(0.8));
    assert_eq!(doc["shocks"][0]["return"].as_float(), Some(-0.1));
    for bad in [
        Edit::Remove("simulation.seed"),
        Edit::Set("assets.BTC.price", val("1.0")),
        Edit::Add("simulation.steps", val("5")),
    ] {
        let r = std::panic::catch_unwind(|| edit(text, std::slice::from_ref(&bad)));
        assert!(r.is_err(), "an impossible edit must fail");
    }
}
