//! The perp markets' charts: insurance fund, funding rate and the mark's
//! premium over the index, over paths.

use crate::error::OutputError;
use crate::output::charts::draw::{Canvas, TimeAxis, stacked_fans};
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

/// One perp market's series, per recorded step over paths.
#[derive(Debug, Clone)]
pub struct PerpSeries {
    /// Market name.
    pub name: String,
    /// Insurance fund, USD.
    pub fund: Vec<Vec<f64>>,
    /// Funding rate, annualised, %.
    pub funding: Vec<Vec<f64>>,
    /// Mark over index − 1, basis points.
    pub premium: Vec<Vec<f64>>,
}

/// What the perp charts gather from the recorded paths.
#[derive(Debug, Clone)]
pub struct PerpCharts {
    steps_per_year: f64,
    /// One entry per market.
    pub markets: Vec<PerpSeries>,
}

impl PerpCharts {
    /// Empty series for a scenario.
    pub fn new(sc: &Scenario, axis: &TimeAxis) -> Self {
        PerpCharts {
            steps_per_year: 8760.0 / axis.hours_per_step,
            markets: sc
                .perps
                .iter()
                .map(|p| PerpSeries {
                    name: p.name.clone(),
                    fund: axis.empty_series(),
                    funding: axis.empty_series(),
                    premium: axis.empty_series(),
                })
                .collect(),
        }
    }

    /// Add one recorded path (perps rows are step-major, market-minor).
    pub fn add(&mut self, r: &PathRecord) {
        let n = self.markets.len();
        for (m, series) in self.markets.iter_mut().enumerate() {
            for s in 0..series.fund.len() {
                let row = s * n + m;
                let p = &r.perps;
                series.fund[s].push(p.insurance_fund[row]);
                series.funding[s].push(100.0 * p.funding_rate[row] * self.steps_per_year);
                series.premium[s].push(1e4 * (p.mark[row] / p.index[row] - 1.0));
            }
        }
    }

    /// `perp_<name>.png`.
    pub fn draw(&self, axis: &TimeAxis, canvas: &mut Canvas<'_>) -> Result<(), OutputError> {
        for p in &self.markets {
            let (name, file) = (&p.name, canvas.unique("perp", &p.name));
            canvas.emit(&file, |path| {
                stacked_fans(
                    path,
                    axis,
                    &[
                        (format!("{name}: insurance fund"), "fund (USD)", &p.fund),
                        (
                            format!("{name}: funding rate, annualised (longs pay when > 0)"),
                            "% a year",
                            &p.funding,
                        ),
                        (
                            format!("{name}: mark against index (mark / index − 1)"),
                            "basis points",
                            &p.premium,
                        ),
                    ],
                )
            })?;
        }
        Ok(())
    }
}
