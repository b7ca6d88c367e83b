//! A sweep folder's files: units of work, their completion records, and
//! atomic writes through registered temporaries (docs/sweeps.md).
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

use serde::{Deserialize, Serialize};

use crate::error::OutputError;
use crate::output::run_folder::{register_temporary, unregister_temporary};
use crate::sweep::spec::Sweep;

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
pub(super) struct Record {
    /// The sweep the unit belongs to.
    pub sweep_hash: String,
    /// Run id.
    pub run: u32,
    /// Block of the run's paths.
    pub block: u32,
    /// Its paths, `[first, end)`.
    pub paths: [u32; 2],
    /// The files it wrote, relative to the sweep folder.
    pub files: Vec<String>,
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

pub(super) fn io(path: &Path) -> impl Fn(std::io::Error) -> OutputError + '_ {
    move |e| OutputError::io(path, e)
}

/// The temporary name `path` is written under before its rename: removed
/// by a catchable signal (registered) or by the next unsharded invocation.
pub(super) fn temporary(path: &Path) -> PathBuf {
    path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ))
}

/// Rename a registered temporary into place and forget it.
pub(super) fn rename_into_place(tmp: &Path, path: &Path) -> Result<(), OutputError> {
    let r = std::fs::rename(tmp, path).map_err(io(path));
    if r.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    unregister_temporary(tmp);
    r
}

/// Temporary files registered for removal on a signal, and removed when
/// dropped (a failed unit leaves nothing).
pub(super) struct Temporaries(Vec<PathBuf>);

impl Temporaries {
    pub(super) fn new(paths: Vec<PathBuf>) -> Self {
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
pub(super) fn write_atomic(path: &Path, text: &str) -> Result<(), OutputError> {
    let tmp = temporary(path);
    register_temporary(&tmp);
    let written = crate::output::run_folder::create_file(&tmp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        unregister_temporary(&tmp);
        return Err(OutputError::io(&tmp, e));
    }
    rename_into_place(&tmp, path)
}

pub(super) fn record_path(out: &Path, u: Unit) -> PathBuf {
    out.join("units")
        .join(format!("run-{:05}.part-{:04}.json", u.run, u.block))
}

pub(super) fn read_record(out: &Path, u: Unit) -> Option<Record> {
    let text = std::fs::read_to_string(record_path(out, u)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether unit `u` is complete for this sweep.
pub(super) fn complete(sw: &Sweep, out: &Path, u: Unit) -> bool {
    read_record(out, u).is_some_and(|r| r.sweep_hash == sw.hash)
}

/// The typed value of an axis: numbers as f64, anything else as text.
pub(super) fn numeric_axis(sw: &Sweep, axis: usize) -> bool {
    sw.runs
        .iter()
        .all(|r| r.values[axis].as_float().is_some() || r.values[axis].as_integer().is_some())
}

pub(super) fn as_f64(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

pub(crate) fn as_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Delete the temporary files (`.name.tmp-PID`) a killed invocation left
/// under `out`, saying so on stderr. Only called where no other invocation
/// can be writing (an unsharded run, the merge).
pub(super) fn clear_temporaries(out: &Path) -> Result<(), OutputError> {
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

/// The folder of one run of one table: `TABLE/run-00042`.
pub fn run_dir(out: &Path, table: &str, run: u32) -> PathBuf {
    out.join(table).join(format!("run-{run:05}"))
}

pub(super) fn unit_file(out: &Path, table: &str, u: Unit) -> PathBuf {
    run_dir(out, table, u.run).join(format!("part-{:04}.parquet", u.block))
}
