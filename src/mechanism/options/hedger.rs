//! Market makers holding option books and hedging their delta in a pool
//! (docs/model.md §14). A short-gamma book sells the underlying as it falls
//! and buys as it rises: its hedge trades amplify the move.

use crate::derivatives::payoff;
use crate::derivatives::surface::{AtmVol, Ewma};
use crate::market::Pool;
use crate::mechanism::options::spec::{BookGreeks, HedgerSpec, book_greeks};

/// One hedger on one path.
#[derive(Debug, Clone, Default)]
pub struct HedgerState {
    /// Units of the underlying held as the hedge (signed).
    pub hedge: f64,
    /// Cash, USD.
    pub cash: f64,
    /// Whether each option line has been settled.
    pub settled: Vec<bool>,
    ewma: Option<Ewma>,
    last_price: f64,
    initial_value: f64,
    /// Units traded this step (+ bought).
    pub trade: f64,
}

impl HedgerState {
    /// Step 0: the book starts delta-hedged (the hedge bought or sold at
    /// `s` before the path begins).
    pub fn reset(&mut self, spec: &HedgerSpec, s: f64) {
        self.settled = vec![false; spec.options.len()];
        self.ewma = match spec.surface.atm {
            AtmVol::Fixed(_) => None,
            AtmVol::Ewma { lambda, initial } => Some(Ewma::new(lambda, initial)),
        };
        self.last_price = s;
        let g = book_greeks(spec, &self.settled, self.atm(spec), s, 0.0);
        self.hedge = -g.delta;
        self.cash = g.delta * s;
        self.initial_value = g.value;
        self.trade = 0.0;
    }

    fn atm(&self, spec: &HedgerSpec) -> f64 {
        match (&self.ewma, spec.surface.atm) {
            (Some(e), _) => e.vol(),
            (None, AtmVol::Fixed(v)) => v,
            (None, AtmVol::Ewma { initial, .. }) => initial,
        }
    }

    /// Settle the lines expired at `hours` at price `s` and feed the EWMA;
    /// returns the book's Greeks now.
    pub fn begin(&mut self, spec: &HedgerSpec, s: f64, hours: f64, dt_years: f64) -> BookGreeks {
        if let Some(e) = self.ewma.as_mut() {
            e.update((s / self.last_price).ln(), dt_years);
        }
        self.last_price = s;
        for (o, done) in spec.options.iter().zip(self.settled.iter_mut()) {
            if !*done && o.expiry_hours <= hours {
                self.cash += o.quantity * payoff(o.kind, s, o.strike);
                *done = true;
            }
        }
        book_greeks(spec, &self.settled, self.atm(spec), s, hours)
    }

    /// The book's Greeks (delta with `hedge` units held) and PnL at price
    /// `s` and time `hours`, with `extra` value outside the book and the
    /// cash, at the ATM level in force: what the step's record reads at the
    /// end-of-step price (docs/model.md §8).
    pub fn valued(
        &self,
        spec: &HedgerSpec,
        s: f64,
        hours: f64,
        hedge: f64,
        extra: f64,
    ) -> (BookGreeks, f64) {
        let after = book_greeks(spec, &self.settled, self.atm(spec), s, hours);
        let pnl = after.value + self.cash + extra - self.initial_value;
        (
            BookGreeks {
                delta: after.delta + hedge,
                ..after
            },
            pnl,
        )
    }

    /// One step at `hours` since step 0, hedging in `pool` (whose quote
    /// asset is worth `quote_usd`): settle what expired, update the ATM
    /// level, then trade the pool back to zero delta if the net delta is
    /// outside the band.
    pub fn step(
        &mut self,
        spec: &HedgerSpec,
        pool: &mut Pool,
        quote_usd: f64,
        hours: f64,
        dt_years: f64,
    ) {
        let s = pool.spot() * quote_usd;
        let g = self.begin(spec, s, hours, dt_years);
        let net = g.delta + self.hedge;
        self.trade = 0.0;
        if net.abs() > spec.band {
            // Back towards zero delta, at most half the pool either way.
            let (units, quote) = pool.trade_base(-net);
            self.cash += quote * quote_usd;
            self.hedge += units;
            self.trade = units;
        }
    }

    /// Step 0 of a hedger that hedges in a perp: its account holds the
    /// starting hedge, so nothing is bought and the cash stays 0.
    pub fn reset_perp(&mut self, spec: &HedgerSpec, s: f64) {
        self.reset(spec, s);
        self.hedge = 0.0;
        self.cash = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derivatives::Kind;
    use crate::derivatives::surface::VolSurface;
    use crate::mechanism::options::spec::OptionLine;

    /// A dealer short one put that expires at hour 1, hedged at step 0.
    fn short_put(band: f64) -> HedgerSpec {
        HedgerSpec {
            name: "dealer".into(),
            asset: 0,
            pool: 0,
            surface: VolSurface {
                atm: AtmVol::Fixed(0.8),
                skew: 0.0,
                smile: 0.0,
                floor: 0.05,
            },
            rate: 0.0,
            band,
            options: vec![OptionLine {
                kind: Kind::Put,
                strike: 100.0,
                expiry_hours: 1.0,
                quantity: -10.0,
            }],
            perp: None,
        }
    }

    /// docs/model.md §14: the hedger trades only when its net delta is
    /// *outside* the band, `|Σ q·Δ + hedge| > band`. Once the put has
    /// expired the book's delta is 0 and the net delta is the hedge left
    /// from step 0: a band of exactly that size holds it, a band a hair
    /// narrower sells it all back (into a pool deep enough that half its
    /// reserve is more than the hedge).
    #[test]
    fn a_net_delta_on_the_band_edge_is_inside_it() {
        let s = 100.0;
        let mut probe = HedgerState::default();
        probe.reset(&short_put(0.0), s);
        // Short a put: the dealer's delta is positive, hedged by a short.
        let held = probe.hedge;
        assert!(held < -1.0, "hedge at step 0: {held}");
        for (band, trades) in [(held.abs(), false), (held.abs() * (1.0 - 1e-9), true)] {
            let spec = short_put(band);
            let mut h = HedgerState::default();
            h.reset(&spec, s);
            let mut pool = Pool::new(1000.0, s, 0.0);
            h.step(&spec, &mut pool, 1.0, 1.0, 1.0 / 8760.0);
            if trades {
                assert!((h.trade + held).abs() < 1e-9, "bought back {}", h.trade);
                assert!(h.hedge.abs() < 1e-9);
            } else {
                assert_eq!(h.trade, 0.0, "band {band}");
                assert_eq!(h.hedge, held);
                assert_eq!(pool.spot(), s);
            }
        }
    }
}
