//! Book snapshot files (`positions_file`): CSV or Parquet rows of
//! `id, protocol, asset, units, debt`, read before the book groups them.

use std::path::Path;

use crate::error::ScenarioError;

/// One row of a book snapshot file.
#[derive(Debug, serde::Deserialize)]
pub(super) struct BookRow {
    pub id: String,
    pub protocol: String,
    pub asset: String,
    pub units: f64,
    pub debt: f64,
}

fn book_error(path: &Path, problem: impl std::fmt::Display) -> ScenarioError {
    ScenarioError::invalid(
        format!("positions_file {}", path.display()),
        problem.to_string().replace('\n', " "),
    )
}

/// Read a snapshot: `.parquet` through polars, anything else as CSV with a
/// header row `id,protocol,asset,units,debt`.
pub(super) fn read_book_file(path: &Path) -> Result<Vec<BookRow>, ScenarioError> {
    if !path.exists() {
        return Err(book_error(path, "file not found"));
    }
    if path.is_dir() {
        return Err(book_error(
            path,
            "is a folder; name a CSV or Parquet file of positions",
        ));
    }
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let rows = if is_parquet {
        read_book_parquet(path)?
    } else {
        read_book_csv(path)?
    };
    if rows.is_empty() {
        return Err(book_error(
            path,
            "holds no positions (an empty snapshot is almost certainly the wrong file)",
        ));
    }
    Ok(rows)
}

fn read_book_csv(path: &Path) -> Result<Vec<BookRow>, ScenarioError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| book_error(path, e))?;
    let mut rows = Vec::new();
    for row in reader.deserialize() {
        rows.push(row.map_err(|e: csv::Error| book_error(path, e))?);
    }
    Ok(rows)
}

fn read_book_parquet(path: &Path) -> Result<Vec<BookRow>, ScenarioError> {
    use polars::prelude::*;
    let file = std::fs::File::open(path).map_err(|e| book_error(path, e))?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| book_error(path, e))?;
    let col = |name: &str, dtype: DataType| -> Result<Column, ScenarioError> {
        df.column(name)
            .map_err(|_| book_error(path, format!("missing column `{name}`")))?
            .cast(&dtype)
            .map_err(|e| book_error(path, format!("column `{name}`: {e}")))
    };
    let strings = |c: &Column, name: &str| -> Result<Vec<String>, ScenarioError> {
        let ca = c.str().map_err(|e| book_error(path, e))?;
        ca.iter()
            .map(|v| {
                v.map(str::to_string)
                    .ok_or_else(|| book_error(path, format!("column `{name}` has a null")))
            })
            .collect()
    };
    let floats = |c: &Column, name: &str| -> Result<Vec<f64>, ScenarioError> {
        let ca = c.f64().map_err(|e| book_error(path, e))?;
        ca.iter()
            .map(|v| v.ok_or_else(|| book_error(path, format!("column `{name}` has a null"))))
            .collect()
    };
    let id = strings(&col("id", DataType::String)?, "id")?;
    let protocol = strings(&col("protocol", DataType::String)?, "protocol")?;
    let asset = strings(&col("asset", DataType::String)?, "asset")?;
    let units = floats(&col("units", DataType::Float64)?, "units")?;
    let debt = floats(&col("debt", DataType::Float64)?, "debt")?;
    Ok((0..id.len())
        .map(|i| BookRow {
            id: id[i].clone(),
            protocol: protocol[i].clone(),
            asset: asset[i].clone(),
            units: units[i],
            debt: debt[i],
        })
        .collect())
}
