//! The maintenance margin in force per perp market (docs/model.md §15):
//! the market's floor or its volatility-scaled margin, and, while a
//! parameter change is in force, the scenario's own to compare with
//! (§18).

use crate::derivatives::surface::Ewma;
use crate::mechanism::perp::spec::{MarginModel, PerpSpec};
use crate::mechanism::perp::state::PerpState;

impl PerpState {
    /// Each market's margin in force under `specs`.
    pub(super) fn set_mmr(&mut self, specs: &[PerpSpec]) {
        Self::margins(specs, &self.ewma, &mut self.mmr);
    }

    /// Compare the margins in force with those of the scenario's own
    /// `base` terms from now on (None: they are the same).
    pub fn set_base_margins(&mut self, base: Option<&[PerpSpec]>) {
        self.governed = base.is_some();
        if let Some(base) = base {
            self.mmr0.resize(base.len(), 0.0);
            Self::margins(base, &self.ewma, &mut self.mmr0);
        }
    }

    /// Each market's maintenance margin fraction under `specs` with the
    /// margin models' volatility now.
    fn margins(specs: &[PerpSpec], ewma: &[Option<Ewma>], mmr: &mut [f64]) {
        for (m, spec) in specs.iter().enumerate() {
            mmr[m] = match (spec.margin, &ewma[m]) {
                (
                    MarginModel::Ewma {
                        multiplier,
                        horizon_years,
                        ..
                    },
                    Some(e),
                ) => spec
                    .maintenance_margin
                    .max(multiplier * e.vol() * horizon_years.sqrt()),
                _ => spec.maintenance_margin,
            };
        }
    }

    /// Feed each market's index log return over `dt` years to its margin
    /// model and update the maintenance margin in force.
    pub fn observe_index(&mut self, specs: &[PerpSpec], log_returns: &[f64], dt: f64) {
        for (e, &r) in self.ewma.iter_mut().zip(log_returns) {
            if let Some(e) = e {
                e.update(r, dt);
            }
        }
        self.set_mmr(specs);
    }
}
