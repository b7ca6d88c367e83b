//! `parameters.png`: the governed parameters against price over the
//! recorded paths (docs/model.md §18): a fan of the watched asset's price,
//! then one fan per field an actor may set.

use crate::error::OutputError;
use crate::mechanism::governance::signal::Signal;
use crate::mechanism::governance::spec::Rule;
use crate::output::charts::draw::{Canvas, TimeAxis, stacked_fans};
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

pub use crate::mechanism::governance::raw::MAX_PANELS;

/// What the governance chart gathers from the recorded paths.
#[derive(Debug, Clone)]
pub struct GovernanceCharts {
    /// The asset whose price is drawn, and the number of assets.
    asset: Option<(usize, String)>,
    assets: usize,
    /// Recorded steps.
    steps: Vec<u32>,
    /// Per field (every actor's, in order): label, value at step 0.
    fields: Vec<(String, f64)>,
    price: Vec<Vec<f64>>,
    values: Vec<Vec<Vec<f64>>>,
}

/// The asset a signal watches, if any.
fn watched(rule: &Rule) -> Option<usize> {
    let s = match rule {
        Rule::Proposal { signal, .. }
        | Rule::Agent { signal, .. }
        | Rule::Guardian { signal, .. } => signal,
        Rule::Schedule { .. } => return None,
    };
    match *s {
        Signal::Drawdown(a) | Signal::Volatility { asset: a, .. } => Some(a),
        Signal::OracleDeviation { asset, .. } => Some(asset),
        Signal::Utilisation(_) | Signal::BadDebt(_) => None,
    }
}

impl GovernanceCharts {
    /// Empty series for a scenario (nothing without actors). The price is
    /// the first watched asset's, else the first asset with a pool's.
    pub fn new(sc: &Scenario, axis: &TimeAxis) -> Self {
        let actors = &sc.governance.actors;
        let asset = (!actors.is_empty())
            .then(|| {
                (actors.iter().find_map(|a| watched(&a.rule)))
                    .or_else(|| sc.pool_of.iter().position(|p| p.is_some()))
                    .unwrap_or(0)
            })
            .map(|a| (a, sc.assets[a].symbol.clone()));
        let fields: Vec<(String, f64)> = actors
            .iter()
            .flat_map(|a| {
                a.fields
                    .iter()
                    .zip(&a.states[0].values)
                    .map(|((t, f), &v)| (format!("{t}: {f}"), v))
            })
            .collect();
        // Nothing is held without actors (a long run records many steps).
        let series = || {
            if asset.is_some() {
                axis.empty_series()
            } else {
                Vec::new()
            }
        };
        GovernanceCharts {
            assets: sc.assets.len(),
            steps: if asset.is_some() {
                axis.steps.clone()
            } else {
                Vec::new()
            },
            values: vec![series(); fields.len().min(MAX_PANELS)],
            fields,
            price: series(),
            asset,
        }
    }

    /// Add one recorded path: each field's value at each recorded step is
    /// the last `new` of its rows up to that step, else its value at step 0.
    pub fn add(&mut self, r: &PathRecord) {
        let Some((a, _)) = self.asset else { return };
        let rows = &r.parameters;
        let mut now: Vec<f64> = self.fields.iter().map(|f| f.1).collect();
        let mut next = 0;
        for (k, &t) in self.steps.iter().enumerate() {
            while next < rows.step.len() && rows.step[next] <= t {
                now[rows.field[next] as usize] = rows.new[next];
                next += 1;
            }
            self.price[k].push(r.market.fundamental[k * self.assets + a]);
            for (f, series) in self.values.iter_mut().enumerate() {
                series[k].push(now[f]);
            }
        }
    }

    /// `parameters.png`.
    pub fn draw(&self, axis: &TimeAxis, canvas: &mut Canvas<'_>) -> Result<(), OutputError> {
        let Some((_, symbol)) = &self.asset else {
            return Ok(());
        };
        let mut panels = vec![(format!("{symbol} price"), "USD", &self.price)];
        for ((label, _), series) in self.fields.iter().zip(&self.values) {
            panels.push((label.clone(), "value", series));
        }
        canvas.emit("parameters.png", |p| stacked_fans(p, axis, &panels))
    }
}
