//! The Parquet tables of docs/model.md §8: long format, keys first, zstd, with the
//! manifest as key-value metadata `contagion.manifest`. Rows stream in: each
//! block of paths is appended, and row groups are written as they fill, so a
//! table never holds more than one row group in memory.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::OutputError;
use crate::graph::collateral::CollateralGraph;
use crate::output::recorder::PathSummary;
pub use crate::output::table::{Names, index_values};
use crate::output::table::{col, frame};
use crate::scenario::validated::Scenario;

/// Key of the manifest in every Parquet file's key-value metadata.
pub const MANIFEST_KEY: &str = "contagion.manifest";

/// Rows gathered before a row group is written.
pub const ROW_GROUP_ROWS: usize = 1 << 17;

/// A Parquet file being written in row groups.
pub struct TableWriter {
    path: PathBuf,
    writer: BatchedWriter<File>,
    pending: Option<DataFrame>,
}

fn pq_err(path: &Path, e: PolarsError) -> OutputError {
    OutputError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string().replace('\n', " "),
    }
}

impl TableWriter {
    /// Create `path` for frames shaped like `empty` (its schema is used).
    pub fn create(
        path: &Path,
        empty: &DataFrame,
        manifest_json: &str,
    ) -> Result<Self, OutputError> {
        let file =
            crate::output::run_folder::create_file(path).map_err(|e| OutputError::io(path, e))?;
        let writer = ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .with_key_value_metadata(Some(KeyValueMetadata::from_static(vec![(
                MANIFEST_KEY.to_string(),
                manifest_json.to_string(),
            )])))
            .batched(empty.schema())
            .map_err(|e| pq_err(path, e))?;
        Ok(TableWriter {
            path: path.to_path_buf(),
            writer,
            pending: None,
        })
    }

    /// Append rows; a row group is written once enough have gathered.
    pub fn append(&mut self, df: DataFrame) -> Result<(), OutputError> {
        if df.height() == 0 {
            return Ok(());
        }
        match &mut self.pending {
            None => self.pending = Some(df),
            Some(p) => {
                p.vstack_mut(&df).map_err(|e| pq_err(&self.path, e))?;
            }
        }
        if self
            .pending
            .as_ref()
            .is_some_and(|p| p.height() >= ROW_GROUP_ROWS)
        {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        if let Some(mut df) = self.pending.take() {
            df.rechunk_mut();
            self.writer
                .write_batch(&df)
                .map_err(|e| pq_err(&self.path, e))?;
        }
        Ok(())
    }

    /// Write what is left and the footer; returns the file's size in bytes.
    pub fn finish(mut self) -> Result<u64, OutputError> {
        self.flush()?;
        self.writer.finish().map_err(|e| pq_err(&self.path, e))
    }
}

/// Write a whole frame to `path` in one go.
pub fn write_frame(path: &Path, df: DataFrame, manifest_json: &str) -> Result<u64, OutputError> {
    let mut w = TableWriter::create(path, &df, manifest_json)?;
    w.append(df)?;
    w.finish()
}

/// `graph_nodes.parquet`: the collateral graph's nodes at step 0.
pub fn graph_nodes_frame(g: &CollateralGraph) -> DataFrame {
    frame(vec![
        col(
            "node",
            g.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
        ),
        col("kind", g.nodes.iter().map(|n| n.kind).collect::<Vec<_>>()),
        col(
            "value_usd",
            g.nodes.iter().map(|n| n.value_usd).collect::<Vec<_>>(),
        ),
    ])
}

/// `graph_edges.parquet`: the collateral graph's edges at step 0.
pub fn graph_edges_frame(g: &CollateralGraph) -> DataFrame {
    frame(vec![
        col(
            "source",
            g.edges
                .iter()
                .map(|e| e.source.as_str())
                .collect::<Vec<_>>(),
        ),
        col(
            "target",
            g.edges
                .iter()
                .map(|e| e.target.as_str())
                .collect::<Vec<_>>(),
        ),
        col("kind", g.edges.iter().map(|e| e.kind).collect::<Vec<_>>()),
        col(
            "weight_usd",
            g.edges.iter().map(|e| e.weight_usd).collect::<Vec<_>>(),
        ),
    ])
}

/// `attribution.parquet` (with `--cut`): per path and protocol, bad debt
/// and liquidated value as run, with the links cut, and their difference.
pub fn attribution_frame(names: &Names, base: &[PathSummary], cut: &[PathSummary]) -> DataFrame {
    let n_proto = names.protocols.len();
    let mut path = Vec::new();
    let mut protocol = Vec::new();
    let mut cols: [Vec<f64>; 6] = Default::default();
    for (b, c) in base.iter().zip(cut) {
        for p in 0..n_proto {
            path.push(b.path as i64);
            protocol.push(names.protocols[p].as_str());
            let v = [
                b.protocol_bad_debt[p],
                c.protocol_bad_debt[p],
                b.protocol_bad_debt[p] - c.protocol_bad_debt[p],
                b.protocol_liquidated[p],
                c.protocol_liquidated[p],
                b.protocol_liquidated[p] - c.protocol_liquidated[p],
            ];
            for (col, x) in cols.iter_mut().zip(v) {
                col.push(x);
            }
        }
    }
    let [bd, bdc, bdv, lv, lvc, lvv] = cols;
    frame(vec![
        col("path", path),
        col("protocol", protocol),
        col("bad_debt", bd),
        col("bad_debt_cut", bdc),
        col("bad_debt_via_links", bdv),
        col("liquidated_value", lv),
        col("liquidated_value_cut", lvc),
        col("liquidated_value_via_links", lvv),
    ])
}

/// `paths.parquet`: one row per path.
pub fn paths_frame(summaries: &[PathSummary]) -> DataFrame {
    let f = |g: fn(&PathSummary) -> f64| summaries.iter().map(g).collect::<Vec<f64>>();
    let u = |g: fn(&PathSummary) -> u32| summaries.iter().map(g).collect::<Vec<u32>>();
    frame(vec![
        col(
            "path",
            summaries.iter().map(|s| s.path as i64).collect::<Vec<_>>(),
        ),
        col("bad_debt", f(|s| s.bad_debt)),
        col("bad_debt_contagion", f(|s| s.bad_debt_contagion)),
        col("insolvent_debt", f(|s| s.insolvent_debt)),
        col("liquidations", u(|s| s.liquidations)),
        col("positions_liquidated", u(|s| s.positions_liquidated)),
        col("liquidated_value", f(|s| s.liquidated_value)),
        col("max_cascade_rounds", u(|s| s.max_cascade_rounds)),
        col("capped_steps", u(|s| s.capped_steps)),
        col("max_drawdown", f(|s| s.max_drawdown)),
        col("perp_liquidations", u(|s| s.perp_liquidations)),
        col("perp_adl_events", u(|s| s.perp_adl_events)),
        col("perp_fund_drawn", f(|s| s.perp_fund_drawn)),
        col("perp_vault_bad_debt", f(|s| s.perp_vault_bad_debt)),
        col(
            "attack_pnl",
            summaries.iter().map(|s| s.attack_pnl).collect::<Vec<_>>(),
        ),
        col(
            "attack_borrowed",
            summaries
                .iter()
                .map(|s| s.attack_borrowed)
                .collect::<Vec<_>>(),
        ),
        col(
            "attack_bad_debt",
            summaries
                .iter()
                .map(|s| s.attack_bad_debt)
                .collect::<Vec<_>>(),
        ),
        col(
            "raid_pnl",
            summaries.iter().map(|s| s.raid_pnl).collect::<Vec<_>>(),
        ),
        col(
            "raid_liquidated",
            summaries
                .iter()
                .map(|s| s.raid_liquidated)
                .collect::<Vec<_>>(),
        ),
        col(
            "raid_bad_debt",
            summaries
                .iter()
                .map(|s| s.raid_bad_debt)
                .collect::<Vec<_>>(),
        ),
        col(
            "debtrank",
            summaries.iter().map(|s| s.debtrank).collect::<Vec<_>>(),
        ),
        col(
            "clearing_shortfall",
            summaries
                .iter()
                .map(|s| s.clearing.map(|c| c.0))
                .collect::<Vec<_>>(),
        ),
        col(
            "clearing_defaults",
            summaries
                .iter()
                .map(|s| s.clearing.map(|c| c.1))
                .collect::<Vec<_>>(),
        ),
    ])
}

/// `path_protocols.parquet`: one row per path and lending protocol, for
/// every path (not only the recorded ones).
pub fn path_protocols_frame(names: &Names, summaries: &[PathSummary]) -> DataFrame {
    let n = names.protocols.len();
    let mut path = Vec::with_capacity(summaries.len() * n);
    let mut protocol = Vec::with_capacity(summaries.len() * n);
    let (mut bad, mut contagion, mut liq, mut liqs, mut insolvent) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for s in summaries {
        for p in 0..n {
            path.push(s.path as i64);
            protocol.push(names.protocols[p].as_str());
            bad.push(s.protocol_bad_debt[p]);
            contagion.push(s.protocol_bad_debt_contagion[p]);
            liq.push(s.protocol_liquidated[p]);
            liqs.push(s.protocol_liquidations[p] as i64);
            insolvent.push(s.protocol_insolvent[p]);
        }
    }
    frame(vec![
        col("path", path),
        col("protocol", protocol),
        col("bad_debt", bad),
        col("bad_debt_contagion", contagion),
        col("insolvent_debt", insolvent),
        col("liquidations", liqs),
        col("liquidated_value", liq),
    ])
}

/// `path_perps.parquet`: one row per path and perp market, for every path.
pub fn path_perps_frame(names: &Names, summaries: &[PathSummary]) -> DataFrame {
    let n = names.perps.len();
    let mut path = Vec::with_capacity(summaries.len() * n);
    let mut market = Vec::with_capacity(summaries.len() * n);
    let (mut liqs, mut adl, mut fund, mut vault) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for s in summaries {
        for (m, o) in s.perp_markets.iter().enumerate() {
            path.push(s.path as i64);
            market.push(names.perps[m].as_str());
            liqs.push(o.liquidations as i64);
            adl.push(o.adl_events as i64);
            fund.push(o.fund_drawn);
            vault.push(o.vault_bad_debt);
        }
    }
    frame(vec![
        col("path", path),
        col("market", market),
        col("liquidations", liqs),
        col("adl_events", adl),
        col("fund_drawn", fund),
        col("vault_bad_debt", vault),
    ])
}

/// A per-path table (one row per path, or per path and protocol, perp or
/// CDP): written by every run of a scenario it applies to, and by every
/// unit of a sweep, into a folder of the same name.
#[derive(Clone, Copy)]
pub struct PathTable {
    /// Table name: the file stem and the sweep's folder name.
    pub name: &'static str,
    /// The rows of a block of paths' summaries.
    pub frame: fn(&Names, &[PathSummary]) -> DataFrame,
    /// Whether a run of this scenario writes the table.
    pub written: fn(&Scenario) -> bool,
}

/// Every per-path table, `paths` first.
pub fn path_tables() -> [PathTable; 5] {
    [
        PathTable {
            name: "paths",
            frame: |_, s| paths_frame(s),
            written: |_| true,
        },
        PathTable {
            name: "path_protocols",
            frame: path_protocols_frame,
            written: |sc| !sc.protocols.is_empty(),
        },
        PathTable {
            name: "path_perps",
            frame: path_perps_frame,
            written: |sc| !sc.perps.is_empty(),
        },
        PathTable {
            name: "path_cdps",
            frame: crate::mechanism::cdp::path_table::path_frame,
            written: |sc| !sc.cdps.is_empty(),
        },
        PathTable {
            name: "path_actors",
            frame: crate::mechanism::governance::path_table::path_frame,
            written: |sc| sc.governance.any(),
        },
    ]
}

/// `book.parquet`: the initial book, one row per collateral entry of each
/// position (a position without collateral has none). Its `id, protocol,
/// asset, units, debt` columns are the snapshot format `positions_file`
/// reads, so a generated book can be run again as a snapshot.
pub fn book_frame(sc: &Scenario) -> DataFrame {
    let b = &sc.book;
    let rows = b.coll_asset.len();
    let mut id = Vec::with_capacity(rows);
    let mut protocol = Vec::with_capacity(rows);
    let mut asset = Vec::with_capacity(rows);
    let mut units = Vec::with_capacity(rows);
    let mut debt = Vec::with_capacity(rows);
    let mut debt_asset = Vec::with_capacity(rows);
    let mut value = Vec::with_capacity(rows);
    let mut hf = Vec::with_capacity(rows);
    let mut liq_price = Vec::with_capacity(rows);
    let mut source = Vec::with_capacity(rows);
    for i in 0..b.len() {
        let spec = &sc.protocols[b.protocol[i] as usize];
        let h = b.initial_hf(sc.terms(), i);
        let range = b.coll_range(i);
        let single = range.len() == 1;
        for k in range {
            let a = b.coll_asset[k] as usize;
            id.push(b.id[i] as i64);
            protocol.push(spec.name.as_str());
            asset.push(sc.assets[a].symbol.as_str());
            units.push(b.coll_units[k]);
            debt.push(b.debt[i]);
            debt_asset.push(sc.assets[spec.debt_asset].symbol.as_str());
            value.push(b.coll_units[k] * sc.assets[a].initial_price);
            hf.push(h.is_finite().then_some(h));
            // HF = units·p·LT / (debt·p_d) = 1 at p = debt·p_d / (units·LT).
            let p_d = sc.assets[spec.debt_asset].initial_price;
            liq_price.push(
                (single && b.debt[i] > 0.0 && b.coll_units[k] > 0.0)
                    .then(|| b.debt[i] * p_d / (b.coll_units[k] * b.coll_lt[k])),
            );
            source.push(b.origins[b.origin[i] as usize].as_str());
        }
    }
    frame(vec![
        col("id", id),
        col("protocol", protocol),
        col("asset", asset),
        col("units", units),
        col("debt", debt),
        col("debt_asset", debt_asset),
        col("collateral_value", value),
        col("initial_hf", hf),
        col("liquidation_price", liq_price),
        col("source", source),
    ])
}
