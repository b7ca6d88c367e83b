//! The hedgers' charts: net delta and gamma over paths.

use crate::error::OutputError;
use crate::output::charts::draw::{Canvas, TimeAxis, stacked_fans};
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

/// A hedger's name, and per recorded step over paths its net delta and
/// gamma.
pub type HedgerSeries = (String, Vec<Vec<f64>>, Vec<Vec<f64>>);

/// What the option charts gather from the recorded paths.
#[derive(Debug, Clone)]
pub struct OptionSeries {
    /// Option agents in greeks rows (hedgers, then vaults).
    agents: usize,
    /// Hedgers: (name, per recorded step over paths: net delta, gamma).
    pub hedgers: Vec<HedgerSeries>,
}

impl OptionSeries {
    /// Empty series for a scenario.
    pub fn new(sc: &Scenario, axis: &TimeAxis) -> Self {
        OptionSeries {
            agents: sc.hedgers.len() + sc.option_vaults.len(),
            hedgers: sc
                .hedgers
                .iter()
                .map(|h| (h.name.clone(), axis.empty_series(), axis.empty_series()))
                .collect(),
        }
    }

    /// Add one recorded path (greeks rows are step-major, agent-minor).
    pub fn add(&mut self, r: &PathRecord) {
        for (h, (_, delta, gamma)) in self.hedgers.iter_mut().enumerate() {
            for s in 0..delta.len() {
                let row = s * self.agents + h;
                delta[s].push(r.greeks.delta[row]);
                gamma[s].push(r.greeks.gamma[row]);
            }
        }
    }

    /// `hedger_<name>.png`.
    pub fn draw(&self, axis: &TimeAxis, canvas: &mut Canvas<'_>) -> Result<(), OutputError> {
        for (name, delta, gamma) in &self.hedgers {
            let file = canvas.unique("hedger", name);
            canvas.emit(&file, |p| {
                stacked_fans(
                    p,
                    axis,
                    &[
                        (format!("{name}: net delta"), "delta (units)", delta),
                        (format!("{name}: gamma"), "gamma (units per USD)", gamma),
                    ],
                )
            })?;
        }
        Ok(())
    }
}
