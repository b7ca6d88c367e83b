//! Running a sweep: preparing its folder, running units (sharded and
//! resumable), then the merge and the sweep charts (docs/sweeps.md).

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::CandidateSearch;
use crate::error::{OutputError, RunError, ScenarioError};
use crate::mechanism::lending::LiquidationRows;
use crate::montecarlo::run_path_range;
use crate::output::parquet::{Names, TableWriter, path_tables, write_frame};
use crate::output::spill::{Spill, take_spilled};
use crate::output::table::step_tables;
use crate::scenario::validated::Scenario;
use crate::sweep::files::*;
pub use crate::sweep::files::{Unit, run_dir, shard_of, units};
use crate::sweep::merge::write_runs;
pub use crate::sweep::merge::{METRICS, RunRow, STATS};
pub use crate::sweep::slurm::{SlurmResources, SlurmScripts, slurm_scripts};
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

/// `sweep.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SweepManifest {
    tool: String,
    version: String,
    /// The build's git commit (`output::manifest::GIT_COMMIT`).
    #[serde(default)]
    git_commit: String,
    name: String,
    hash: String,
    seed: u64,
    paths: u32,
    units: u32,
    fields: Vec<String>,
    runs: Vec<serde_json::Value>,
    sweep: serde_json::Value,
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
        "git_commit": crate::output::manifest::GIT_COMMIT,
        "sweep": { "name": sw.raw.sweep.name, "hash": sw.hash, "seed": sw.base.seed },
        "run": run.id,
        "params": params_json(sw, run),
        "unit": { "block": u.block, "paths": [paths.start, paths.end] },
    })
    .to_string()
}

/// Every table a sweep may write, one folder each: the per-step tables
/// the mechanisms declare (`output::table`), then the per-path tables
/// (`paths` first).
pub fn all_tables() -> Vec<&'static str> {
    step_tables()
        .iter()
        .map(|t| t.name)
        .chain(path_tables().iter().map(|t| t.name))
        .collect()
}

/// What a sweep writes at the top of its folder besides the tables: all
/// that `--force` removes.
const SWEEP_ENTRIES: [&str; 9] = [
    "sweep.json",
    "runs.parquet",
    "report.html",
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
        git_commit: crate::output::manifest::GIT_COMMIT.into(),
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

/// The tables a run of `sc` writes (in the order of `all_tables`).
fn tables(sc: &Scenario) -> Vec<&'static str> {
    step_tables()
        .iter()
        .filter(|t| (t.written)(sc))
        .map(|t| t.name)
        .chain(
            path_tables()
                .into_iter()
                .filter(|t| (t.written)(sc))
                .map(|t| t.name),
        )
        .collect()
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
    // Recorded paths' liquidation rows go to disk as they grow (removed
    // if the unit fails).
    let spill = std::sync::Arc::new(Spill::new(sc, out));
    let summaries = run_path_range(
        sc,
        range,
        CandidateSearch::Indexed,
        Some(spill.clone()),
        |block| {
            for record in block.into_iter().filter(|r| r.recorded) {
                let one = std::slice::from_ref(&record);
                for (w, (t, f)) in writers.iter_mut().zip(&framers) {
                    if *t == LiquidationRows::TABLE.name {
                        for file in &record.spilled {
                            w.append(tags.apply(take_spilled(file)?))?;
                        }
                    }
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
    for t in path_tables().iter().filter(|t| (t.written)(sc)) {
        write_frame(
            &tmp(t.name),
            tags.apply((t.frame)(&names, &summaries)),
            &meta,
        )?;
    }
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

/// The run table: run id and every axis value, one line per run.
pub fn list(sw: &Sweep) -> String {
    let mut s = format!("run\t{}\n", sw.fields().join("\t"));
    for r in &sw.runs {
        let vals: Vec<String> = r.values.iter().map(as_text).collect();
        s += &format!("{:05}\t{}\n", r.id, vals.join("\t"));
    }
    s
}

/// `runs.parquet` from completed units, and the sweep charts. Errors,
/// naming the first missing unit, when the sweep is not complete.
pub fn merge(sw: &Sweep, out: &Path) -> Result<Vec<RunRow>, RunError> {
    let rows = write_runs(sw, out)?;
    let figures = crate::sweep::charts::draw(sw, &rows, &out.join("charts"))?;
    let page = crate::report::sweep_report(sw, out, &rows, &figures)?;
    write_atomic(&out.join("report.html"), &page)?;
    Ok(rows)
}
