//! The CDPs' charts: per CDP, over the recorded paths, the stablecoin's
//! price, the cumulative auction shortfall, the deficit (unbacked debt
//! the surplus does not cover) and the auctions running.

use crate::error::OutputError;
use crate::output::charts::draw::{Canvas, TimeAxis, stacked_fans};
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

/// One CDP's series: per recorded step, the values over paths.
#[derive(Debug, Clone)]
struct CdpSeries {
    name: String,
    stablecoin: String,
    price: Vec<Vec<f64>>,
    shortfall: Vec<Vec<f64>>,
    deficit: Vec<Vec<f64>>,
    live: Vec<Vec<f64>>,
}

/// What the CDP charts gather from the recorded paths.
#[derive(Debug, Clone)]
pub struct CdpCharts {
    series: Vec<CdpSeries>,
}

impl CdpCharts {
    /// Empty series for a scenario (none without CDPs).
    pub fn new(sc: &Scenario, axis: &TimeAxis) -> Self {
        CdpCharts {
            series: sc
                .cdps
                .iter()
                .map(|c| CdpSeries {
                    name: c.name.clone(),
                    stablecoin: sc.assets[c.stablecoin].symbol.clone(),
                    price: axis.empty_series(),
                    shortfall: axis.empty_series(),
                    deficit: axis.empty_series(),
                    live: axis.empty_series(),
                })
                .collect(),
        }
    }

    /// Add one recorded path (`cdp.parquet` rows are step-major,
    /// CDP-minor).
    pub fn add(&mut self, r: &PathRecord) {
        let n = self.series.len();
        for (c, s) in self.series.iter_mut().enumerate() {
            for k in 0..s.price.len() {
                let row = k * n + c;
                s.price[k].push(r.cdp.stablecoin_price[row]);
                s.shortfall[k].push(r.cdp.shortfall_cum[row]);
                s.deficit[k].push(r.cdp.deficit[row]);
                s.live[k].push(f64::from(r.cdp.auctions_live[row]));
            }
        }
    }

    /// `cdp_<name>.png`.
    pub fn draw(&self, axis: &TimeAxis, canvas: &mut Canvas<'_>) -> Result<(), OutputError> {
        for s in &self.series {
            let file = canvas.unique("cdp", &s.name);
            let coin = &s.stablecoin;
            canvas.emit(&file, |p| {
                stacked_fans(
                    p,
                    axis,
                    &[
                        (format!("{}: {coin} price", s.name), "USD", &s.price),
                        (
                            format!("{}: auction shortfall so far", s.name),
                            coin,
                            &s.shortfall,
                        ),
                        (
                            format!("{}: deficit (unbacked debt beyond the surplus)", s.name),
                            coin,
                            &s.deficit,
                        ),
                        (format!("{}: auctions running", s.name), "auctions", &s.live),
                    ],
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty(name: &str, steps: usize) -> CdpSeries {
        CdpSeries {
            name: name.into(),
            stablecoin: "DAI".into(),
            price: vec![Vec::new(); steps],
            shortfall: vec![Vec::new(); steps],
            deficit: vec![Vec::new(); steps],
            live: vec![Vec::new(); steps],
        }
    }

    /// Rows are step-major, CDP-minor: with two CDPs over three recorded
    /// steps, row 2k + c is CDP c at step k, for every series.
    #[test]
    fn each_cdp_reads_its_own_rows() {
        let mut charts = CdpCharts {
            series: vec![empty("a", 3), empty("b", 3)],
        };
        let mut r = PathRecord::default();
        for row in 0..6u32 {
            let x = f64::from(row);
            r.cdp.stablecoin_price.push(1.0 + x / 100.0);
            r.cdp.shortfall_cum.push(10.0 * x);
            r.cdp.deficit.push(100.0 * x);
            r.cdp.auctions_live.push(row);
        }
        charts.add(&r);
        charts.add(&r);
        for (c, s) in charts.series.iter().enumerate() {
            for k in 0..3 {
                let x = (2 * k + c) as f64;
                assert_eq!(s.price[k], vec![1.0 + x / 100.0; 2], "{c} {k}");
                assert_eq!(s.shortfall[k], vec![10.0 * x; 2]);
                assert_eq!(s.deficit[k], vec![100.0 * x; 2]);
                assert_eq!(s.live[k], vec![x; 2]);
            }
        }
    }
}
