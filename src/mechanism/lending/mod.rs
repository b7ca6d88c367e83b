//! Lending markets (docs/model.md §4, §5, §10–§12): positions and their
//! liquidation, the liquidation index, the supply side with interest and
//! lenders' runs, receipt tokens and borrowers' deleveraging.
//!
//! `Lending` holds one path's lending state; the engine calls it in the
//! phases of a step (`engine::World::run_path`): `accrue_interest` (stage
//! 0), `lenders_act` and `deleverage` (stage 3), `liquidation_round` (each
//! cascade round), `finish_step` (stage 6). The formulas are pure functions
//! in `rules`; `index` finds the candidates of a round.

mod balance;
pub mod book;
mod borrow;
mod cascade;
pub mod charts;
pub mod defaults;
mod deleverage;
mod forced;
mod forecast;
pub(crate) mod funding;
pub mod governed;
pub mod index;
pub mod liquidator;
pub mod raw;
mod record;
pub mod rules;
mod snapshot;
pub mod spec;
mod supply;
pub mod table;
mod totals;
pub(crate) mod validate;

use std::collections::BTreeSet;

pub use rules::{Seizure, close_factor, health_factor, largest_collateral, seizure};
pub use supply::SupplyState;
pub use table::{LiquidationRows, ProtocolRows};

use crate::market::state::Market;
use crate::mechanism::oracle::Oracles;
use crate::scenario::validated::Scenario;

/// How the cascade finds positions below HF 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CandidateSearch {
    /// The liquidation index (`index`): cost grows with the positions near
    /// liquidation, not with the book.
    #[default]
    Indexed,
    /// Every position's health factor, every round: the reference the index
    /// is tested against.
    FullScan,
}

/// One path's lending state, plus scratch buffers reused across steps and
/// paths.
pub struct Lending<'a> {
    sc: &'a Scenario,
    n_assets: usize,
    /// Scaled debt of each position: it owes `debt[i] · debt_index[p]`
    /// (as Aave does). Written only through `set_debt`.
    debt: Vec<f64>,
    /// Units of each collateral entry (see `Book::coll_range`). Written
    /// only through `set_units`.
    coll_units: Vec<f64>,
    /// Exact running sums of `debt` and `coll_units` per protocol.
    totals: totals::Totals,
    /// Capital of each liquidator, USD.
    pub capital: Vec<f64>,
    /// What each liquidator has earned on the path: proceeds − repaid −
    /// gas over its liquidations, USD.
    earned: Vec<f64>,
    /// Debt repaid by liquidators on the path, USD, per protocol (a
    /// raid's span is read from it; no raider targets a forced sale).
    repaid_cum: Vec<f64>,
    /// Draws the scripted defaults' random positions (its own stream per
    /// path: `begin_path`).
    default_rng: crate::montecarlo::seed::PathRng,
    /// Whether any protocol has scripted defaults.
    scripted: bool,
    /// Positions liquidated on this path (all dirty: reset with them).
    liquidated: Vec<bool>,
    /// Oracle prices, protocol-major: `oracle[p·n_assets + a]`.
    oracle: Vec<f64>,
    candidates: Vec<(f64, u32)>,
    /// Positions checked exactly by the cascade so far (the work the
    /// index saves; `examined`).
    examined: std::cell::Cell<u64>,
    // Per-protocol flows of the current step.
    step_liqs: Vec<u32>,
    step_repaid: Vec<f64>,
    step_seized: Vec<f64>,
    step_bad: Vec<f64>,
    step_bad_contagion: Vec<f64>,
    bad_debt_cum: Vec<f64>,
    /// Liquidations executed so far in the step (for the gas curve).
    executed_this_step: u32,
    search: CandidateSearch,
    /// Positions whose state differs from the book on this path.
    dirty: Vec<bool>,
    /// Per protocol: positions below this health factor are liquidatable
    /// (1, or a guard's `liquidate_below_hf` while it pauses).
    liquidation_hf: Vec<f64>,
    /// Whether any protocol has a guard or a guardian (else
    /// `liquidation_hf` is all 1 and nothing halts).
    guarded: bool,
    /// Per protocol: whether a guardian pauses its liquidations now, and
    /// its borrowing.
    halted: Vec<bool>,
    borrowing_halted: Vec<bool>,
    /// The receipt tokens' share of each position's collateral value at its
    /// first liquidation on the path (NaN before it): the contagion part of
    /// its bad debt (docs/model.md §11). Empty without receipt tokens.
    first_share: Vec<f64>,
    dirty_ids: Vec<u32>,
    /// The dirty positions that are outside the single-collateral groups.
    dirty_multi: Vec<u32>,
    /// Per index group, over `order` and one past its end: `skip[j] = j`
    /// for a clean entry, and for a dirty one an entry further on, so that
    /// following it reaches the next clean entry (`next_clean`).
    skip: Vec<Vec<u32>>,
    /// Per index group: dirty positions with debt, keyed by current L.
    dirty_sets: Vec<BTreeSet<(u64, u32)>>,
    /// Supply side per protocol (units of its debt asset; unused without one).
    supply: Vec<SupplyState>,
    initial_supply: Vec<SupplyState>,
    /// Debt index per protocol.
    debt_index: Vec<f64>,
    /// Borrow rate applied in the current step, per protocol (annual).
    borrow_rate: Vec<f64>,
    /// Shares each lender agent still holds, and whether it is running.
    lender_shares: Vec<f64>,
    lender_running: Vec<bool>,
    /// Highest end-of-step share value so far, per protocol.
    peak_share_value: Vec<f64>,
    /// Withdrawn by lenders this step, per protocol, USD at the oracle
    /// price when withdrawn.
    step_withdrawn: Vec<f64>,
    /// Debt repaid by deleveraging borrowers this step, USD, per protocol.
    step_deleveraged: Vec<f64>,
    /// Positions holding any receipt token.
    receipt_holders: Vec<u32>,
    /// Insolvent debt per protocol at the last step, USD.
    last_insolvent: Vec<f64>,
    /// Per protocol, the bad debt socialised per share outstanding when it
    /// was written off, summed: what each share still held lost (§13's
    /// claims; `SupplyState::socialised` also counts shares since redeemed).
    socialised_per_share: Vec<f64>,
    /// Receipt tokens: (asset, issuing protocol).
    receipts: Vec<(usize, usize)>,
    /// Positions whose write-offs are counted apart (attackers' accounts),
    /// and those write-offs on this path, USD.
    watched: Vec<usize>,
    watched_bad: Vec<f64>,
    /// Parameters in force, when the scenario changes any during a run.
    governed: Option<governed::Governed>,
}

/// Read protocol `p`'s oracle at step `t` into `row` (one price per
/// asset): an oracle with state answers from it and returns the health
/// factor below which the protocol liquidates now; a direct one reads its
/// sources (None).
pub fn read_oracle(
    sc: &Scenario,
    p: usize,
    t: u32,
    market: &Market,
    feeds: &mut Oracles,
    row: &mut [f64],
) -> Option<f64> {
    if feeds.read(t, p, market, row) {
        return Some(feeds.liquidation_hf(p));
    }
    let oracle = &sc.protocols[p].oracle;
    for (price, source) in row.iter_mut().zip(&oracle.sources) {
        *price = market.source_price(sc, source, t, oracle.lag_steps);
    }
    None
}

impl<'a> Lending<'a> {
    /// Allocate the lending state of a scenario; `reset` fills it.
    pub fn new(sc: &'a Scenario) -> Self {
        let n_assets = sc.assets.len();
        let n_proto = sc.protocols.len();
        let groups = sc.book.index.groups.len();
        Lending {
            sc,
            n_assets,
            debt: sc.book.debt.clone(),
            coll_units: sc.book.coll_units.clone(),
            totals: totals::Totals::of(
                &sc.book,
                n_proto,
                n_assets,
                &sc.book.debt,
                &sc.book.coll_units,
            ),
            capital: vec![0.0; sc.liquidators.len()],
            earned: vec![0.0; sc.liquidators.len()],
            repaid_cum: vec![0.0; n_proto],
            default_rng: crate::montecarlo::seed::default_rng(sc.seed, 0),
            scripted: sc.protocols.iter().any(|p| !p.defaults.is_empty()),
            liquidated: vec![false; sc.book.len()],
            oracle: vec![0.0; n_proto * n_assets],
            candidates: Vec::new(),
            examined: Default::default(),
            step_liqs: vec![0; n_proto],
            step_repaid: vec![0.0; n_proto],
            step_seized: vec![0.0; n_proto],
            step_bad: vec![0.0; n_proto],
            step_bad_contagion: vec![0.0; n_proto],
            bad_debt_cum: vec![0.0; n_proto],
            executed_this_step: 0,
            search: CandidateSearch::default(),
            dirty: vec![false; sc.book.len()],
            liquidation_hf: vec![1.0; sc.protocols.len()],
            guarded: sc.protocols.iter().any(|p| p.oracle.guard.is_some())
                || sc.governance.guarded.iter().any(|&g| g),
            halted: vec![false; sc.protocols.len()],
            borrowing_halted: vec![false; sc.protocols.len()],
            first_share: if sc.assets.iter().any(|a| a.receipt_of.is_some()) {
                vec![f64::NAN; sc.book.len()]
            } else {
                Vec::new()
            },
            dirty_ids: Vec::new(),
            dirty_multi: Vec::new(),
            skip: sc
                .book
                .index
                .groups
                .iter()
                .map(|g| (0..=g.order.len() as u32).collect())
                .collect(),
            dirty_sets: vec![BTreeSet::new(); groups],
            supply: Vec::new(),
            initial_supply: Self::initial_supply(sc),
            debt_index: vec![1.0; n_proto],
            borrow_rate: vec![0.0; n_proto],
            lender_shares: vec![0.0; sc.lenders.len()],
            lender_running: vec![false; sc.lenders.len()],
            peak_share_value: vec![1.0; n_proto],
            step_withdrawn: vec![0.0; n_proto],
            step_deleveraged: vec![0.0; n_proto],
            receipt_holders: (0..sc.book.len() as u32)
                .filter(|&i| {
                    sc.book.coll_range(i as usize).any(|k| {
                        sc.assets[sc.book.coll_asset[k] as usize]
                            .receipt_of
                            .is_some()
                    })
                })
                .collect(),
            last_insolvent: vec![0.0; n_proto],
            socialised_per_share: vec![0.0; n_proto],
            receipts: sc.receipts().collect(),
            watched: Vec::new(),
            watched_bad: Vec::new(),
            governed: sc
                .governance
                .governs_lending()
                .then(|| governed::Governed::new(&sc.protocols, &sc.book)),
        }
    }

    /// Each protocol's supply side at step 0.
    fn initial_supply(sc: &Scenario) -> Vec<SupplyState> {
        let mut borrowed = vec![0.0; sc.protocols.len()];
        for (i, &d) in sc.book.debt.iter().enumerate() {
            borrowed[sc.book.protocol[i] as usize] += d;
        }
        sc.protocols
            .iter()
            .zip(borrowed)
            .map(|(p, b)| match p.supply {
                Some(s) => SupplyState {
                    supplier_assets: s.deposits,
                    shares: s.deposits,
                    reserve: s.reserve_fund,
                    cash: s.deposits + s.reserve_fund - b,
                    socialised: 0.0,
                    borrowed: b,
                    idle_value: 1.0,
                },
                None => SupplyState::default(),
            })
            .collect()
    }

    /// Back to the scenario's initial book, capital and supply sides.
    pub fn reset(&mut self) {
        let sc = self.sc;
        // Only liquidations change a position: restore just those.
        let book = &sc.book;
        let dirty = std::mem::take(&mut self.dirty_ids);
        for &i in &dirty {
            let i = i as usize;
            self.set_debt(i, book.debt[i]);
            for k in book.coll_range(i) {
                self.set_units(i, k, book.coll_units[k]);
            }
            self.dirty[i] = false;
            self.liquidated[i] = false;
            let g = book.index.group_of[i];
            if g != u32::MAX {
                let r = book.index.rank[i];
                self.skip[g as usize][r as usize] = r;
            }
            if let Some(share) = self.first_share.get_mut(i) {
                *share = f64::NAN;
            }
        }
        self.dirty_ids = dirty;
        self.dirty_ids.clear();
        self.liquidation_hf.fill(1.0);
        self.halted.fill(false);
        self.borrowing_halted.fill(false);
        self.dirty_multi.clear();
        for set in &mut self.dirty_sets {
            set.clear();
        }
        for (c, l) in self.capital.iter_mut().zip(&sc.liquidators) {
            *c = l.capital;
        }
        self.bad_debt_cum.fill(0.0);
        self.earned.fill(0.0);
        self.repaid_cum.fill(0.0);
        self.watched_bad.fill(0.0);
        self.supply.clone_from(&self.initial_supply);
        self.socialised_per_share.fill(0.0);
        self.debt_index.fill(1.0);
        for (s, l) in self.lender_shares.iter_mut().zip(&sc.lenders) {
            *s = l.shares;
        }
        self.lender_running.fill(false);
        self.peak_share_value.fill(1.0);
        self.borrow_rate.fill(0.0);
        self.reset_governed();
    }

    /// Start path `path`: its scripted defaults draw from their own stream.
    pub fn begin_path(&mut self, path: u32) {
        self.default_rng = crate::montecarlo::seed::default_rng(self.sc.seed, path);
    }

    /// Zero the step's flows.
    pub fn begin_step(&mut self) {
        self.step_liqs.fill(0);
        self.step_repaid.fill(0.0);
        self.step_seized.fill(0.0);
        self.step_bad.fill(0.0);
        self.step_bad_contagion.fill(0.0);
        self.step_withdrawn.fill(0.0);
        self.step_deleveraged.fill(0.0);
        self.executed_this_step = 0;
    }

    /// Choose how candidates are found (results are identical either way).
    pub fn set_search(&mut self, search: CandidateSearch) {
        self.search = search;
    }

    /// The supply side of protocol `p` now (zeros without one).
    pub fn supply_state(&self, p: usize) -> SupplyState {
        self.supply[p]
    }

    /// Receipt tokens: F = share value × the issuer's debt-asset price
    /// (docs/model.md §11).
    pub fn refresh_receipts(&self, market: &mut Market) {
        for &(a, p) in &self.receipts {
            let underlying = self.sc.protocols[p].debt_asset;
            market.fundamental[a] = self.supply[p].share_value() * market.fundamental[underlying];
        }
    }

    /// docs/model.md §4: each protocol's oracle prices during (or at the
    /// end of) step `t`, from a market whose derived prices and pool prices
    /// are current.
    pub fn read_oracles(&mut self, t: u32, market: &Market, feeds: &mut Oracles) {
        let n = self.n_assets;
        for p in 0..self.sc.protocols.len() {
            let row = &mut self.oracle[p * n..(p + 1) * n];
            if let Some(hf) = read_oracle(self.sc, p, t, market, feeds, row) {
                self.liquidation_hf[p] = hf;
            }
        }
    }

    /// Protocol `p`'s oracle price of `asset` now, during step `t`, as
    /// `read_oracles` would read it, without refreshing anything.
    fn oracle_price_now(&self, t: u32, p: usize, asset: usize, market: &Market) -> f64 {
        let oracle = &self.sc.protocols[p].oracle;
        if oracle.has_state() {
            // An oracle with state answers as last read: it changes only at
            // a read.
            self.oracle[p * self.n_assets + asset]
        } else {
            market.source_price(self.sc, &oracle.sources[asset], t, oracle.lag_steps)
        }
    }

    /// Turn `units` of `asset` into USD: sold into the asset's pool, or
    /// redeemed at its issuer if it is a receipt token (limited by cash), or
    /// burnt for its share of the reserves if it is an LP token (the base
    /// leg then sold into the same pool), or valued at F with none of these.
    fn dispose(&mut self, asset: usize, units: f64, market: &mut Market) -> f64 {
        let sc = self.sc;
        if let Some(lp) = sc.assets[asset].lp_of {
            let supply = market.lp_supply[asset];
            let units = units.min(supply);
            let pool = &mut market.pools[lp.pool];
            let (dx, dy) = pool.remove_liquidity(units / supply);
            let out = pool.sell_base(dx);
            market.lp_supply[asset] = supply - units;
            return (dy + out) * market.fundamental[sc.pools[lp.pool].quote];
        }
        if let Some(pi) = sc.pool_of[asset] {
            let out = market.pools[pi].sell_base(units);
            out * market.fundamental[sc.pools[pi].quote]
        } else if let Some(q) = sc.assets[asset].receipt_of {
            let paid = self.supply[q].redeem(units);
            paid * market.fundamental[sc.protocols[q].debt_asset]
        } else {
            units * market.fundamental[asset]
        }
    }

    /// Scaled debt of each position (what position i owes is this times
    /// its protocol's debt index).
    pub fn debts(&self) -> &[f64] {
        &self.debt
    }

    /// Units of each collateral entry (`Book::coll_range`).
    pub fn collateral_units(&self) -> &[f64] {
        &self.coll_units
    }

    /// Set position i's scaled debt, keeping its protocol's total.
    #[inline]
    fn set_debt(&mut self, i: usize, value: f64) {
        let p = self.sc.book.protocol[i] as usize;
        self.totals.change_debt(p, self.debt[i], value);
        self.debt[i] = value;
    }

    /// Set collateral entry k (of position i) to `value` units, keeping
    /// its protocol's total of the asset.
    #[inline]
    fn set_units(&mut self, i: usize, k: usize, value: f64) {
        let p = self.sc.book.protocol[i] as usize;
        let a = self.sc.book.coll_asset[k] as usize;
        self.totals.change_units(p, a, self.coll_units[k], value);
        self.coll_units[k] = value;
    }

    /// Positions the cascade has checked exactly so far (every position
    /// with `--full-scan`, the index's candidates otherwise).
    pub fn examined(&self) -> u64 {
        self.examined.get()
    }

    /// What position i owes now, in units of its debt asset.
    #[inline]
    pub fn owed(&self, i: usize) -> f64 {
        self.debt[i] * self.debt_index[self.sc.book.protocol[i] as usize]
    }

    /// Health factor of position i at the current oracle prices.
    #[inline]
    fn health_factor(&self, i: usize) -> f64 {
        self.health_factor_under(i, |k| self.lt(k))
    }

    /// Health factor of position i at the current oracle prices, entry k
    /// weighted by `lt(k)`.
    #[inline]
    fn health_factor_under(&self, i: usize, lt: impl Fn(usize) -> f64) -> f64 {
        let book = &self.sc.book;
        let p = book.protocol[i] as usize;
        let px = &self.oracle[p * self.n_assets..(p + 1) * self.n_assets];
        let mut weighted = 0.0;
        for k in book.coll_range(i) {
            weighted += self.coll_units[k] * px[book.coll_asset[k] as usize] * lt(k);
        }
        let p_debt = px[self.sc.protocols[p].debt_asset];
        health_factor(weighted, self.owed(i) * p_debt)
    }

    /// Whether liquidating position i now is a parameter change's doing:
    /// parameters have changed on this path and the position is at or
    /// above health factor 1 under the scenario's own thresholds
    /// (docs/model.md §18).
    fn caused_by_change(&self, i: usize) -> bool {
        self.governed.as_ref().is_some_and(|g| g.changed())
            && self.health_factor_under(i, |k| self.sc.book.coll_lt[k]) >= 1.0
    }
}

// Parameters in force (governed.rs; docs/model.md §18).
impl Lending<'_> {
    /// Adopt a change at the start of a step: positions are valued with the
    /// new thresholds from the next oracle read on.
    pub fn adopt(&mut self, r: &governed::Revision) {
        self.governed
            .as_mut()
            .expect("a scenario with lending changes allocates them")
            .adopt(r);
    }

    /// A guardian pauses protocol `p`'s liquidations and its borrowing,
    /// as each flag says, or lets them resume (docs/model.md §18).
    pub fn halt(&mut self, p: usize, liquidations: bool, borrowing: bool) {
        self.halted[p] = liquidations;
        self.borrowing_halted[p] = borrowing;
    }

    /// Whether a guardian pauses borrowing from protocol `p` now.
    pub fn borrowing_paused(&self, p: usize) -> bool {
        self.borrowing_halted[p]
    }

    /// Back to step 0's parameters.
    fn reset_governed(&mut self) {
        if let Some(g) = &mut self.governed {
            g.restore(&self.sc.protocols, &self.sc.book);
        }
    }

    /// Protocol `p`'s oracle price of asset `a` at its last read.
    pub fn oracle_price(&self, p: usize, a: usize) -> f64 {
        self.oracle[p * self.n_assets + a]
    }

    /// The protocols' specs in force.
    #[inline]
    fn specs(&self) -> &[spec::LendingSpec] {
        match &self.governed {
            Some(g) => &g.specs,
            None => &self.sc.protocols,
        }
    }

    /// Liquidation threshold of collateral entry `k` in force.
    #[inline]
    fn lt(&self, k: usize) -> f64 {
        match &self.governed {
            Some(g) => g.lt[k],
            None => self.sc.book.coll_lt[k],
        }
    }

    /// Liquidation bonus of collateral entry `k` in force.
    #[inline]
    fn lb(&self, k: usize) -> f64 {
        match &self.governed {
            Some(g) => g.lb[k],
            None => self.sc.book.coll_lb[k],
        }
    }

    /// Index group `g`'s threshold in force ÷ at step 0.
    #[inline]
    fn group_scale(&self, g: usize) -> f64 {
        self.governed.as_ref().map_or(1.0, |x| x.group_scale[g])
    }

    /// Multi-collateral group `m`'s least threshold ratio (see `Revision`).
    #[inline]
    fn multi_scale(&self, m: usize) -> f64 {
        self.governed.as_ref().map_or(1.0, |x| x.multi_scale[m])
    }
}
