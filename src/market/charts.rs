//! The market's charts: a fan of each stochastic asset's fundamental price
//! and of each pegged token's price in its underlying.

use crate::error::OutputError;
use crate::output::charts::draw::{Canvas, TimeAxis, fan_chart};
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

/// A pegged token's price in its underlying, per recorded step over paths.
#[derive(Debug, Clone)]
pub struct PegSeries {
    asset: usize,
    underlying: usize,
    symbol: String,
    underlying_symbol: String,
    /// Per recorded step, the ratio over paths.
    pub ratio: Vec<Vec<f64>>,
}

/// What the market charts gather from the recorded paths.
#[derive(Debug, Clone)]
pub struct MarketSeries {
    n_assets: usize,
    stochastic: Vec<usize>,
    /// Stochastic assets: (symbol, per recorded step the values over paths).
    pub prices: Vec<(String, Vec<Vec<f64>>)>,
    /// Pegged assets: their price in units of the underlying.
    pub pegs: Vec<PegSeries>,
}

impl MarketSeries {
    /// Empty series for a scenario.
    pub fn new(sc: &Scenario, axis: &TimeAxis) -> Self {
        MarketSeries {
            n_assets: sc.assets.len(),
            stochastic: sc.stochastic.clone(),
            prices: sc
                .stochastic
                .iter()
                .map(|&a| (sc.assets[a].symbol.clone(), axis.empty_series()))
                .collect(),
            pegs: sc
                .assets
                .iter()
                .enumerate()
                .filter_map(|(a, asset)| {
                    asset.peg.map(|p| PegSeries {
                        asset: a,
                        underlying: p.to,
                        symbol: asset.symbol.clone(),
                        underlying_symbol: sc.assets[p.to].symbol.clone(),
                        ratio: axis.empty_series(),
                    })
                })
                .collect(),
        }
    }

    /// Add one recorded path (market rows are step-major, asset-minor).
    pub fn add(&mut self, r: &PathRecord) {
        let n = self.n_assets;
        let f = &r.market.fundamental;
        for (k, &a) in self.stochastic.iter().enumerate() {
            for (s, series) in self.prices[k].1.iter_mut().enumerate() {
                series.push(f[s * n + a]);
            }
        }
        for peg in &mut self.pegs {
            for (s, series) in peg.ratio.iter_mut().enumerate() {
                series.push(f[s * n + peg.asset] / f[s * n + peg.underlying]);
            }
        }
    }

    /// `price_fan_<asset>.png` and `peg_<asset>.png`.
    pub fn draw(&self, axis: &TimeAxis, canvas: &mut Canvas<'_>) -> Result<(), OutputError> {
        for (symbol, series) in &self.prices {
            let name = canvas.unique("price_fan", symbol);
            let title = format!("{symbol} fundamental price over {} paths", axis.paths);
            canvas.emit(&name, |p| fan_chart(p, &title, "price (USD)", axis, series))?;
        }
        for peg in &self.pegs {
            let (symbol, under) = (&peg.symbol, &peg.underlying_symbol);
            let name = canvas.unique("peg", symbol);
            let title = format!("{symbol} in {under} over {} paths", axis.paths);
            let y = format!("price ({under} per {symbol})");
            canvas.emit(&name, |p| fan_chart(p, &title, &y, axis, &peg.ratio))?;
        }
        Ok(())
    }
}
