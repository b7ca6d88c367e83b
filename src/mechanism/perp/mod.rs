//! Perpetual futures (docs/model.md §15): the per-path state of every
//! market and account (`state`), and the phases a step runs them in: the
//! index and margin model (stage 3c), a liquidation round inside every
//! cascade round (stage 4), funding after the cascade (stage 4b) and the
//! record (stage 6). The vault hedges in the shared market's pools.

mod account;
pub mod charts;
mod index;
mod margin;
mod open_interest;
pub mod raw;
pub mod spec;
pub mod state;
pub mod table;

pub use state::{PerpState, RoundOutcome};
pub use table::PerpRows;

use crate::market::state::Market;
use crate::mechanism::perp::spec::PerpSpec;
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

/// One path's perp markets, plus the per-market price scratch.
pub struct Perps<'a> {
    sc: &'a Scenario,
    /// Markets, accounts, funds and vaults.
    pub state: PerpState,
    /// Per market: the USD price of its pool's quote asset, its mark, and
    /// its index's log return over the step.
    quote: Vec<f64>,
    mark: Vec<f64>,
    ret: Vec<f64>,
    /// Each market's index this step and the step before.
    index: Vec<f64>,
    index_prev: Vec<f64>,
    /// The markets' specs in force (governance changes their margins and
    /// fees, docs/model.md §18), and whether they differ from step 0's.
    specs: Vec<PerpSpec>,
    changed: bool,
}

impl<'a> Perps<'a> {
    /// Allocate the perp state of a scenario; `reset` fills it.
    pub fn new(sc: &'a Scenario) -> Self {
        let n = sc.perps.len();
        Perps {
            sc,
            state: PerpState::default(),
            quote: vec![0.0; n],
            mark: vec![0.0; n],
            ret: vec![0.0; n],
            index: vec![0.0; n],
            index_prev: vec![0.0; n],
            specs: sc.perps.clone(),
            changed: false,
        }
    }

    /// Check every open account in every round and recompute recorded
    /// totals from every position (`--full-scan`).
    pub fn set_full_scan(&mut self, scan: bool) {
        self.state.set_full_scan(scan);
    }

    /// Back to the book's accounts at the market's initial marks.
    pub fn reset(&mut self, market: &Market) {
        let sc = self.sc;
        if sc.perps.is_empty() {
            return;
        }
        if self.changed {
            self.specs.clone_from(&sc.perps);
            self.changed = false;
        }
        self.fill_prices(market);
        self.state.reset(&self.specs, &sc.perp_book, &self.mark);
        for (m, spec) in sc.perps.iter().enumerate() {
            self.index[m] = market.fundamental[spec.asset];
        }
        self.index_prev.clone_from(&self.index);
    }

    /// Each market's quote price and mark (its pool's spot in USD), into
    /// the scratch buffers.
    fn fill_prices(&mut self, market: &Market) {
        let sc = self.sc;
        for (q, p) in self.quote.iter_mut().zip(&sc.perps) {
            *q = market.fundamental[sc.pools[p.pool].quote];
        }
        PerpState::fill_marks(&sc.perps, &market.pools, &self.quote, &mut self.mark);
    }

    /// Stage 3c: each market reads its index (the fundamental, lagged) and
    /// feeds its margin model.
    pub fn observe_index(&mut self, t: u32, market: &Market) {
        let sc = self.sc;
        if sc.perps.is_empty() {
            return;
        }
        self.state.begin_step();
        self.index_prev.clone_from(&self.index);
        for (m, spec) in sc.perps.iter().enumerate() {
            self.index[m] = if spec.index_lag_steps == 0 {
                market.fundamental[spec.asset]
            } else {
                market.history.lagged(t, spec.index_lag_steps)[spec.asset]
            };
        }
        for (r, (now, before)) in self
            .ret
            .iter_mut()
            .zip(self.index.iter().zip(&self.index_prev))
        {
            *r = (now / before).ln();
        }
        self.state
            .observe_index(&self.specs, &self.ret, sc.dt_years());
        self.state
            .set_base_margins(self.changed.then_some(sc.perps.as_slice()));
    }

    /// One liquidation round inside the cascade; returns the number of
    /// accounts liquidated.
    pub fn liquidation_round(&mut self, market: &mut Market, rec: &mut PathRecord) -> u32 {
        let sc = self.sc;
        if sc.perps.is_empty() {
            return 0;
        }
        self.fill_prices(market);
        let round = self.state.liquidation_round(
            &self.specs,
            &sc.perp_book,
            &mut market.pools,
            &self.quote,
        );
        rec.summary.perp_liquidations += round.positions;
        for (m, notional) in self.state.caused.drain(..) {
            if let Some(a) = sc.governance.perp_owner[m as usize] {
                let out = &mut rec.summary.actors[a as usize];
                out.liquidations += 1;
                out.liquidated_value += notional;
            }
        }
        round.accounts
    }

    /// Stage 4b: funding at the marks the cascade left (the premium is the
    /// pools' distance from the index after the step's forced trades),
    /// before impact persistence.
    pub fn funding(&mut self, market: &Market) {
        let sc = self.sc;
        if sc.perps.is_empty() {
            return;
        }
        self.fill_prices(market);
        self.state
            .funding(&self.specs, &self.mark, &self.index, sc.dt_hours);
    }

    /// An agent's order of `units` (signed) on position `pos`, at the
    /// current marks: true if it was executed (docs/model.md §14).
    pub fn agent_trade(&mut self, pos: usize, units: f64, market: &mut Market) -> bool {
        let sc = self.sc;
        self.fill_prices(market);
        self.state.agent_trade(
            &self.specs,
            &sc.perp_book,
            pos,
            units,
            &mut market.pools,
            &self.quote,
        )
    }

    /// Adopt the markets' specs after a parameter change (docs/model.md
    /// §18): the maintenance margin in force is set again at stage 3c.
    pub fn adopt(&mut self, specs: &[(u32, PerpSpec)]) {
        for (m, spec) in specs {
            self.specs[*m as usize].clone_from(spec);
        }
        self.changed = true;
    }

    /// Signed size of position `pos`.
    pub fn size(&self, pos: usize) -> f64 {
        self.state.size[pos]
    }

    /// What a perp-hedging agent's account (position `pos`) has gained at
    /// mark `s` of its market (the vault's last settled marks elsewhere):
    /// its equity there less its starting margin (or what it got back once
    /// liquidated).
    pub fn hedge_gain(&self, pos: usize, s: f64) -> f64 {
        let book = &self.sc.perp_book;
        let p = &self.state;
        let account = book.account[pos] as usize;
        if p.open[account] {
            let m = book.market[pos] as usize;
            let mark = |k: usize| if k == m { s } else { p.last_mark[k] };
            p.equity_at(book, account, mark) - book.margin[account]
        } else {
            p.returned_to[account] - book.margin[account]
        }
    }

    /// The perp ledger (docs/model.md §15), constant over a path.
    pub fn ledger(&self) -> f64 {
        self.state.ledger(&self.sc.perp_book)
    }

    /// Stage 6: the step's totals into the summary, and its
    /// `perps.parquet` rows if `write`.
    pub fn finish_step(&mut self, t: u32, write: bool, market: &Market, rec: &mut PathRecord) {
        let sc = self.sc;
        if sc.perps.is_empty() {
            return;
        }
        let last = t == sc.steps;
        self.fill_prices(market);
        let p = &self.state;
        rec.summary.perp_adl_events += p.step_adl.iter().sum::<u32>();
        rec.summary.perp_fund_drawn += p.step_fund_drawn.iter().sum::<f64>();
        for (m, out) in rec.summary.perp_markets.iter_mut().enumerate() {
            out.liquidations += p.step_liqs[m];
            out.adl_events += p.step_adl[m];
            out.fund_drawn += p.step_fund_drawn[m];
            if last {
                out.vault_bad_debt = p.vault_bad_debt[m];
            }
        }
        if last {
            rec.summary.perp_vault_bad_debt = p.vault_bad_debt.iter().sum();
        }
        if !write {
            return;
        }
        let oi = self.state.open_interest(&sc.perp_book);
        let (marks, p) = (&self.mark, &self.state);
        let r = &mut rec.perps;
        for m in 0..sc.perps.len() {
            r.step.push(t);
            r.perp.push(m as u32);
            r.mark.push(marks[m]);
            r.index.push(self.index[m]);
            r.funding_rate.push(p.funding_rate[m]);
            r.oi_long.push(oi[m].0 * marks[m]);
            r.oi_short.push(oi[m].1 * marks[m]);
            r.liquidations.push(p.step_liqs[m]);
            r.liquidated_notional.push(p.step_liq_notional[m]);
            r.insurance_fund.push(p.fund[m]);
            r.fund_drawn.push(p.step_fund_drawn[m]);
            r.adl_events.push(p.step_adl[m]);
            r.vault_position.push(p.vault_size[m] * marks[m]);
            r.vault_bad_debt_cum.push(p.vault_bad_debt[m]);
            r.maintenance_margin.push(p.mmr[m]);
        }
    }
}
