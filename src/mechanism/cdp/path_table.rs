//! `path_cdps.parquet`: each CDP's outcome per path (listed in
//! `output::parquet::path_tables`, written by runs and sweeps). Apart from
//! `table.rs`, which the recorder imports.

use polars::prelude::DataFrame;

use crate::output::recorder::PathSummary;
use crate::output::table::{Names, col, frame};

/// `path_cdps.parquet`: one row per path and CDP, for every path.
pub fn path_frame(names: &Names, summaries: &[PathSummary]) -> DataFrame {
    let n = names.cdps.len();
    let mut path = Vec::with_capacity(summaries.len() * n);
    let mut cdp = Vec::with_capacity(summaries.len() * n);
    let mut counts: [Vec<i64>; 4] = Default::default();
    let mut values: [Vec<f64>; 7] = Default::default();
    for s in summaries {
        for (c, o) in s.cdps.iter().enumerate() {
            path.push(s.path as i64);
            cdp.push(names.cdps[c].as_str());
            let k = [o.auctions, o.finished, o.zero_bid_auctions, o.debt_auctions];
            for (col, x) in counts.iter_mut().zip(k) {
                col.push(x as i64);
            }
            for (col, x) in values.iter_mut().zip([
                o.raised,
                o.shortfall,
                o.deficit,
                o.gov_minted,
                o.psm_gem,
                o.psm_impairment,
                o.repaid,
            ]) {
                col.push(x);
            }
        }
    }
    let [auctions, finished, zero, flops] = counts;
    let [
        raised,
        shortfall,
        deficit,
        minted,
        psm_gem,
        psm_impairment,
        repaid,
    ] = values;
    frame(vec![
        col("path", path),
        col("cdp", cdp),
        col("auctions", auctions),
        col("finished", finished),
        col("zero_bid_auctions", zero),
        col("raised", raised),
        col("shortfall", shortfall),
        col("deficit", deficit),
        col("debt_auctions", flops),
        col("gov_minted", minted),
        col("psm_gem", psm_gem),
        col("psm_impairment", psm_impairment),
        col("repaid", repaid),
    ])
}
