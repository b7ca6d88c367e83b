//! Signals observed on a path (docs/model.md §18): at the end of every
//! step, after it is recorded, and read at the start of the next.

use crate::market::state::Market;
use crate::mechanism::governance::signal::Signal;
use crate::mechanism::lending::Lending;

/// What a path's end-of-step state shows the signals.
pub struct Observed<'w, 'a> {
    /// Prices.
    pub market: &'w Market,
    /// Lending markets (utilisation, oracle prices).
    pub lending: &'w Lending<'a>,
    /// Bad debt written off so far per protocol, USD.
    pub bad_debt: &'w [f64],
    /// Years per step.
    pub dt_years: f64,
}

/// One signal's state on a path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Watch {
    /// Its value at the end of the last step observed.
    pub value: f64,
    /// Highest F so far (drawdown), or F at the last step (volatility).
    anchor: f64,
    /// EWMA variance, annualised (volatility).
    variance: f64,
}

impl Watch {
    /// At step 0, before any observation.
    pub fn start(s: &Signal) -> Self {
        let variance = match *s {
            Signal::Volatility { start, .. } => start * start,
            _ => 0.0,
        };
        Watch {
            value: 0.0,
            anchor: f64::NAN,
            variance,
        }
    }

    /// Observe the end of step t (t = 0 sets the anchors).
    pub fn observe(&mut self, s: &Signal, o: &Observed<'_, '_>) {
        self.value = match *s {
            Signal::Drawdown(a) => {
                let f = o.market.fundamental[a];
                // NaN at step 0: max takes f.
                self.anchor = self.anchor.max(f);
                1.0 - f / self.anchor
            }
            Signal::Volatility { asset, lambda, .. } => {
                let f = o.market.fundamental[asset];
                if self.anchor.is_finite() {
                    let r = (f / self.anchor).ln();
                    self.variance = lambda * self.variance + (1.0 - lambda) * r * r / o.dt_years;
                }
                self.anchor = f;
                self.variance.sqrt()
            }
            Signal::Utilisation(p) => o.lending.supply_state(p).utilisation(),
            Signal::BadDebt(p) => o.bad_debt[p],
            Signal::OracleDeviation { protocol, asset } => {
                let f = o.market.fundamental[asset];
                (o.lending.oracle_price(protocol, asset) - f).abs() / f
            }
        };
    }
}
