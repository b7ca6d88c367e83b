//! Snapshot files a scenario names (a lending book's `positions_file`, a
//! CDP's `vaults_file`): CSV with a header row, or Parquet, read into rows
//! of a fixed set of text and number columns. Extra columns are ignored.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::ScenarioError;

/// A file a scenario names, resolved beside the scenario file unless
/// absolute.
pub fn resolve(base: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// The columns a snapshot's rows are made of.
pub struct Columns<'a> {
    /// Text columns, in the order `Row::from_columns` receives them.
    pub text: &'a [&'a str],
    /// Number columns (read as f64), likewise.
    pub numbers: &'a [&'a str],
    /// What one row is, plural, for the empty-file message ("positions").
    pub rows_are: &'a str,
}

/// A row built from a Parquet file's columns (CSV rows deserialise by
/// header name).
pub trait Row: DeserializeOwned {
    /// The row from its text and number cells, in `Columns` order.
    fn from_columns(text: Vec<String>, numbers: Vec<f64>) -> Self;
}

/// Read a snapshot: `.parquet` through polars, anything else as CSV.
/// `field` names the setting in every error (`positions_file`).
pub fn read_rows<R: Row>(
    field: &str,
    path: &Path,
    columns: &Columns<'_>,
) -> Result<Vec<R>, ScenarioError> {
    let error = |problem: &dyn std::fmt::Display| {
        ScenarioError::invalid(
            format!("{field} {}", path.display()),
            problem.to_string().replace('\n', " "),
        )
    };
    if !path.exists() {
        return Err(error(&"file not found"));
    }
    if path.is_dir() {
        return Err(error(&format!(
            "is a folder; name a CSV or Parquet file of {}",
            columns.rows_are
        )));
    }
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let rows = if is_parquet {
        read_parquet(path, columns).map_err(|e| error(&e))?
    } else {
        read_csv(path).map_err(|e| error(&e))?
    };
    if rows.is_empty() {
        return Err(error(&format!(
            "holds no {} (an empty snapshot is almost certainly the wrong file)",
            columns.rows_are
        )));
    }
    Ok(rows)
}

fn read_csv<R: Row>(path: &Path) -> Result<Vec<R>, csv::Error> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)?;
    reader.deserialize().collect()
}

fn read_parquet<R: Row>(path: &Path, columns: &Columns<'_>) -> Result<Vec<R>, String> {
    use polars::prelude::*;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| e.to_string())?;
    let col = |name: &str, dtype: DataType| -> Result<Column, String> {
        df.column(name)
            .map_err(|_| format!("missing column `{name}`"))?
            .cast(&dtype)
            .map_err(|e| format!("column `{name}`: {e}"))
    };
    let null = |name: &str| format!("column `{name}` has a null");
    let mut text: Vec<Vec<String>> = Vec::with_capacity(columns.text.len());
    for name in columns.text {
        let c = col(name, DataType::String)?;
        let ca = c.str().map_err(|e| e.to_string())?;
        let values: Option<Vec<String>> = ca.iter().map(|v| v.map(str::to_string)).collect();
        text.push(values.ok_or_else(|| null(name))?);
    }
    let mut numbers: Vec<Vec<f64>> = Vec::with_capacity(columns.numbers.len());
    for name in columns.numbers {
        let c = col(name, DataType::Float64)?;
        let ca = c.f64().map_err(|e| e.to_string())?;
        let values: Option<Vec<f64>> = ca.iter().collect();
        numbers.push(values.ok_or_else(|| null(name))?);
    }
    Ok((0..df.height())
        .map(|i| {
            R::from_columns(
                text.iter().map(|c| c[i].clone()).collect(),
                numbers.iter().map(|c| c[i]).collect(),
            )
        })
        .collect())
}
