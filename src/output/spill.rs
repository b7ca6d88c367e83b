//! Liquidation rows of a recorded path, moved to disk while the path runs.
//!
//! A crash on a large book liquidates hundreds of thousands of positions on
//! one path: held until the path ends, its rows would cost some 140 bytes
//! each per recorded path in flight. Instead, once a recorded path holds
//! `SPILL_ROWS` of them at the end of a step, they are checked (nothing
//! non-finite is ever written), framed and written to an uncompressed
//! Parquet file under a temporary name in the output folder; the record
//! keeps the file's name. The writer reads the files back in order, before
//! the rows still in memory, and removes them. Where a step ends decides
//! when a path spills, never the thread count, so the tables are the same
//! bytes whatever the threads.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{EngineError, OutputError};
use crate::mechanism::lending::LiquidationRows;
use crate::output::recorder::PathRecord;
use crate::output::run_folder::{register_temporary, temporary_name, unregister_temporary};
use crate::output::table::Names;
use crate::scenario::validated::Scenario;

/// A recorded path moves its liquidation rows to disk once it holds this
/// many (about 9 MB of rows).
pub const SPILL_ROWS: usize = 1 << 15;

/// Where, and under which names, recorded paths spill.
pub struct Spill {
    dir: PathBuf,
    names: Names,
    rows: usize,
    /// Files written and not yet taken back: removed when the spill is
    /// dropped (a run that failed leaves none).
    written: std::sync::Mutex<Vec<PathBuf>>,
}

impl Drop for Spill {
    fn drop(&mut self) {
        let files = self
            .written
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        for f in files {
            if std::fs::remove_file(&f).is_ok() {
                unregister_temporary(&f);
            }
        }
    }
}

fn pq_err(path: &Path, e: PolarsError) -> OutputError {
    OutputError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string().replace('\n', " "),
    }
}

impl Spill {
    /// Spill into `dir` (the output folder being written) at `SPILL_ROWS`.
    pub fn new(sc: &Scenario, dir: &Path) -> Self {
        Self::with_rows(sc, dir, SPILL_ROWS)
    }

    /// Spill at `rows` rows (tests use small values).
    pub fn with_rows(sc: &Scenario, dir: &Path, rows: usize) -> Self {
        Spill {
            dir: dir.to_path_buf(),
            names: Names::of(sc),
            rows: rows.max(1),
            written: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// At the end of a step: move the record's liquidation rows to a file
    /// if it is recorded and holds enough of them.
    pub fn after_step(&self, rec: &mut PathRecord) -> Result<(), EngineError> {
        if !rec.recorded || rec.liquidations.step.len() < self.rows {
            return Ok(());
        }
        let path = rec.summary.path;
        rec.liquidations.check_finite(path)?;
        let chunk = PathRecord {
            liquidations: std::mem::take(&mut rec.liquidations),
            summary: crate::output::PathSummary {
                path,
                ..Default::default()
            },
            ..PathRecord::default()
        };
        let mut df = LiquidationRows::frame(&self.names, std::slice::from_ref(&chunk));
        drop(chunk);
        let file = self.dir.join(temporary_name(
            &format!("spill-{path:05}-{:04}.parquet", rec.spilled.len()),
            "tmp",
        ));
        register_temporary(&file);
        self.written.lock().expect("spill lock").push(file.clone());
        let mut write = || -> Result<(), OutputError> {
            let f = crate::output::run_folder::create_file(&file)
                .map_err(|e| OutputError::io(&file, e))?;
            ParquetWriter::new(f)
                .with_compression(ParquetCompression::Uncompressed)
                .finish(&mut df)
                .map_err(|e| pq_err(&file, e))?;
            Ok(())
        };
        write().map_err(EngineError::Spill)?;
        rec.spilled.push(file);
        Ok(())
    }
}

/// Read a spilled chunk back and remove its file.
pub fn take_spilled(file: &Path) -> Result<DataFrame, OutputError> {
    // (The spill's own list still names it; removing a missing file at
    // drop is a no-op.)
    let f = std::fs::File::open(file).map_err(|e| OutputError::io(file, e))?;
    let df = ParquetReader::new(f)
        .finish()
        .map_err(|e| pq_err(file, e))?;
    std::fs::remove_file(file).map_err(|e| OutputError::io(file, e))?;
    unregister_temporary(file);
    Ok(df)
}
