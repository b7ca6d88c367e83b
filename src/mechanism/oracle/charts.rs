//! The oracles' charts: for each protocol whose oracle has state and each
//! asset it uses, the price in use, its gap to the source (the venues it
//! reads, or their median) and its gap to the fundamental, over paths.

use crate::error::OutputError;
use crate::output::charts::draw::{Canvas, TimeAxis, stacked_fans};
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

/// One (protocol, asset) oracle's series, per recorded step over paths.
#[derive(Debug, Clone)]
pub struct OracleSeries {
    /// `protocol: asset`.
    pub name: String,
    /// Its row within a step's rows of `oracles.parquet`.
    row: usize,
    /// The price in use, USD.
    pub price: Vec<Vec<f64>>,
    /// Price in use ÷ source − 1, %.
    pub gap: Vec<Vec<f64>>,
    /// Price in use ÷ the asset's fundamental − 1, %.
    pub off: Vec<Vec<f64>>,
    /// The asset.
    asset: usize,
}

/// What the oracle charts gather from the recorded paths.
#[derive(Debug, Clone)]
pub struct OracleCharts {
    rows_per_step: usize,
    n_assets: usize,
    /// One entry per (protocol with state, asset it uses: collateral or
    /// its debt asset).
    pub series: Vec<OracleSeries>,
}

impl OracleCharts {
    /// Empty series for a scenario.
    pub fn new(sc: &Scenario, axis: &TimeAxis) -> Self {
        let n = sc.assets.len();
        let mut series = Vec::new();
        let mut k = 0;
        for p in sc.protocols.iter().filter(|p| p.oracle.has_state()) {
            for (a, asset) in sc.assets.iter().enumerate() {
                if p.collateral[a].is_some() || p.debt_asset == a {
                    series.push(OracleSeries {
                        name: format!("{}: {}", p.name, asset.symbol),
                        row: k * n + a,
                        price: axis.empty_series(),
                        gap: axis.empty_series(),
                        off: axis.empty_series(),
                        asset: a,
                    });
                }
            }
            k += 1;
        }
        OracleCharts {
            rows_per_step: k * n,
            n_assets: n,
            series,
        }
    }

    /// Add one recorded path (rows step-major, then protocol, then asset).
    pub fn add(&mut self, r: &PathRecord) {
        let o = &r.oracles;
        for s in &mut self.series {
            for step in 0..s.price.len() {
                let row = step * self.rows_per_step + s.row;
                s.price[step].push(o.oracle_price[row]);
                s.gap[step].push(100.0 * (o.oracle_price[row] / o.source_price[row] - 1.0));
                let f = r.market.fundamental[step * self.n_assets + s.asset];
                s.off[step].push(100.0 * (o.oracle_price[row] / f - 1.0));
            }
        }
    }

    /// `oracle_<protocol>_<asset>.png`.
    pub fn draw(&self, axis: &TimeAxis, canvas: &mut Canvas<'_>) -> Result<(), OutputError> {
        for s in &self.series {
            let file = canvas.unique("oracle", &s.name.replace(": ", "_"));
            canvas.emit(&file, |t| {
                stacked_fans(
                    t,
                    axis,
                    &[
                        (format!("{}: oracle price", s.name), "price (USD)", &s.price),
                        (
                            format!(
                                "{}: oracle against its source (oracle / source − 1)",
                                s.name
                            ),
                            "%",
                            &s.gap,
                        ),
                        (
                            format!(
                                "{}: oracle against the fundamental (oracle / F − 1)",
                                s.name
                            ),
                            "%",
                            &s.off,
                        ),
                    ],
                )
            })?;
        }
        Ok(())
    }
}
