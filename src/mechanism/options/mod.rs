//! Options (docs/model.md §14): hedgers that keep an option book's delta
//! inside a band by trading a pool or a perp (`hedger`), and option vaults
//! that sell covered calls or cash-secured puts every epoch (`vault`).
//! Both act in stage 3d, before the cascade, and are recorded in
//! `greeks.parquet` at the end of the step.

pub mod charts;
pub mod hedger;
pub mod raw;
pub mod spec;
pub mod table;
pub mod vault;

pub use table::GreekRows;

use hedger::HedgerState;
use vault::VaultState;

use crate::market::state::Market;
use crate::mechanism::perp::Perps;
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

/// One path's hedgers and option vaults.
pub struct Options<'a> {
    sc: &'a Scenario,
    hedgers: Vec<HedgerState>,
    vaults: Vec<VaultState>,
}

impl<'a> Options<'a> {
    /// Allocate the option agents of a scenario; `reset` fills them.
    pub fn new(sc: &'a Scenario) -> Self {
        Options {
            sc,
            hedgers: vec![HedgerState::default(); sc.hedgers.len()],
            vaults: vec![VaultState::default(); sc.option_vaults.len()],
        }
    }

    /// Back to step 0 at the market's initial prices.
    pub fn reset(&mut self, market: &Market) {
        let sc = self.sc;
        for (h, spec) in self.hedgers.iter_mut().zip(&sc.hedgers) {
            let s = market.pool_price_usd(sc, spec.pool);
            if spec.perp.is_some() {
                h.reset_perp(spec, s);
            } else {
                h.reset(spec, s);
            }
        }
        for (v, spec) in self.vaults.iter_mut().zip(&sc.option_vaults) {
            v.reset(spec, market.market_price(sc, spec.asset));
        }
    }

    /// Stage 3d: hedgers settle what expired and trade their pool (or
    /// perp) back inside their delta band; option vaults settle and sell
    /// the next epoch.
    pub fn act(&mut self, t: u32, market: &mut Market, perps: &mut Perps) {
        let sc = self.sc;
        let hours = t as f64 * sc.dt_hours;
        for (k, spec) in sc.hedgers.iter().enumerate() {
            let quote = market.fundamental[sc.pools[spec.pool].quote];
            let Some((_, pos)) = spec.perp else {
                self.hedgers[k].step(
                    spec,
                    &mut market.pools[spec.pool],
                    quote,
                    hours,
                    sc.dt_years(),
                );
                continue;
            };
            // Hedging in the perp (docs/model.md §14): the account's position
            // is the hedge, its margin holds the hedge's gains and losses.
            let s = market.pools[spec.pool].spot() * quote;
            let g = self.hedgers[k].begin(spec, s, hours, sc.dt_years());
            let net = g.delta + perps.size(pos);
            self.hedgers[k].trade = 0.0;
            if net.abs() > spec.band && perps.agent_trade(pos, -net, market) {
                self.hedgers[k].trade = -net;
            }
        }
        for (v, spec) in self.vaults.iter_mut().zip(&sc.option_vaults) {
            let s = market.market_price(sc, spec.asset);
            v.step(spec, s, hours, sc.dt_years());
        }
    }

    /// Stage 6: the `greeks.parquet` rows of step t. Stocks (Greeks, PnL,
    /// equity) are valued at the end-of-step price, flows (the hedge trade,
    /// premium, payout) are as they happened (docs/model.md §8).
    pub fn record(&self, t: u32, market: &Market, perps: &Perps, rec: &mut PathRecord) {
        let sc = self.sc;
        let hours = t as f64 * sc.dt_hours;
        let g = &mut rec.greeks;
        for (i, (h, spec)) in self.hedgers.iter().zip(&sc.hedgers).enumerate() {
            let s = market.pool_price_usd(sc, spec.pool);
            let (hedge, extra) = match spec.perp {
                Some((_, pos)) => (perps.size(pos), perps.hedge_gain(pos, s)),
                None => (h.hedge, h.hedge * s),
            };
            let (now, pnl) = h.valued(spec, s, hours, hedge, extra);
            g.step.push(t);
            g.agent.push(i as u32);
            g.kind.push(0);
            g.delta.push(now.delta);
            g.gamma.push(now.gamma);
            g.vega.push(now.vega);
            g.theta.push(now.theta);
            g.hedge_trade.push(h.trade);
            g.pnl.push(pnl);
            g.equity.push(None);
            g.premium.push(None);
            g.payout.push(None);
            g.strike.push(None);
        }
        for (i, (v, spec)) in self.vaults.iter().zip(&sc.option_vaults).enumerate() {
            let (equity, greeks) = v.marked(spec, market.market_price(sc, spec.asset), hours);
            g.step.push(t);
            g.agent.push((self.hedgers.len() + i) as u32);
            g.kind.push(1);
            g.delta.push(greeks[0]);
            g.gamma.push(greeks[1]);
            g.vega.push(greeks[2]);
            g.theta.push(greeks[3]);
            g.hedge_trade.push(0.0);
            g.pnl.push(equity - v.initial_equity);
            g.equity.push(Some(equity));
            g.premium.push(Some(v.premium));
            g.payout.push(Some(v.payout));
            g.strike.push(Some(v.strike));
        }
    }
}
