//! Book snapshot files (`positions_file`): CSV or Parquet rows of
//! `id, protocol, asset, units, debt`, read before the book groups them.

use std::path::Path;

use crate::error::ScenarioError;
use crate::scenario::snapshot::{Columns, Row, read_rows};

/// One row of a book snapshot file.
#[derive(Debug, serde::Deserialize)]
pub(super) struct BookRow {
    pub id: String,
    pub protocol: String,
    pub asset: String,
    pub units: f64,
    pub debt: f64,
}

impl Row for BookRow {
    fn from_columns(text: Vec<String>, numbers: Vec<f64>) -> Self {
        let [id, protocol, asset]: [String; 3] = text.try_into().expect("three text columns");
        BookRow {
            id,
            protocol,
            asset,
            units: numbers[0],
            debt: numbers[1],
        }
    }
}

/// Read a snapshot: `.parquet` through polars, anything else as CSV with a
/// header row `id,protocol,asset,units,debt`.
pub(super) fn read_book_file(path: &Path) -> Result<Vec<BookRow>, ScenarioError> {
    let columns = Columns {
        text: &["id", "protocol", "asset"],
        numbers: &["units", "debt"],
        rows_are: "positions",
    };
    read_rows("positions_file", path, &columns)
}
