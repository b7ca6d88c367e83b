//! Running a sweep: units of work, shards, resumable output, and the merge
//! that writes `runs.parquet` and the sweep charts (docs/sweeps.md).
//!
//! Layout of a sweep folder:
//!
//! ```text
//! sweep.json                          what the sweep is (hash, runs, axes)
//! paths/run-00042/part-0000.parquet   one file per table, run and unit
//! market/…  protocols/…  liquidations/…  (perps/…, greeks/… when present)
//! units/run-00042.part-0000.json      completion records
//! runs.parquet                        one row per run (written by the merge)
//! charts/*.png
//! ```
//!
//! Run folders are `run-00042`, not hive's `run=00042`: every file holds
//! its `run` column (Int64), and a `key=value` folder name would add a
//! second, differently typed `run` that pandas and pyarrow refuse to
//! merge and DuckDB reads as text. Without it, the default readers of
//! polars, pandas, pyarrow and DuckDB all read a table folder as one table
//! (tests/readers.py, docs/sweeps.md).

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::CandidateSearch;
use crate::error::{OutputError, RunError, ScenarioError};
use crate::montecarlo::bootstrap::{TailIntervals, bootstrap_rng, tail_intervals};
use crate::montecarlo::run_path_range;
use crate::output::parquet::{Names, TableWriter, paths_frame, write_frame};
use crate::output::run_folder::{register_temporary, unregister_temporary};
use crate::output::table::step_tables;
use crate::scenario::Scenario;
use crate::sweep::spec::{Run, Sweep};

/// How to run a sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// The sweep folder.
    pub out: PathBuf,
    /// Worker threads (None: one per core).
    pub threads: Option<usize>,
    /// Show a progress bar.
    pub progress: bool,
    /// Run only shard i of N (i from 0).
    pub shard: Option<(u32, u32)>,
    /// Replace a folder holding another sweep.
    pub force: bool,
}

/// What a sweep invocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Units this invocation ran.
    pub ran: u32,
    /// Units of this shard already complete (skipped).
    pub skipped: u32,
    /// Units in the whole sweep.
    pub total: u32,
    /// Whether the merge ran (every unit complete).
    pub merged: bool,
}

/// One unit of work: a run and a block of its paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// Run id.
    pub run: u32,
    /// Block index within the run.
    pub block: u32,
}

/// The completion record of a unit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Record {
    sweep_hash: String,
    run: u32,
    block: u32,
    paths: [u32; 2],
    files: Vec<String>,
}

/// `sweep.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SweepManifest {
    tool: String,
    version: String,
    name: String,
    hash: String,
    seed: u64,
    paths: u32,
    units: u32,
    fields: Vec<String>,
    runs: Vec<serde_json::Value>,
    sweep: serde_json::Value,
}

/// Every unit of the sweep, in canonical order (runs, then blocks).
pub fn units(sw: &Sweep) -> Vec<Unit> {
    let per = sw.units_per_run();
    sw.runs
        .iter()
        .flat_map(|r| {
            (0..per).map(move |b| Unit {
                run: r.id,
                block: b,
            })
        })
        .collect()
}

/// Unit k belongs to shard `k mod N` (shards count from 0, as Slurm array
/// task ids do).
pub fn shard_of(k: usize, n: u32) -> u32 {
    (k % n as usize) as u32
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> OutputError + '_ {
    move |e| OutputError::io(path, e)
}

/// The temporary name `path` is written under before its rename: removed
/// by a catchable signal (registered) or by the next unsharded invocation.
fn temporary(path: &Path) -> PathBuf {
    path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ))
}

/// Rename a registered temporary into place and forget it.
fn rename_into_place(tmp: &Path, path: &Path) -> Result<(), OutputError> {
    let r = std::fs::rename(tmp, path).map_err(io(path));
    if r.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    unregister_temporary(tmp);
    r
}

/// Temporary files registered for removal on a signal, and removed when
/// dropped (a failed unit leaves nothing).
struct Temporaries(Vec<PathBuf>);

impl Temporaries {
    fn new(paths: Vec<PathBuf>) -> Self {
        for p in &paths {
            register_temporary(p);
        }
        Temporaries(paths)
    }
}

impl Drop for Temporaries {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
            unregister_temporary(p);
        }
    }
}

/// Write `text` to `path` atomically (temporary name, then rename).
fn write_atomic(path: &Path, text: &str) -> Result<(), OutputError> {
    let tmp = temporary(path);
    register_temporary(&tmp);
    if let Err(e) = std::fs::write(&tmp, text) {
        let _ = std::fs::remove_file(&tmp);
        unregister_temporary(&tmp);
        return Err(OutputError::io(&tmp, e));
    }
    rename_into_place(&tmp, path)
}

fn record_path(out: &Path, u: Unit) -> PathBuf {
    out.join("units")
        .join(format!("run-{:05}.part-{:04}.json", u.run, u.block))
}

fn read_record(out: &Path, u: Unit) -> Option<Record> {
    let text = std::fs::read_to_string(record_path(out, u)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether unit `u` is complete for this sweep.
fn complete(sw: &Sweep, out: &Path, u: Unit) -> bool {
    read_record(out, u).is_some_and(|r| r.sweep_hash == sw.hash)
}

/// The typed value of an axis: numbers as f64, anything else as text.
fn numeric_axis(sw: &Sweep, axis: usize) -> bool {
    sw.runs
        .iter()
        .all(|r| r.values[axis].as_float().is_some() || r.values[axis].as_integer().is_some())
}

fn as_f64(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

fn as_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A run's value of one axis, typed for its column.
enum TagValue {
    Number(f64),
    Text(String),
}

/// The run id and the (field, value) of every axis, worked out once per unit.
struct Tags {
    run: u32,
    values: Vec<(String, TagValue)>,
}

impl Tags {
    fn of(sw: &Sweep, run: &Run) -> Self {
        let values = sw
            .fields()
            .into_iter()
            .enumerate()
            .map(|(i, field)| {
                let v = if numeric_axis(sw, i) {
                    TagValue::Number(as_f64(&run.values[i]).unwrap_or(f64::NAN))
                } else {
                    TagValue::Text(as_text(&run.values[i]))
                };
                (field, v)
            })
            .collect();
        Tags {
            run: run.id,
            values,
        }
    }

    /// Add `run` and one constant column per axis to a frame.
    fn apply(&self, df: DataFrame) -> DataFrame {
        let h = df.height();
        let mut cols: Vec<Column> = vec![Column::new("run".into(), vec![self.run as i64; h])];
        for (field, v) in &self.values {
            cols.push(match v {
                TagValue::Number(x) => Column::new(field.as_str().into(), vec![*x; h]),
                TagValue::Text(t) => Column::new(field.as_str().into(), vec![t.clone(); h]),
            });
        }
        cols.extend(df.columns().iter().cloned());
        DataFrame::new(h, cols).expect("columns of one height")
    }
}

/// JSON of a run's parameters.
fn params_json(sw: &Sweep, run: &Run) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (f, v) in sw.fields().iter().zip(&run.values) {
        m.insert(
            f.clone(),
            serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
        );
    }
    serde_json::Value::Object(m)
}

/// The key-value metadata of a unit's files: no clock in it, so a rerun
/// writes the same bytes.
fn unit_meta(sw: &Sweep, run: &Run, u: Unit, paths: &std::ops::Range<u32>) -> String {
    serde_json::json!({
        "tool": "contagion",
        "version": env!("CARGO_PKG_VERSION"),
        "sweep": { "name": sw.raw.sweep.name, "hash": sw.hash, "seed": sw.base.seed },
        "run": run.id,
        "params": params_json(sw, run),
        "unit": { "block": u.block, "paths": [paths.start, paths.end] },
    })
    .to_string()
}

/// Every table a sweep may write, one folder each: the per-step tables
/// the mechanisms declare (`output::table`), then `paths`.
pub fn all_tables() -> Vec<&'static str> {
    step_tables()
        .iter()
        .map(|t| t.name)
        .chain(std::iter::once("paths"))
        .collect()
}

/// What a sweep writes at the top of its folder besides the tables: all
/// that `--force` removes.
const SWEEP_ENTRIES: [&str; 8] = [
    "sweep.json",
    "runs.parquet",
    "units",
    "charts",
    "logs",
    "sweep.sbatch",
    "merge.sbatch",
    "submit.sh",
];

/// Remove what a sweep wrote in `out` (its files and folders by name, and
/// temporaries), and nothing else: files of the user's stay.
fn remove_sweep(out: &Path) -> Result<(), OutputError> {
    for e in std::fs::read_dir(out).map_err(io(out))? {
        let e = e.map_err(io(out))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = SWEEP_ENTRIES.contains(&name.as_str())
            || all_tables().contains(&name.as_str())
            || (name.starts_with('.') && name.contains(".tmp-"));
        if !ours {
            continue;
        }
        let p = e.path();
        if p.is_dir() {
            std::fs::remove_dir_all(&p).map_err(io(&p))?;
        } else {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    Ok(())
}

/// Check (or claim) the sweep folder: a folder of another sweep is an error
/// unless `force`, which removes what that sweep wrote; a non-empty folder
/// that holds no sweep is never written into or deleted. `--emit-slurm`
/// claims the folder too, so the array's tasks find it theirs.
pub fn prepare(sw: &Sweep, opts: &SweepOptions) -> Result<(), RunError> {
    let out = &opts.out;
    let manifest_path = out.join("sweep.json");
    if std::fs::symlink_metadata(out).is_ok() {
        if !out.is_dir() {
            return Err(ScenarioError::invalid(
                "--out",
                format!("{}: exists and is not a folder", out.display()),
            )
            .into());
        }
        let other = std::fs::read_to_string(&manifest_path)
            .ok()
            .and_then(|t| serde_json::from_str::<SweepManifest>(&t).ok())
            .filter(|m| m.tool == "contagion");
        let same = other.as_ref().is_some_and(|m| m.hash == sw.hash);
        let empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !same && !empty {
            if other.is_none() {
                return Err(ScenarioError::invalid(
                    "--out",
                    format!(
                        "{}: not empty and not a sweep folder (no sweep.json of contagion's); a sweep writes only into a new, empty or sweep folder, and --force never deletes what contagion did not write",
                        out.display()
                    ),
                )
                .into());
            }
            if !opts.force {
                return Err(OutputError::Exists(out.clone()).into());
            }
            remove_sweep(out)?;
        }
    }
    std::fs::create_dir_all(out.join("units")).map_err(io(out))?;
    // Shards share the folder and may be writing now: only a lone
    // invocation (or the merge) clears what killed ones left.
    if opts.shard.is_none() {
        clear_temporaries(out)?;
    }
    let m = SweepManifest {
        tool: "contagion".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        name: sw.raw.sweep.name.clone(),
        hash: sw.hash.clone(),
        seed: sw.base.seed,
        paths: sw.base.paths,
        units: units(sw).len() as u32,
        fields: sw.fields(),
        runs: sw
            .runs
            .iter()
            .map(|r| serde_json::json!({ "run": r.id, "params": params_json(sw, r) }))
            .collect(),
        sweep: serde_json::to_value(&sw.raw).expect("serialisable"),
    };
    write_atomic(
        &manifest_path,
        &(serde_json::to_string_pretty(&m).expect("serialisable") + "\n"),
    )?;
    Ok(())
}

/// Delete the temporary files (`.name.tmp-PID`) a killed invocation left
/// under `out`, saying so on stderr. Only called where no other invocation
/// can be writing (an unsharded run, the merge).
fn clear_temporaries(out: &Path) -> Result<(), OutputError> {
    fn walk(dir: &Path, n: &mut usize) -> Result<(), OutputError> {
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                walk(&path, n)?;
            } else if name.starts_with('.') && name.contains(".tmp-") {
                std::fs::remove_file(&path).map_err(io(&path))?;
                *n += 1;
            }
        }
        Ok(())
    }
    let mut n = 0;
    walk(out, &mut n)?;
    if n > 0 {
        eprintln!(
            "contagion: removed {n} temporary file{} an interrupted invocation left in {}",
            if n == 1 { "" } else { "s" },
            out.display()
        );
    }
    Ok(())
}

/// The tables a run of `sc` writes (in the order of `all_tables`).
fn tables(sc: &Scenario) -> Vec<&'static str> {
    step_tables()
        .iter()
        .filter(|t| (t.written)(sc))
        .map(|t| t.name)
        .chain(std::iter::once("paths"))
        .collect()
}

/// The folder of one run of one table: `TABLE/run-00042`.
pub fn run_dir(out: &Path, table: &str, run: u32) -> PathBuf {
    out.join(table).join(format!("run-{run:05}"))
}

fn unit_file(out: &Path, table: &str, u: Unit) -> PathBuf {
    run_dir(out, table, u.run).join(format!("part-{:04}.parquet", u.block))
}

/// Run one unit: its tables under temporary names, renamed when all are
/// written, then the completion record.
fn run_unit(sw: &Sweep, sc: &Scenario, run: &Run, u: Unit, out: &Path) -> Result<(), RunError> {
    let range = sw.unit_paths(u.block);
    let meta = unit_meta(sw, run, u, &range);
    let tags = Tags::of(sw, run);
    let names = Names::of(sc);
    let tables = tables(sc);
    // Clear what a killed attempt may have left.
    for t in &tables {
        let f = unit_file(out, t, u);
        let dir = f.parent().expect("has a parent");
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        if f.exists() {
            std::fs::remove_file(&f).map_err(io(&f))?;
        }
    }
    let tmp = |t: &str| temporary(&unit_file(out, t, u));
    // Removed if the unit fails or a signal stops the process.
    let _temps = Temporaries::new(tables.iter().map(|t| tmp(t)).collect());
    type Frame = fn(&Names, &[crate::output::PathRecord]) -> DataFrame;
    let framers: Vec<(&str, Frame)> = step_tables()
        .into_iter()
        .filter(|t| (t.written)(sc))
        .map(|t| (t.name, t.frame))
        .collect();
    let mut writers = Vec::new();
    for (t, f) in &framers {
        writers.push(TableWriter::create(
            &tmp(t),
            &tags.apply(f(&names, &[])),
            &meta,
        )?);
    }
    let summaries = run_path_range(
        sc,
        range,
        CandidateSearch::Indexed,
        |block| {
            for record in block.into_iter().filter(|r| r.recorded) {
                let one = std::slice::from_ref(&record);
                for (w, (_, f)) in writers.iter_mut().zip(&framers) {
                    w.append(tags.apply(f(&names, one)))?;
                }
            }
            Ok(())
        },
        |_| {},
    )?;
    for w in writers {
        w.finish()?;
    }
    write_frame(&tmp("paths"), tags.apply(paths_frame(&summaries)), &meta)?;
    let mut files = Vec::new();
    for t in &tables {
        let (from, to) = (tmp(t), unit_file(out, t, u));
        rename_into_place(&from, &to)?;
        files.push(
            to.strip_prefix(out)
                .unwrap_or(&to)
                .to_string_lossy()
                .into_owned(),
        );
    }
    let rec = Record {
        sweep_hash: sw.hash.clone(),
        run: u.run,
        block: u.block,
        paths: [sw.unit_paths(u.block).start, sw.unit_paths(u.block).end],
        files,
    };
    write_atomic(
        &record_path(out, u),
        &(serde_json::to_string_pretty(&rec).expect("serialisable") + "\n"),
    )?;
    Ok(())
}

/// Run the units of this invocation's shard that are not complete yet, and
/// merge when the whole sweep is complete (unsharded runs only: shards
/// finish at different times, so they leave the merge to `--merge`).
pub fn run_sweep(sw: &Sweep, opts: &SweepOptions) -> Result<SweepReport, RunError> {
    if let Some((i, n)) = opts.shard
        && (n == 0 || i >= n)
    {
        return Err(ScenarioError::invalid("--shard", format!("{i}/{n}: need 0 ≤ i < N")).into());
    }
    prepare(sw, opts)?;
    let all = units(sw);
    let mine: Vec<Unit> = all
        .iter()
        .enumerate()
        .filter(|(k, _)| opts.shard.is_none_or(|(i, n)| shard_of(*k, n) == i))
        .map(|(_, u)| *u)
        .collect();
    let todo: Vec<Unit> = mine
        .iter()
        .copied()
        .filter(|&u| !complete(sw, &opts.out, u))
        .collect();
    let skipped = (mine.len() - todo.len()) as u32;
    let bar = if opts.progress {
        let b =
            ProgressBar::with_draw_target(Some(todo.len() as u64), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} units ({per_sec}, ETA {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b.set_message(sw.raw.sweep.name.clone());
        b
    } else {
        ProgressBar::hidden()
    };
    let pool = match opts.threads {
        Some(t) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| RunError::Threads(e.to_string()))?,
        ),
        None => None,
    };
    let mut cached: Option<(u32, Scenario)> = None;
    for &u in &todo {
        let run = &sw.runs[u.run as usize];
        if cached.as_ref().is_none_or(|c| c.0 != u.run) {
            cached = Some((u.run, sw.scenario(run)?));
        }
        let sc = &cached.as_ref().expect("set above").1;
        let job = || run_unit(sw, sc, run, u, &opts.out);
        match &pool {
            Some(p) => p.install(job)?,
            None => job()?,
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let merged = opts.shard.is_none();
    if merged {
        merge(sw, &opts.out)?;
    }
    Ok(SweepReport {
        ran: todo.len() as u32,
        skipped,
        total: all.len() as u32,
        merged,
    })
}

/// One run's row of `runs.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Run id.
    pub run: u32,
    /// Debt of the run's book at step 0, USD.
    pub initial_debt_usd: f64,
    /// Per metric: mean, p05, p50, p95, VaR99, ES99 over the run's paths.
    pub metrics: Vec<[f64; 6]>,
    /// Per metric: bootstrap 95% intervals of VaR99 and ES99.
    pub intervals: Vec<TailIntervals>,
}

/// The metrics `runs.parquet` summarises, as columns of `paths.parquet`.
pub const METRICS: [&str; 5] = [
    "bad_debt",
    "bad_debt_contagion",
    "insolvent_debt",
    "liquidated_value",
    "liquidations",
];

/// Statistic suffixes of each metric in `runs.parquet`.
pub const STATS: [&str; 6] = ["mean", "p05", "p50", "p95", "var99", "es99"];

fn stats(values: &[f64]) -> [f64; 6] {
    let m = crate::montecarlo::metrics::loss_metrics(values);
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| crate::montecarlo::metrics::quantile_sorted(&sorted, p);
    [m.mean, q(0.05), q(0.5), q(0.95), m.var99, m.es99]
}

/// Read a run's `paths` parts back and summarise them.
fn run_row(sw: &Sweep, out: &Path, run: &Run) -> Result<RunRow, RunError> {
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); METRICS.len()];
    for b in 0..sw.units_per_run() {
        let f = unit_file(
            out,
            "paths",
            Unit {
                run: run.id,
                block: b,
            },
        );
        let file = std::fs::File::open(&f).map_err(io(&f))?;
        let df = ParquetReader::new(file)
            .finish()
            .map_err(|e| OutputError::Parquet {
                path: f.clone(),
                message: e.to_string(),
            })?;
        for (m, col) in METRICS.iter().zip(cols.iter_mut()) {
            let c = df.column(m).map_err(|e| OutputError::Parquet {
                path: f.clone(),
                message: e.to_string(),
            })?;
            let c = c
                .cast(&DataType::Float64)
                .map_err(|e| OutputError::Parquet {
                    path: f.clone(),
                    message: e.to_string(),
                })?;
            col.extend(c.f64().expect("cast to f64").into_no_null_iter());
        }
    }
    let sc = sw.scenario(run)?;
    let debt: f64 = crate::run::initial_debts(&sc).iter().sum();
    // The bootstrap of metric m draws from stream m of the sweep's seed,
    // the same in every run: like the paths, the runs' intervals differ by
    // the setting, not by the resampling noise.
    Ok(RunRow {
        run: run.id,
        initial_debt_usd: debt,
        metrics: cols.iter().map(|c| stats(c)).collect(),
        intervals: cols
            .iter()
            .enumerate()
            .map(|(m, c)| tail_intervals(c, 0.99, &mut bootstrap_rng(sw.base.seed, m as u64)))
            .collect(),
    })
}

/// `runs.parquet` from completed units, and the sweep charts. Errors,
/// naming the first missing unit, when the sweep is not complete.
pub fn merge(sw: &Sweep, out: &Path) -> Result<Vec<RunRow>, RunError> {
    let all = units(sw);
    let missing: Vec<&Unit> = all.iter().filter(|&&u| !complete(sw, out, u)).collect();
    if let Some(first) = missing.first() {
        return Err(ScenarioError::invalid(
            "--merge",
            format!(
                "{} of {} units are not complete (first: run {:05} part {}); run the sweep (or its missing shards) again",
                missing.len(),
                all.len(),
                first.run,
                first.block
            ),
        )
        .into());
    }
    clear_temporaries(out)?;
    let rows: Vec<RunRow> = sw
        .runs
        .iter()
        .map(|r| run_row(sw, out, r))
        .collect::<Result<_, _>>()?;
    let h = rows.len();
    let mut cols: Vec<Column> = vec![Column::new(
        "run".into(),
        rows.iter().map(|r| r.run as i64).collect::<Vec<_>>(),
    )];
    for (i, field) in sw.fields().iter().enumerate() {
        cols.push(if numeric_axis(sw, i) {
            Column::new(
                field.as_str().into(),
                sw.runs
                    .iter()
                    .map(|r| as_f64(&r.values[i]).unwrap_or(f64::NAN))
                    .collect::<Vec<_>>(),
            )
        } else {
            Column::new(
                field.as_str().into(),
                sw.runs
                    .iter()
                    .map(|r| as_text(&r.values[i]))
                    .collect::<Vec<_>>(),
            )
        });
    }
    cols.push(Column::new("paths".into(), vec![sw.base.paths; h]));
    cols.push(Column::new(
        "initial_debt_usd".into(),
        rows.iter().map(|r| r.initial_debt_usd).collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        "tail_paths_99".into(),
        rows.iter()
            .map(|r| r.intervals.first().map_or(0, |t| t.tail_paths) as u32)
            .collect::<Vec<_>>(),
    ));
    for (m, metric) in METRICS.iter().enumerate() {
        for (s, stat) in STATS.iter().enumerate() {
            cols.push(Column::new(
                format!("{metric}_{stat}").into(),
                rows.iter().map(|r| r.metrics[m][s]).collect::<Vec<_>>(),
            ));
            let bound = |f: fn(&TailIntervals) -> f64| -> Vec<f64> {
                rows.iter().map(|r| f(&r.intervals[m])).collect()
            };
            let (lo, hi) = match *stat {
                "var99" => (bound(|t| t.var.lo), bound(|t| t.var.hi)),
                "es99" => (bound(|t| t.es.lo), bound(|t| t.es.hi)),
                _ => continue,
            };
            cols.push(Column::new(format!("{metric}_{stat}_lo").into(), lo));
            cols.push(Column::new(format!("{metric}_{stat}_hi").into(), hi));
        }
    }
    let df = DataFrame::new(h, cols).expect("columns of one height");
    let meta = serde_json::json!({
        "tool": "contagion",
        "version": env!("CARGO_PKG_VERSION"),
        "sweep": { "name": sw.raw.sweep.name, "hash": sw.hash, "seed": sw.base.seed },
    })
    .to_string();
    let target = out.join("runs.parquet");
    let tmp = temporary(&target);
    let _temps = Temporaries::new(vec![tmp.clone()]);
    write_frame(&tmp, df, &meta)?;
    rename_into_place(&tmp, &target)?;
    crate::sweep::charts::draw(sw, &rows, &out.join("charts"))?;
    Ok(rows)
}

/// The run table: run id and every axis value, one line per run.
pub fn list(sw: &Sweep) -> String {
    let mut s = format!("run\t{}\n", sw.fields().join("\t"));
    for r in &sw.runs {
        let vals: Vec<String> = r.values.iter().map(as_text).collect();
        s += &format!("{:05}\t{}\n", r.id, vals.join("\t"));
    }
    s
}

/// Resources of the emitted Slurm jobs, passed through to `#SBATCH`
/// lines as given (`--time`, `--mem`, `--partition`, `--account`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmResources {
    /// Wall-clock limit per task, e.g. `02:00:00`.
    pub time: Option<String>,
    /// Memory per node, e.g. `8G`.
    pub mem: Option<String>,
    /// Partition.
    pub partition: Option<String>,
    /// Account charged.
    pub account: Option<String>,
}

impl SlurmResources {
    /// Refuse values that would break the script: empty, or holding spaces,
    /// quotes or control characters (a newline would add a line to it).
    pub fn check(&self) -> Result<(), ScenarioError> {
        for (flag, v) in [
            ("--time", &self.time),
            ("--mem", &self.mem),
            ("--partition", &self.partition),
            ("--account", &self.account),
        ] {
            if let Some(v) = v
                && (v.is_empty()
                    || v.chars().any(|c| {
                        c.is_whitespace() || c.is_control() || matches!(c, '\'' | '"' | '\\' | '#')
                    }))
            {
                return Err(ScenarioError::invalid(
                    flag,
                    format!("{v:?} is not a Slurm value (no spaces, quotes or control characters)"),
                ));
            }
        }
        Ok(())
    }

    fn lines(&self) -> String {
        [
            ("time", &self.time),
            ("mem", &self.mem),
            ("partition", &self.partition),
            ("account", &self.account),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("#SBATCH --{k}={v}\n")))
        .collect()
    }
}

/// The scripts `--emit-slurm` writes into the sweep folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmScripts {
    /// `sweep.sbatch`: the array job, task i runs shard i.
    pub array: String,
    /// `merge.sbatch`: the merge, one task.
    pub merge: String,
    /// `submit.sh`: submits the array, then the merge with
    /// `--dependency=afterok:<array job id>`.
    pub submit: String,
}

/// The Slurm scripts of a sweep: an array of `shards` tasks of `threads`
/// cores each (task i runs shard i, from `SLURM_ARRAY_TASK_ID`), a merge
/// job, and a submit script that queues the merge to start once every
/// array task has succeeded (and cancels it if one fails). Logs go to
/// `<out>/logs/`.
pub fn slurm_scripts(
    sw: &Sweep,
    out: &Path,
    shards: u32,
    threads: u32,
    binary: &Path,
    res: &SlurmResources,
) -> SlurmScripts {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let q = |p: &Path| format!("'{}'", abs(p).display().to_string().replace('\'', "'\\''"));
    let logs = abs(&out.join("logs")).display().to_string();
    let name = &sw.raw.sweep.name;
    let (bin, file, dir) = (q(binary), q(&sw.file), q(out));
    let resources = res.lines();
    let array = format!(
        "#!/bin/bash\n\
         # contagion sweep `{name}`: {units} units in {shards} array tasks.\n\
         # Submit with {submit}: it queues this array, then the merge\n\
         # ({merge_script}) to run once every task has succeeded.\n\
         #SBATCH --job-name=contagion-{name}\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task={threads}\n\
         {resources}\
         #SBATCH --output={logs}/%A_%a.out\n\
         #SBATCH --error={logs}/%A_%a.err\n\
         set -euo pipefail\n\
         exec {bin} sweep {file} --out {dir} --threads {threads} --quiet\n",
        units = units(sw).len(),
        submit = q(&out.join("submit.sh")),
        merge_script = q(&out.join("merge.sbatch")),
        last = shards.max(1) - 1,
    );
    let merge = format!(
        "#!/bin/bash\n\
         # contagion sweep `{name}`: the merge (runs.parquet, charts) once the\n\
         # array is done. submit.sh queues it with --dependency=afterok.\n\
         #SBATCH --job-name=contagion-{name}-merge\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --kill-on-invalid-dep=yes\n\
         {resources}\
         #SBATCH --output={logs}/merge_%j.out\n\
         #SBATCH --error={logs}/merge_%j.err\n\
         set -euo pipefail\n\
         exec {bin} sweep {file} --out {dir} --merge --quiet\n",
    );
    let submit = format!(
        "#!/bin/bash\n\
         # contagion sweep `{name}`: queue the array job, then the merge job,\n\
         # which starts once every array task has succeeded (afterok) and is\n\
         # cancelled if one fails. Arguments are passed to the merge's sbatch\n\
         # (e.g. --wait to return when the merge has run).\n\
         set -euo pipefail\n\
         array=$(sbatch --parsable {array_script})\n\
         array=${{array%%;*}}\n\
         echo \"array job $array: {shards} tasks\"\n\
         merge=$(sbatch --parsable --dependency=afterok:\"$array\" \"$@\" {merge_script})\n\
         echo \"merge job ${{merge%%;*}}: after array job $array\"\n",
        array_script = q(&out.join("sweep.sbatch")),
        merge_script = q(&out.join("merge.sbatch")),
    );
    SlurmScripts {
        array,
        merge,
        submit,
    }
}
