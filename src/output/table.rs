//! Output tables declared once. A per-step table (one row per recorded
//! step and key) is declared with [`step_table!`](crate::step_table) beside
//! the mechanism that fills it: its columns, their types and a line of doc
//! each. The declaration gives the row buffer the engine pushes to, the
//! check that no value written is NaN or infinite, the polars frame the
//! writers append, and the column list `docs/tables.md` is generated from
//! (`tests/it/contract.rs` fails when that file is out of date).
//!
//! Every frame starts with `path` (Int64), then the declared columns in
//! order. Rows are in the order the engine pushed them: by step, then by
//! the table's key in scenario order.

use polars::prelude::*;

use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

/// One declared column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDoc {
    /// Column name in the Parquet file.
    pub name: &'static str,
    /// Its type as readers see it (`Int64`, `UInt32`, `Float64`,
    /// `Float64, nullable`, `Boolean`, `String`).
    pub dtype: &'static str,
    /// One line of doc.
    pub doc: &'static str,
}

/// A per-step table: its file, columns, frame and when a run writes it.
#[derive(Clone, Copy)]
pub struct StepTable {
    /// Table name: the sweep's folder name and the file stem.
    pub name: &'static str,
    /// One line of doc: what a row is.
    pub doc: &'static str,
    /// The declared columns, after `path`.
    pub columns: &'static [ColumnDoc],
    /// The rows of a block of recorded paths as a frame.
    pub frame: fn(&Names, &[PathRecord]) -> DataFrame,
    /// Whether a run of this scenario writes the table.
    pub written: fn(&Scenario) -> bool,
}

impl StepTable {
    /// `NAME.parquet`.
    pub fn file(&self) -> String {
        format!("{}.parquet", self.name)
    }
}

/// Every per-step table, in the order runs and sweeps write them.
pub fn step_tables() -> [StepTable; 9] {
    use crate::market::MarketRows;
    use crate::mechanism::lending::{LiquidationRows, ProtocolRows};
    use crate::mechanism::options::GreekRows;
    use crate::mechanism::oracle::table::OracleRows;
    use crate::mechanism::perp::PerpRows;
    [
        MarketRows::TABLE,
        ProtocolRows::TABLE,
        LiquidationRows::TABLE,
        PerpRows::TABLE,
        GreekRows::TABLE,
        OracleRows::TABLE,
        crate::mechanism::cdp::CdpRows::TABLE,
        crate::mechanism::cdp::AuctionRows::TABLE,
        crate::mechanism::governance::table::ParameterRows::TABLE,
    ]
}

/// Concatenate one buffer of every record.
pub fn gather<T: Clone>(records: &[PathRecord], f: impl Fn(&PathRecord) -> &Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(records.iter().map(|r| f(r).len()).sum());
    for r in records {
        out.extend_from_slice(f(r));
    }
    out
}

/// Index values (path, step, round, position, run) as written: Int64 in
/// every table, so that `step - 1` at step 0 is −1 in polars, pandas and
/// DuckDB alike instead of wrapping to 4294967295 or overflowing.
pub fn index_values<T: Copy + Into<u64>>(values: &[T]) -> Vec<i64> {
    values.iter().map(|&v| v.into() as i64).collect()
}

/// The `path` column: each record's path repeated over its `len` rows.
pub fn path_keys(records: &[PathRecord], len: impl Fn(&PathRecord) -> usize) -> Vec<i64> {
    let mut out = Vec::new();
    for r in records {
        out.extend(std::iter::repeat_n(r.summary.path as i64, len(r)));
    }
    out
}

/// Indices turned into names.
pub fn name_col<'a>(idx: &[u32], table: &'a [String]) -> Vec<&'a str> {
    idx.iter().map(|&i| table[i as usize].as_str()).collect()
}

/// A frame of equal-length columns.
pub fn frame(columns: Vec<Column>) -> DataFrame {
    let height = columns.first().map_or(0, |c| c.len());
    DataFrame::new(height, columns).expect("columns of one table have equal lengths")
}

/// A named column.
pub fn col<T, P>(name: &str, values: T) -> Column
where
    Series: NamedFrom<T, P>,
    P: ?Sized,
{
    Series::new(name.into(), values).into_column()
}

/// The first NaN or infinity of a value column, as the error naming the
/// table, column, path and step.
pub fn check_column<'a>(
    table: &'static str,
    column: &str,
    path: u32,
    steps: &[u32],
    values: impl Iterator<Item = Option<f64>> + 'a,
) -> Result<(), crate::error::EngineError> {
    for (row, v) in values.enumerate() {
        if let Some(v) = v
            && !v.is_finite()
        {
            let at = match steps.get(row) {
                Some(t) => format!("path {path}, step {t}"),
                None => format!("path {path}"),
            };
            return Err(crate::error::EngineError::NonFiniteOutput {
                table,
                column: column.to_string(),
                at,
                value: v,
            });
        }
    }
    Ok(())
}

/// Declare a per-step table: `step_table! { /// doc
/// pub struct PerpRows in "perps" of perps, written if |sc| !sc.perps.is_empty() {
/// /// doc
/// "step" step: u32 as index, "market" perp: u32 as name(perps), … } }`.
/// Column kinds: `index` (u32 or u64, written Int64), `name(FIELD)` (an
/// index written as `Names::FIELD[i]`), `value` (f64, checked finite),
/// `maybe` (`Option<f64>`, nullable, checked finite), `count` (u32),
/// `flag` (bool). The struct must have a `step` column.
#[macro_export]
macro_rules! step_table {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident in $table:literal of $rec:ident, written if $written:expr => {
            $( $(#[doc = $cdoc:literal])* $col:literal $field:ident : $ty:ty as $kind:ident $(($names:ident))? ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            $( $(#[doc = $cdoc])* pub $field: Vec<$ty>, )*
        }

        impl $name {
            /// The table's declaration (`output::table`).
            pub const TABLE: $crate::output::table::StepTable = $crate::output::table::StepTable {
                name: $table,
                doc: concat!($($doc),*),
                columns: &[
                    $( $crate::output::table::ColumnDoc {
                        name: $col,
                        dtype: $crate::step_table!(@dtype $kind),
                        doc: concat!($($cdoc),*),
                    }, )*
                ],
                frame: Self::frame,
                written: $written,
            };

            /// The first NaN or infinity among the values this path will
            /// write, as the error naming its table, column, path and step.
            pub fn check_finite(&self, path: u32) -> Result<(), $crate::error::EngineError> {
                $( $crate::step_table!(@check $kind, self, $field, $col, path, concat!($table, ".parquet")); )*
                Ok(())
            }

            /// The rows of a block of recorded paths as a frame: `path`,
            /// then the declared columns.
            pub fn frame(
                names: &$crate::output::table::Names,
                records: &[$crate::output::recorder::PathRecord],
            ) -> polars::prelude::DataFrame {
                use $crate::output::table::{col, gather, path_keys};
                let _ = names;
                $crate::output::table::frame(vec![
                    col("path", path_keys(records, |r| r.$rec.step.len())),
                    $( $crate::step_table!(@frame $kind $(($names))?, $col, names, gather(records, |r| &r.$rec.$field)), )*
                ])
            }
        }
    };
    (@dtype index) => { "Int64" };
    (@dtype name) => { "String" };
    (@dtype value) => { "Float64" };
    (@dtype maybe) => { "Float64, nullable" };
    (@dtype count) => { "UInt32" };
    (@dtype flag) => { "Boolean" };
    (@check value, $s:ident, $field:ident, $col:literal, $path:ident, $file:expr) => {
        $crate::output::table::check_column($file, $col, $path, &$s.step, $s.$field.iter().map(|&v| Some(v)))?
    };
    (@check maybe, $s:ident, $field:ident, $col:literal, $path:ident, $file:expr) => {
        $crate::output::table::check_column($file, $col, $path, &$s.step, $s.$field.iter().copied())?
    };
    (@check $other:ident, $s:ident, $field:ident, $col:literal, $path:ident, $file:expr) => {};
    (@frame index, $col:literal, $names:ident, $values:expr) => {
        col($col, $crate::output::table::index_values(&$values))
    };
    (@frame name($table:ident), $col:literal, $names:ident, $values:expr) => {
        col($col, $crate::output::table::name_col(&$values, &$names.$table))
    };
    (@frame $other:ident, $col:literal, $names:ident, $values:expr) => {
        col($col, $values)
    };
}

/// `docs/tables.md`: every per-step table's columns, from the declarations.
pub fn markdown() -> String {
    let mut s = String::from(
        "# Per-step tables\n\n\
         Generated from the tables' declarations (`step_table!` beside each\n\
         mechanism; `src/output/table.rs`): do not edit by hand. After a\n\
         change, `CONTAGION_BLESS=1 cargo test --release --test it contract::`\n\
         rewrites it. Every table starts with `path` (Int64); rows come by step,\n\
         then by the table's key in scenario order. docs/model.md §8 says when\n\
         each value is priced.\n",
    );
    for t in step_tables() {
        s.push_str(&format!(
            "\n## `{}`\n\n{}\n\n| column | type | meaning |\n| --- | --- | --- |\n| `path` | Int64 | Monte Carlo path |\n",
            t.file(),
            t.doc.trim()
        ));
        for c in t.columns {
            s.push_str(&format!(
                "| `{}` | {} | {} |\n",
                c.name,
                c.dtype,
                c.doc.trim()
            ));
        }
    }
    s
}

/// Names used to turn indices into strings.
pub struct Names {
    /// Asset symbols.
    pub assets: Vec<String>,
    /// Protocol names.
    pub protocols: Vec<String>,
    /// Liquidator names.
    pub liquidators: Vec<String>,
    /// Perp market names.
    pub perps: Vec<String>,
    /// Hedger names, then option vault names.
    pub option_agents: Vec<String>,
    /// How many of `option_agents` are hedgers.
    pub hedgers: usize,
    /// The kinds of option agent, by `greeks.parquet`'s `kind` index.
    pub option_kinds: Vec<String>,
    /// CDP names.
    pub cdps: Vec<String>,
    /// Every CDP's keepers in order, then an empty name for "none".
    pub keepers: Vec<String>,
    /// Per field change (governance), its target and field.
    pub parameter_targets: Vec<String>,
    pub parameter_fields: Vec<String>,
    /// Who changes parameters.
    pub parameter_actors: Vec<String>,
    /// Each governance actor's name and kind.
    pub actor_names: Vec<String>,
    pub actor_kinds: Vec<String>,
}

impl Names {
    /// The names of a scenario.
    pub fn of(sc: &Scenario) -> Self {
        use crate::mechanism::governance::table as gov;
        let (targets, fields) = gov::field_names(sc);
        Names {
            assets: sc.assets.iter().map(|a| a.symbol.clone()).collect(),
            protocols: sc.protocols.iter().map(|p| p.name.clone()).collect(),
            // Forced sales (docs/model.md §5) name the protocol's own sale,
            // one past the liquidators.
            liquidators: sc
                .liquidators
                .iter()
                .map(|l| l.name.clone())
                .chain(
                    sc.protocols
                        .iter()
                        .any(|p| p.forced_sale)
                        .then(|| crate::mechanism::lending::validate::FORCED_SALE.to_string()),
                )
                .collect(),
            perps: sc.perps.iter().map(|p| p.name.clone()).collect(),
            option_agents: sc
                .hedgers
                .iter()
                .map(|h| h.name.clone())
                .chain(sc.option_vaults.iter().map(|v| v.name.clone()))
                .collect(),
            hedgers: sc.hedgers.len(),
            option_kinds: vec!["hedger".into(), "vault".into()],
            cdps: sc.cdps.iter().map(|c| c.name.clone()).collect(),
            keepers: crate::mechanism::cdp::table::keeper_names(sc),
            parameter_targets: targets,
            parameter_fields: fields,
            parameter_actors: gov::ACTORS.iter().map(|a| a.to_string()).collect(),
            actor_names: gov::actor_names(sc),
            actor_kinds: (sc.governance.actors.iter())
                .map(|a| a.kind.name().to_string())
                .collect(),
        }
    }
}
