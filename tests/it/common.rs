//! Helpers shared by the integration tests.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use contagion::{Overrides, RunOptions, RunReport, Scenario};
use polars::prelude::*;

/// The built binary.
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
