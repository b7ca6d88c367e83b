//! The shared market of one path (docs/model.md §1–§4, §12): fundamental
//! prices, pools, pegged and LP tokens' state and the oracle price history.
//! Every mechanism reads and trades it; none owns it.

use rand::{Rng, RngExt};

use crate::error::EngineError;
use crate::market::source::{MAX_QUOTES, Quote, Source, median};
use crate::market::{Pool, PriceHistory};
use crate::scenario::validated::Scenario;

/// The market state of one path, plus its scratch buffers.
#[derive(Clone)]
pub struct Market {
    /// Fundamental price F of each asset, USD.
    pub fundamental: Vec<f64>,
    /// Pool reserves.
    pub pools: Vec<Pool>,
    /// End-of-step prices for lagged readers.
    pub history: PriceHistory,
    /// Spot in USD of every pool, as last filled.
    pub venue_usd: Vec<f64>,
    /// Market discount δ (log) of each pegged asset (0 for the others).
    pub discount: Vec<f64>,
    /// Shares outstanding of each LP token (0 for other assets).
    pub lp_supply: Vec<f64>,
    /// Highest fundamental seen so far on the path, per asset.
    peak: Vec<f64>,
    normals: Vec<f64>,
    /// Scratch: each persisting pool's base and its log move (stage 5).
    persisted: Vec<(usize, f64)>,
    /// Pegged assets and LP tokens (to skip the rest).
    pegged: Vec<usize>,
    lp: Vec<usize>,
}

impl Market {
    /// Allocate the market of a scenario; `reset` fills it.
    pub fn new(sc: &Scenario) -> Self {
        let n = sc.assets.len();
        Market {
            fundamental: vec![0.0; n],
            pools: Vec::with_capacity(sc.pools.len()),
            history: PriceHistory::new(sc.max_lag(), n, sc.pools.len()),
            venue_usd: vec![0.0; sc.pools.len()],
            discount: vec![0.0; n],
            lp_supply: vec![0.0; n],
            peak: vec![0.0; n],
            normals: vec![0.0; sc.stochastic.len()],
            persisted: Vec::new(),
            pegged: (0..n).filter(|&a| sc.assets[a].peg.is_some()).collect(),
            lp: (0..n).filter(|&a| sc.assets[a].lp_of.is_some()).collect(),
        }
    }

    /// Back to the scenario's initial prices and pools.
    pub fn reset(&mut self, sc: &Scenario) {
        for (f, a) in self.fundamental.iter_mut().zip(&sc.assets) {
            *f = a.initial_price;
        }
        self.peak.copy_from_slice(&self.fundamental);
        for (d, a) in self.discount.iter_mut().zip(&sc.assets) {
            *d = a.peg.map_or(0.0, |p| p.initial_discount);
        }
        for (s, a) in self.lp_supply.iter_mut().zip(&sc.assets) {
            *s = a.lp_of.map_or(0.0, |lp| lp.supply);
        }
        self.pools.clear();
        for p in &sc.pools {
            let price = sc.assets[p.base].initial_price / sc.assets[p.quote].initial_price;
            self.pools.push(if p.impact > 0.0 {
                Pool::exponential(p.base_reserve, price, p.impact)
            } else {
                Pool::new(p.base_reserve, price, p.fee)
            });
        }
    }

    /// Where an agent trading `asset` sees its price: its pool's spot in
    /// USD, or F without a pool.
    pub fn market_price(&self, sc: &Scenario, asset: usize) -> f64 {
        match sc.pool_of[asset] {
            Some(p) => self.pool_price_usd(sc, p),
            None => self.fundamental[asset],
        }
    }

    /// What `source` shows at the end of step `t − lag` (from the price
    /// history, clamped at step 0) or, with `lag = 0`, now
    /// (docs/model.md §4).
    pub fn source_price(&self, sc: &Scenario, source: &Source, t: u32, lag: u32) -> f64 {
        let one = |q: Quote| match (q, lag) {
            (Quote::Fundamental(a), 0) => self.fundamental[a],
            (Quote::Venue(p), 0) => self.pool_price_usd(sc, p),
            (Quote::Fundamental(a), _) => self.history.lagged(t, lag)[a],
            (Quote::Venue(p), _) => self.history.lagged_venues(t, lag)[p],
        };
        match source.quotes() {
            [q] => one(*q),
            quotes => {
                let mut seen = [0.0; MAX_QUOTES];
                for (s, &q) in seen.iter_mut().zip(quotes) {
                    *s = one(q);
                }
                median(&mut seen[..quotes.len()])
            }
        }
    }

    /// The USD price of pool `p`'s base asset at its spot.
    pub fn pool_price_usd(&self, sc: &Scenario, p: usize) -> f64 {
        self.pools[p].spot() * self.fundamental[sc.pools[p].quote]
    }

    /// Pegged tokens: F = ratio × F_underlying × e^δ (docs/model.md §12).
    pub fn refresh_pegged(&mut self, sc: &Scenario) {
        for &a in &self.pegged {
            if let Some(peg) = sc.assets[a].peg {
                self.fundamental[a] = peg.ratio * self.fundamental[peg.to] * self.discount[a].exp();
            }
        }
    }

    /// LP tokens: F = the pool's fair value ÷ shares outstanding.
    pub fn refresh_lp(&mut self, sc: &Scenario) {
        for &a in &self.lp {
            if let Some(lp) = sc.assets[a].lp_of
                && self.lp_supply[a] > 0.0
            {
                let spec = &sc.pools[lp.pool];
                let value = self.pools[lp.pool]
                    .fair_value(self.fundamental[spec.base], self.fundamental[spec.quote]);
                self.fundamental[a] = value / self.lp_supply[a];
            }
        }
    }

    /// Stage 1: each stochastic asset moves by its process with correlated
    /// normals, then the step's scripted shocks apply. Draw order: one
    /// standard normal per stochastic asset (asset order), then each Merton
    /// asset's jumps (asset order). Derived prices are left to the caller.
    pub fn move_prices<R: Rng + ?Sized>(&mut self, sc: &Scenario, t: u32, rng: &mut R) {
        let dt = sc.dt_years();
        for e in self.normals.iter_mut() {
            *e = rng.sample(rand_distr::StandardNormal);
        }
        for (k, &a) in sc.stochastic.iter().enumerate() {
            let row = &sc.cholesky[k];
            let z: f64 = (0..=k).map(|j| row[j] * self.normals[j]).sum();
            let inc = sc.assets[a].process.log_increment(dt, z, rng);
            self.fundamental[a] *= inc.exp();
        }
        // Pegged tokens: the discount decays towards the peg, then a shock
        // to a pegged token moves its discount.
        for (i, (d, a)) in self.discount.iter_mut().zip(&sc.assets).enumerate() {
            if let Some(peg) = a.peg
                && !sc.halts.iter().any(|h| h.stops(i, t))
            {
                *d *= peg.keep;
            }
        }
        for &(a, log_shock) in &sc.shocks.assets[t as usize] {
            if sc.assets[a].peg.is_some() {
                self.discount[a] += log_shock;
            } else {
                self.fundamental[a] *= log_shock.exp();
            }
        }
    }

    /// Stage 2: every pool is traded along its curve towards `F_base /
    /// F_quote`, all the way unless its arbitrage capacity runs out; then
    /// step `t`'s shocks to pools trade them along their curves.
    pub fn arbitrage(&mut self, sc: &Scenario, t: u32) {
        for p in 0..self.pools.len() {
            self.arbitrage_pool(sc, p);
        }
        for &(p, log_shock) in &sc.shocks.pools[t as usize] {
            let pool = &mut self.pools[p];
            pool.arbitrage_to(pool.spot() * log_shock.exp());
        }
        self.refresh_lp(sc);
    }

    /// Pool `p` traded towards `F_base / F_quote` by arbitrage, as far as
    /// its capacity allows (docs/model.md §3).
    pub fn arbitrage_pool(&mut self, sc: &Scenario, p: usize) {
        let spec = &sc.pools[p];
        let f_quote = self.fundamental[spec.quote];
        let target = self.fundamental[spec.base] / f_quote;
        if spec.arbitrage_usd.is_finite() {
            self.pools[p].arbitrage_capped(target, spec.arbitrage_usd / f_quote);
        } else {
            self.pools[p].arbitrage_to(target);
        }
    }

    /// Stage 5: `ln F += ρ·(ln P_pool − ln F)` for each pool's base asset,
    /// with the pool price in USD (`y/x · F_quote`). For a pegged base the
    /// move goes into its discount δ, so it stays relative to the underlying.
    /// Every pool is measured at the prices the cascade left before any of
    /// them persists, so the order of pools in the file does not matter.
    /// Derived prices are left to the caller.
    pub fn persist_impact(&mut self, sc: &Scenario) {
        let mut moves = std::mem::take(&mut self.persisted);
        moves.clear();
        for (pool, spec) in self.pools.iter().zip(&sc.pools) {
            let rho = spec.impact_persistence;
            if rho > 0.0 {
                let p_usd = pool.spot() * self.fundamental[spec.quote];
                let f = self.fundamental[spec.base];
                moves.push((spec.base, rho * (p_usd.ln() - f.ln())));
            }
        }
        for &(base, step) in &moves {
            if sc.assets[base].peg.is_some() {
                self.discount[base] += step;
            }
            self.fundamental[base] = (self.fundamental[base].ln() + step).exp();
        }
        self.persisted = moves;
    }

    /// Every pool's spot in USD, into `venue_usd`.
    pub fn fill_pool_usd(&mut self, sc: &Scenario) {
        for p in 0..self.pools.len() {
            self.venue_usd[p] = self.pool_price_usd(sc, p);
        }
    }

    /// Remember the end-of-step prices of step `t` (after `fill_pool_usd`)
    /// for lagged readers.
    pub fn push_history(&mut self, t: u32) {
        self.history.push(t, &self.fundamental, &self.venue_usd);
    }

    /// Update each asset's running peak; returns the largest drawdown from
    /// a peak now (docs/model.md §7, `max_drawdown`).
    pub fn drawdown(&mut self) -> f64 {
        let mut worst: f64 = 0.0;
        for (a, &f) in self.fundamental.iter().enumerate() {
            self.peak[a] = self.peak[a].max(f);
            worst = worst.max(1.0 - f / self.peak[a]);
        }
        worst
    }

    /// NaN quarantine: every price and reserve must stay finite and positive.
    pub fn check_finite(&self, sc: &Scenario, path: u32, step: u32) -> Result<(), EngineError> {
        let bad = |what: String, value: f64| EngineError::NonFinite {
            path,
            step,
            what,
            value,
        };
        for (a, &f) in self.fundamental.iter().enumerate() {
            // A receipt token is worth zero once its suppliers lost everything.
            let floor_ok = f > 0.0 || (f == 0.0 && sc.assets[a].receipt_of.is_some());
            if !(f.is_finite() && floor_ok) {
                return Err(bad(
                    format!("fundamental price of {}", sc.assets[a].symbol),
                    f,
                ));
            }
        }
        for (pool, spec) in self.pools.iter().zip(&sc.pools) {
            for v in [pool.x, pool.y] {
                if !(v.is_finite() && v > 0.0) {
                    return Err(bad(format!("reserve of the {} pool", spec.name), v));
                }
            }
        }
        Ok(())
    }
}
