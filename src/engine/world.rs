//! One path's state and the stages of a step (docs/model.md §1, §4, §5).

use std::collections::BTreeSet;
use std::time::Instant;

use rand::{Rng, RngExt};

use crate::agent::hedger::HedgerState;
use crate::agent::liquidator;
use crate::engine::index;
use crate::error::EngineError;
use crate::graph::systemic::{BalanceSheets, Pledge, ProtocolNetwork, clear_protocols};
use crate::market::{Pool, PriceHistory};
use crate::montecarlo::seed::path_rng;
use crate::output::recorder::{PathRecord, PathSummary};
use crate::protocol::lending;
use crate::protocol::option_vault::VaultState;
use crate::protocol::perp::PerpState;
use crate::scenario::{OracleSource, Scenario};

/// Indices of the assets whose price follows another's.
#[derive(Debug, Clone, Default)]
struct Derived {
    pegged: Vec<usize>,
    lp: Vec<usize>,
    receipts: Vec<(usize, usize)>,
}

/// How a step's cascade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CascadeOutcome {
    /// Rounds that executed at least one liquidation.
    pub rounds: u32,
    /// Whether `max_cascade_rounds` stopped a cascade still liquidating.
    pub capped: bool,
}

/// Wall-clock nanoseconds spent in each stage, summed over steps and paths
/// (collected only after `World::enable_timing`, for benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageNanos {
    /// Stage 1: exogenous price moves and shocks.
    pub prices: u64,
    /// Stage 2: pool arbitrage.
    pub arbitrage: u64,
    /// Stage 4: the liquidation cascade.
    pub cascade: u64,
    /// Stages 5-6: impact persistence, checks and recording.
    pub record: u64,
}

/// Adds the time since `*mark` to a stage counter and restarts the mark.
fn lap(mark: &mut Option<Instant>, counter: Option<&mut u64>) {
    if let (Some(m), Some(c)) = (mark.as_mut(), counter) {
        let now = Instant::now();
        *c += (now - *m).as_nanos() as u64;
        *m = now;
    }
}

/// All state of one path, plus scratch buffers reused across steps and paths.
pub struct World<'a> {
    sc: &'a Scenario,
    n_assets: usize,
    /// Fundamental price F of each asset, USD.
    pub fundamental: Vec<f64>,
    /// Pool reserves.
    pub pools: Vec<Pool>,
    /// Debt of each position.
    pub debt: Vec<f64>,
    /// Units of each collateral entry (see `Book::coll_range`).
    pub coll_units: Vec<f64>,
    /// Capital of each liquidator, USD.
    pub capital: Vec<f64>,
    history: PriceHistory,
    /// Oracle prices, protocol-major: `oracle[p·n_assets + a]`.
    oracle: Vec<f64>,
    pool_usd: Vec<f64>,
    normals: Vec<f64>,
    candidates: Vec<(f64, u32)>,
    /// Scratch: each persisting pool's base and its log move (stage 5).
    persisted: Vec<(usize, f64)>,
    peak: Vec<f64>,
    // Per-protocol flows of the current step.
    step_liqs: Vec<u32>,
    step_repaid: Vec<f64>,
    step_seized: Vec<f64>,
    step_bad: Vec<f64>,
    step_bad_contagion: Vec<f64>,
    bad_debt_cum: Vec<f64>,
    executed_this_step: u32,
    timing: Option<StageNanos>,
    search: CandidateSearch,
    /// Positions whose state differs from the book on this path.
    dirty: Vec<bool>,
    /// The receipt tokens' share of each position's collateral value at its
    /// first liquidation on the path (NaN before it): the contagion part of
    /// its bad debt (docs/model.md §11). Empty without receipt tokens.
    first_share: Vec<f64>,
    dirty_ids: Vec<u32>,
    /// The dirty positions that are outside the single-collateral groups.
    dirty_multi: Vec<u32>,
    /// Per index group: every entry of `order[..frontier]` is dirty.
    frontier: Vec<usize>,
    /// Per index group: dirty positions with debt, keyed by current L.
    dirty_sets: Vec<BTreeSet<(u64, u32)>>,
    /// Supply side per protocol (units of its debt asset; unused without one).
    supply: Vec<SupplyState>,
    initial_supply: Vec<SupplyState>,
    /// Debt index per protocol: position i owes `debt[i] · debt_index[p]`
    /// (`debt` holds scaled balances, as Aave does).
    debt_index: Vec<f64>,
    /// Borrow rate applied in the current step, per protocol (annual).
    borrow_rate: Vec<f64>,
    /// Shares each lender agent still holds, and whether it is running.
    lender_shares: Vec<f64>,
    lender_running: Vec<bool>,
    /// Highest share value seen so far, per protocol.
    peak_share_value: Vec<f64>,
    /// Withdrawn by lenders this step, per protocol, USD at the oracle
    /// price when withdrawn.
    step_withdrawn: Vec<f64>,
    /// Market discount δ (log) of each pegged asset (0 for the others).
    discount: Vec<f64>,
    /// Debt repaid by deleveraging borrowers this step, USD, per protocol.
    step_deleveraged: Vec<f64>,
    /// Shares outstanding of each LP token (0 for other assets).
    lp_supply: Vec<f64>,
    /// The protocol network for DebtRank and clearing (docs/model.md §13).
    network: ProtocolNetwork,
    /// Positions holding any receipt token.
    receipt_holders: Vec<u32>,
    /// Insolvent debt per protocol at the last step, USD.
    last_insolvent: Vec<f64>,
    /// Per protocol, the bad debt socialised per share outstanding when it
    /// was written off, summed: what each share still held lost (§13's
    /// claims; `SupplyState::socialised` also counts shares since redeemed).
    socialised_per_share: Vec<f64>,
    /// The assets whose price is derived, by kind (to skip the rest).
    derived: Derived,
    /// Perpetual futures state (docs/model.md §15).
    perp: PerpState,
    /// Scratch, per perp: the USD price of its pool's quote asset, its
    /// mark, and its index's log return over the step.
    perp_quote: Vec<f64>,
    perp_mark: Vec<f64>,
    perp_return: Vec<f64>,
    /// Each perp's index this step and the step before.
    perp_index: Vec<f64>,
    perp_index_prev: Vec<f64>,
    /// Option books and vaults (docs/model.md §14).
    hedgers: Vec<HedgerState>,
    vaults: Vec<VaultState>,
}

/// The balance sheet of a lending protocol's supply side, in units of its
/// debt asset: `cash + borrowed = supplier_assets + reserve` (docs/model.md
/// §11). Shares are the receipt tokens; share value = supplier_assets/shares.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SupplyState {
    /// What suppliers own.
    pub supplier_assets: f64,
    /// Receipt tokens outstanding.
    pub shares: f64,
    /// The protocol's reserve fund.
    pub reserve: f64,
    /// Debt-asset units held (deposits − borrowed + repaid − redeemed).
    pub cash: f64,
    /// Bad debt borne by suppliers so far.
    pub socialised: f64,
    /// Debt owed to the protocol (with interest), tracked for utilisation.
    pub borrowed: f64,
    /// The share value while no share is outstanding: 1 before any
    /// deposit, else its value when the last share was redeemed.
    pub idle_value: f64,
}

impl SupplyState {
    /// Share value: units of the debt asset one receipt token is worth. A
    /// redemption leaves it unchanged, the last one included.
    pub fn share_value(&self) -> f64 {
        if self.shares > 0.0 {
            self.supplier_assets / self.shares
        } else {
            self.idle_value
        }
    }

    /// Interest earned on the debt: the reserve factor's share to the
    /// reserve and the rest to the suppliers, or all of it to the reserve
    /// when no share is outstanding (nobody to pay).
    pub fn earn(&mut self, interest: f64, reserve_factor: f64) {
        self.borrowed += interest;
        if self.shares > 0.0 {
            self.reserve += interest * reserve_factor;
            self.supplier_assets += interest * (1.0 - reserve_factor);
        } else {
            self.reserve += interest;
        }
    }

    /// Write off `loss` units of bad debt: the reserve fund first, then the
    /// suppliers (down to zero). Returns the part suppliers bore.
    pub fn absorb(&mut self, loss: f64) -> f64 {
        let from_reserve = loss.min(self.reserve);
        self.reserve -= from_reserve;
        let socialised = (loss - from_reserve).min(self.supplier_assets);
        self.supplier_assets -= socialised;
        self.socialised += socialised;
        socialised
    }

    /// Utilisation: borrowed ÷ (borrowed + cash); 0 with nothing supplied.
    pub fn utilisation(&self) -> f64 {
        let total = self.borrowed + self.cash;
        if total > 0.0 {
            self.borrowed / total
        } else {
            0.0
        }
    }

    /// Redeem `shares` receipt tokens for underlying, limited by cash.
    /// Returns the units of underlying paid out.
    pub fn redeem(&mut self, shares: f64) -> f64 {
        let value = self.share_value();
        let paid = (shares.min(self.shares) * value).min(self.cash).max(0.0);
        if paid > 0.0 {
            self.cash -= paid;
            let burnt = paid / value;
            if burnt >= self.shares * (1.0 - 1e-12) {
                // The last shares: what rounding leaves of the suppliers'
                // assets stays in the protocol, with the reserve.
                self.reserve += (self.supplier_assets - paid).max(0.0);
                self.shares = 0.0;
                self.supplier_assets = 0.0;
                self.idle_value = value;
            } else {
                self.shares -= burnt;
                self.supplier_assets = (self.supplier_assets - paid).max(0.0);
            }
        }
        paid
    }
}

/// How the cascade finds positions below HF 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CandidateSearch {
    /// The liquidation index (`engine::index`): cost grows with the positions
    /// near liquidation, not with the book.
    #[default]
    Indexed,
    /// Every position's health factor, every round: the reference the index
    /// is tested against.
    FullScan,
}

impl<'a> World<'a> {
    /// Allocate a world for a scenario; call `run_path` for each path.
    pub fn new(sc: &'a Scenario) -> Self {
        let n_assets = sc.assets.len();
        let n_proto = sc.protocols.len();
        World {
            sc,
            n_assets,
            fundamental: vec![0.0; n_assets],
            pools: Vec::with_capacity(sc.pools.len()),
            debt: sc.book.debt.clone(),
            coll_units: sc.book.coll_units.clone(),
            capital: vec![0.0; sc.liquidators.len()],
            history: PriceHistory::new(sc.max_lag(), n_assets),
            oracle: vec![0.0; n_proto * n_assets],
            pool_usd: vec![0.0; n_assets],
            normals: vec![0.0; sc.stochastic.len()],
            candidates: Vec::new(),
            persisted: Vec::new(),
            peak: vec![0.0; n_assets],
            step_liqs: vec![0; n_proto],
            step_repaid: vec![0.0; n_proto],
            step_seized: vec![0.0; n_proto],
            step_bad: vec![0.0; n_proto],
            step_bad_contagion: vec![0.0; n_proto],
            bad_debt_cum: vec![0.0; n_proto],
            executed_this_step: 0,
            timing: None,
            search: CandidateSearch::default(),
            dirty: vec![false; sc.book.len()],
            first_share: if sc.assets.iter().any(|a| a.receipt_of.is_some()) {
                vec![f64::NAN; sc.book.len()]
            } else {
                Vec::new()
            },
            dirty_ids: Vec::new(),
            dirty_multi: Vec::new(),
            frontier: vec![0; sc.book.index.groups.len()],
            dirty_sets: vec![BTreeSet::new(); sc.book.index.groups.len()],
            supply: Vec::new(),
            initial_supply: Self::initial_supply(sc),
            debt_index: vec![1.0; sc.protocols.len()],
            lender_shares: vec![0.0; sc.lenders.len()],
            lender_running: vec![false; sc.lenders.len()],
            peak_share_value: vec![1.0; sc.protocols.len()],
            step_withdrawn: vec![0.0; sc.protocols.len()],
            borrow_rate: vec![0.0; sc.protocols.len()],
            discount: vec![0.0; n_assets],
            step_deleveraged: vec![0.0; n_proto],
            lp_supply: vec![0.0; n_assets],
            network: ProtocolNetwork::build(sc),
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
            derived: Derived {
                pegged: (0..n_assets)
                    .filter(|&a| sc.assets[a].peg.is_some())
                    .collect(),
                lp: (0..n_assets)
                    .filter(|&a| sc.assets[a].lp_of.is_some())
                    .collect(),
                receipts: sc.receipts().collect(),
            },
            perp: PerpState::default(),
            perp_quote: vec![0.0; sc.perps.len()],
            perp_mark: vec![0.0; sc.perps.len()],
            perp_return: vec![0.0; sc.perps.len()],
            perp_index: vec![0.0; sc.perps.len()],
            perp_index_prev: vec![0.0; sc.perps.len()],
            hedgers: vec![HedgerState::default(); sc.hedgers.len()],
            vaults: vec![VaultState::default(); sc.option_vaults.len()],
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

    /// The supply side of protocol `p` now (zeros without one).
    pub fn supply_state(&self, p: usize) -> SupplyState {
        self.supply[p]
    }

    /// Pegged tokens: F = ratio × F_underlying × e^δ (docs/model.md §12).
    fn refresh_pegged(&mut self) {
        for k in 0..self.derived.pegged.len() {
            let a = self.derived.pegged[k];
            if let Some(peg) = self.sc.assets[a].peg {
                self.fundamental[a] = peg.ratio * self.fundamental[peg.to] * self.discount[a].exp();
            }
        }
    }

    /// LP tokens: F = the pool's fair value ÷ shares outstanding.
    fn refresh_lp(&mut self) {
        for k in 0..self.derived.lp.len() {
            let a = self.derived.lp[k];
            if let Some(lp) = self.sc.assets[a].lp_of
                && self.lp_supply[a] > 0.0
            {
                let spec = &self.sc.pools[lp.pool];
                let value = self.pools[lp.pool]
                    .fair_value(self.fundamental[spec.base], self.fundamental[spec.quote]);
                self.fundamental[a] = value / self.lp_supply[a];
            }
        }
    }

    /// Every derived price, in dependency order: pegged tokens, LP tokens
    /// (their pool's legs may be pegged), receipt tokens (their debt asset
    /// may be pegged).
    fn refresh_derived(&mut self) {
        self.refresh_pegged();
        self.refresh_lp();
        self.refresh_receipts();
    }

    /// The market discount δ of a pegged asset now (0 for the others).
    pub fn discount(&self, asset: usize) -> f64 {
        self.discount[asset]
    }

    /// Receipt tokens: F = share value × the issuer's debt-asset price.
    fn refresh_receipts(&mut self) {
        for k in 0..self.derived.receipts.len() {
            let (a, p) = self.derived.receipts[k];
            let underlying = self.sc.protocols[p].debt_asset;
            self.fundamental[a] = self.supply[p].share_value() * self.fundamental[underlying];
        }
    }

    /// Choose how candidates are found (results are identical either way).
    pub fn set_search(&mut self, search: CandidateSearch) {
        self.search = search;
    }

    /// Put the world back to the scenario's initial state.
    fn reset(&mut self) {
        let sc = self.sc;
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
            self.pools.push(Pool::new(p.base_reserve, price, p.fee));
        }
        // Only liquidations change a position: restore just those.
        let book = &sc.book;
        for &i in &self.dirty_ids {
            let i = i as usize;
            self.debt[i] = book.debt[i];
            let r = book.coll_range(i);
            self.coll_units[r.clone()].copy_from_slice(&book.coll_units[r]);
            self.dirty[i] = false;
            if let Some(share) = self.first_share.get_mut(i) {
                *share = f64::NAN;
            }
        }
        self.dirty_ids.clear();
        self.dirty_multi.clear();
        self.frontier.fill(0);
        for set in &mut self.dirty_sets {
            set.clear();
        }
        for (c, l) in self.capital.iter_mut().zip(&sc.liquidators) {
            *c = l.capital;
        }
        for (h, spec) in self.hedgers.iter_mut().zip(&sc.hedgers) {
            let s = self.pools[spec.pool].spot() * self.fundamental[sc.pools[spec.pool].quote];
            if spec.perp.is_some() {
                h.reset_perp(spec, s);
            } else {
                h.reset(spec, s);
            }
        }
        for v in 0..self.vaults.len() {
            let s = self.market_price(sc.option_vaults[v].asset);
            self.vaults[v].reset(&sc.option_vaults[v], s);
        }
        if !sc.perps.is_empty() {
            self.fill_perp_prices();
            self.perp.reset(&sc.perps, &sc.perp_book, &self.perp_mark);
            for (m, spec) in sc.perps.iter().enumerate() {
                self.perp_index[m] = self.fundamental[spec.asset];
            }
            self.perp_index_prev.clone_from(&self.perp_index);
        }
        // Lagged oracles read step 0 until step k: it must be this path's.
        self.fill_pool_usd();
        self.history.push(0, &self.fundamental, &self.pool_usd);
        self.bad_debt_cum.fill(0.0);
        self.supply.clone_from(&self.initial_supply);
        self.socialised_per_share.fill(0.0);
        self.debt_index.fill(1.0);
        for (s, l) in self.lender_shares.iter_mut().zip(&sc.lenders) {
            *s = l.shares;
        }
        self.lender_running.fill(false);
        self.peak_share_value.fill(1.0);
        self.borrow_rate.fill(0.0);
    }

    /// Simulate path `path` from its own seed; rows go to a fresh record.
    pub fn run_path(&mut self, path: u32) -> Result<PathRecord, EngineError> {
        self.run_path_with(path, |_, _| {})
    }

    /// `run_path`, calling `after_step(world, t)` at the end of every step
    /// (tests use it to check invariants step by step).
    pub fn run_path_with(
        &mut self,
        path: u32,
        mut after_step: impl FnMut(&Self, u32),
    ) -> Result<PathRecord, EngineError> {
        let sc = self.sc;
        let mut rng = path_rng(sc.seed, path);
        let recorded = sc.records_path(path);
        let mut rec = PathRecord {
            recorded,
            summary: PathSummary {
                path,
                protocol_bad_debt: vec![0.0; sc.protocols.len()],
                protocol_liquidated: vec![0.0; sc.protocols.len()],
                protocol_bad_debt_contagion: vec![0.0; sc.protocols.len()],
                protocol_liquidations: vec![0; sc.protocols.len()],
                protocol_insolvent: vec![0.0; sc.protocols.len()],
                perp_markets: vec![Default::default(); sc.perps.len()],
                ..PathSummary::default()
            },
            ..PathRecord::default()
        };
        self.reset();
        self.begin_step();
        self.finish_step(0, CascadeOutcome::default(), &mut rec);
        let mut mark = self.timing.map(|_| Instant::now());
        for t in 1..=sc.steps {
            self.begin_step();
            self.accrue_interest();
            self.move_prices(t, &mut rng);
            lap(&mut mark, self.timing.as_mut().map(|s| &mut s.prices));
            self.arbitrage();
            self.lenders_act(t);
            self.deleverage(t);
            self.perp_index(t);
            self.options_act(t);
            lap(&mut mark, self.timing.as_mut().map(|s| &mut s.arbitrage));
            let outcome = self.cascade(t, &mut rec);
            self.perp_funding();
            lap(&mut mark, self.timing.as_mut().map(|s| &mut s.cascade));
            self.persist_impact();
            self.check_finite(path, t)?;
            self.finish_step(t, outcome, &mut rec);
            lap(&mut mark, self.timing.as_mut().map(|s| &mut s.record));
            after_step(self, t);
        }
        self.systemic(&mut rec);
        Ok(rec)
    }

    /// Start collecting per-stage wall time (benchmarks only).
    pub fn enable_timing(&mut self) {
        self.timing = Some(StageNanos::default());
    }

    /// Per-stage wall time collected so far, if enabled.
    pub fn stage_nanos(&self) -> Option<StageNanos> {
        self.timing
    }

    fn begin_step(&mut self) {
        self.step_liqs.fill(0);
        self.step_repaid.fill(0.0);
        self.step_seized.fill(0.0);
        self.step_bad.fill(0.0);
        self.step_bad_contagion.fill(0.0);
        self.step_withdrawn.fill(0.0);
        self.step_deleveraged.fill(0.0);
        self.executed_this_step = 0;
    }

    /// Stage 0 (docs/model.md §11): interest over the step at the rate the
    /// utilisation of the end of the previous step gives. The debt index
    /// grows by `exp(rate·dt)`; of the interest, the reserve factor goes to
    /// the reserve fund and the rest to the suppliers.
    pub fn accrue_interest(&mut self) {
        let dt = self.sc.dt_years();
        for (p, spec) in self.sc.protocols.iter().enumerate() {
            let Some(rate) = spec.supply.and_then(|s| s.rate) else {
                continue;
            };
            let s = &mut self.supply[p];
            let r = rate.borrow_rate(s.utilisation());
            let growth = (r * dt).exp();
            let interest = s.borrowed * (growth - 1.0);
            self.borrow_rate[p] = r;
            self.debt_index[p] *= growth;
            s.earn(interest, rate.reserve_factor);
        }
    }

    /// Stage 3 (docs/model.md §11, "Runs"): each lender, in scenario order,
    /// starts running once any of its signals fires (share value below its
    /// peak by the drawdown, utilisation at the level, the peer's cumulative
    /// bad debt at the amount, the scripted step reached) and from then on
    /// redeems `withdraw` of its
    /// remaining shares every step, as far as the protocol's cash allows.
    pub fn lenders_act(&mut self, t: u32) {
        let sc = self.sc;
        for (l, spec) in sc.lenders.iter().enumerate() {
            let p = spec.protocol;
            let s = self.supply[p];
            if !self.lender_running[l] {
                let v = s.share_value();
                let drawdown = spec
                    .share_value_drawdown
                    .is_some_and(|d| 1.0 - v / self.peak_share_value[p] >= d);
                let utilised = spec.utilisation.is_some_and(|u| s.utilisation() >= u);
                let peer = spec
                    .peer_bad_debt
                    .is_some_and(|(q, usd)| self.bad_debt_cum[q] >= usd);
                let scripted = spec.at_step.is_some_and(|s| t >= s);
                self.lender_running[l] = drawdown || utilised || peer || scripted;
            }
            if self.lender_running[l] && self.lender_shares[l] > 0.0 {
                let value = s.share_value();
                if value <= 0.0 {
                    continue;
                }
                let paid = self.supply[p].redeem(self.lender_shares[l] * spec.withdraw);
                self.lender_shares[l] = (self.lender_shares[l] - paid / value).max(0.0);
                // A flow, valued at the oracle price when it happened.
                let price = self.oracle_price_now(t, p, sc.protocols[p].debt_asset);
                self.step_withdrawn[p] += paid * price;
                if spec.sell && paid > 0.0 {
                    let pi = sc.pool_of[sc.protocols[p].debt_asset].expect("validated");
                    self.pools[pi].sell_base(paid);
                }
            }
        }
    }

    /// Stage 3b (docs/model.md §12, "Deleveraging"): in a protocol whose
    /// borrow rate this step is above its borrowers' tolerance, every
    /// borrower with HF ≥ 1 repays `repay` of what it owes by selling its
    /// largest collateral (valued at the oracle) into that asset's pool, or
    /// redeeming it at its issuer, or at F without either; the proceeds, at
    /// the debt asset's F, repay the debt.
    pub fn deleverage(&mut self, t: u32) {
        let sc = self.sc;
        if sc.protocols.iter().all(|p| p.deleverage.is_none()) {
            return;
        }
        self.fill_oracle(t);
        let n = self.n_assets;
        for (p, spec) in sc.protocols.iter().enumerate() {
            let Some(d) = spec.deleverage else { continue };
            if self.borrow_rate[p] <= d.borrow_rate {
                continue;
            }
            for i in 0..sc.book.len() {
                if sc.book.protocol[i] as usize != p
                    || self.debt[i] <= 0.0
                    || self.health_factor(i) < 1.0
                {
                    continue;
                }
                let px = &self.oracle[p * n..(p + 1) * n];
                let range = sc.book.coll_range(i);
                let Some(offset) = lending::largest_collateral(
                    range
                        .clone()
                        .map(|k| self.coll_units[k] * px[sc.book.coll_asset[k] as usize]),
                ) else {
                    continue;
                };
                let k = range.start + offset;
                let asset = sc.book.coll_asset[k] as usize;
                let owed = self.owed(i);
                let target = d.repay * owed;
                let units = (target * px[spec.debt_asset] / px[asset]).min(self.coll_units[k]);
                if units.is_nan() || units <= 0.0 {
                    continue;
                }
                let proceeds = self.dispose(asset, units);
                let repaid = (proceeds / self.fundamental[spec.debt_asset]).min(owed);
                let old_key = self.dirty_key(i);
                self.mark_dirty(i);
                self.coll_units[k] -= units;
                self.debt[i] = if repaid >= owed {
                    0.0
                } else {
                    self.debt[i] - repaid / self.debt_index[p]
                };
                self.rekey(i, old_key);
                if spec.supply.is_some() {
                    self.supply[p].cash += repaid;
                    self.supply[p].borrowed -= repaid;
                }
                self.step_deleveraged[p] += repaid * self.oracle[p * n + spec.debt_asset];
            }
        }
    }

    /// Where an agent trading `asset` sees its price: its pool's spot in
    /// USD, or F without a pool.
    /// Protocol `p`'s oracle price of `asset` now, during step `t`, as
    /// `fill_oracle` would read it, without refreshing anything.
    fn oracle_price_now(&self, t: u32, p: usize, asset: usize) -> f64 {
        let oracle = &self.sc.protocols[p].oracle;
        let from_pool = oracle.source == OracleSource::Pool;
        if oracle.lag_steps > 0 {
            self.history.lagged(t, oracle.lag_steps, from_pool)[asset]
        } else if from_pool {
            self.market_price(asset)
        } else {
            self.fundamental[asset]
        }
    }

    fn market_price(&self, asset: usize) -> f64 {
        match self.sc.pool_of[asset] {
            Some(p) => self.pools[p].spot() * self.fundamental[self.sc.pools[p].quote],
            None => self.fundamental[asset],
        }
    }

    /// Stage 3d (docs/model.md §14): hedgers settle what expired and trade
    /// their pool back inside their delta band; option vaults settle and
    /// sell the next epoch.
    pub fn options_act(&mut self, t: u32) {
        let sc = self.sc;
        let hours = t as f64 * sc.dt_hours;
        for (k, spec) in sc.hedgers.iter().enumerate() {
            let quote = self.fundamental[sc.pools[spec.pool].quote];
            let Some((_, pos)) = spec.perp else {
                self.hedgers[k].step(
                    spec,
                    &mut self.pools[spec.pool],
                    quote,
                    hours,
                    sc.dt_years(),
                );
                continue;
            };
            // Hedging in the perp (docs/model.md §14): the account's position
            // is the hedge, its margin holds the hedge's gains and losses.
            let s = self.pools[spec.pool].spot() * quote;
            let g = self.hedgers[k].begin(spec, s, hours, sc.dt_years());
            let net = g.delta + self.perp.size[pos];
            self.hedgers[k].trade = 0.0;
            if net.abs() > spec.band {
                self.fill_perp_prices();
                if self.perp.agent_trade(
                    &sc.perps,
                    &sc.perp_book,
                    pos,
                    -net,
                    &mut self.pools,
                    &self.perp_quote,
                ) {
                    self.hedgers[k].trade = -net;
                }
            }
        }
        for v in 0..self.vaults.len() {
            let spec = &sc.option_vaults[v];
            let s = self.market_price(spec.asset);
            self.vaults[v].step(spec, s, hours, sc.dt_years());
        }
    }

    /// What a perp-hedging agent's account (position `pos`) has gained at
    /// mark `s`: its margin with the variation since the last settlement,
    /// less its starting margin (or what it got back once liquidated).
    fn perp_hedge_gain(&self, pos: usize, s: f64) -> f64 {
        let book = &self.sc.perp_book;
        let account = book.account[pos] as usize;
        if self.perp.open[account] {
            let m = book.market[pos] as usize;
            self.perp.margin[account] + self.perp.size[pos] * (s - self.perp.last_mark[m])
                - book.margin[account]
        } else {
            self.perp.returned_to[account] - book.margin[account]
        }
    }

    /// Each perp's quote price and mark (its pool's spot in USD), into the
    /// scratch buffers.
    fn fill_perp_prices(&mut self) {
        let sc = self.sc;
        for (q, p) in self.perp_quote.iter_mut().zip(&sc.perps) {
            *q = self.fundamental[sc.pools[p.pool].quote];
        }
        PerpState::fill_marks(
            &sc.perps,
            &self.pools,
            &self.perp_quote,
            &mut self.perp_mark,
        );
    }

    /// Stage 3c (docs/model.md §15): each perp reads its index (the
    /// fundamental, lagged) and feeds its margin model.
    pub fn perp_index(&mut self, t: u32) {
        let sc = self.sc;
        if sc.perps.is_empty() {
            return;
        }
        self.perp.begin_step();
        self.perp_index_prev.clone_from(&self.perp_index);
        for (m, spec) in sc.perps.iter().enumerate() {
            self.perp_index[m] = if spec.index_lag_steps == 0 {
                self.fundamental[spec.asset]
            } else {
                self.history.lagged(t, spec.index_lag_steps, false)[spec.asset]
            };
        }
        for (r, (now, before)) in self
            .perp_return
            .iter_mut()
            .zip(self.perp_index.iter().zip(&self.perp_index_prev))
        {
            *r = (now / before).ln();
        }
        self.perp
            .observe_index(&sc.perps, &self.perp_return, sc.dt_years());
    }

    /// Stage 4b: funding at the marks the cascade left (the premium is the
    /// pools' distance from the index after the step's forced trades),
    /// before impact persistence.
    pub fn perp_funding(&mut self) {
        let sc = self.sc;
        if sc.perps.is_empty() {
            return;
        }
        self.fill_perp_prices();
        self.perp.funding(
            &sc.perps,
            &sc.perp_book,
            &self.perp_mark,
            &self.perp_index,
            sc.dt_hours,
        );
    }

    /// One perp liquidation round inside the cascade; returns the number
    /// of accounts liquidated.
    fn perp_round(&mut self, rec: &mut PathRecord) -> u32 {
        let sc = self.sc;
        if sc.perps.is_empty() {
            return 0;
        }
        self.fill_perp_prices();
        let round = self.perp.liquidation_round(
            &sc.perps,
            &sc.perp_book,
            &mut self.pools,
            &self.perp_quote,
        );
        rec.summary.perp_liquidations += round.positions;
        round.accounts
    }

    /// Turn `units` of `asset` into USD: sold into the asset's pool, or
    /// redeemed at its issuer if it is a receipt token (limited by cash), or
    /// burnt for its share of the reserves if it is an LP token (the base
    /// leg then sold into the same pool), or valued at F with none of these.
    fn dispose(&mut self, asset: usize, units: f64) -> f64 {
        let sc = self.sc;
        if let Some(lp) = sc.assets[asset].lp_of {
            let supply = self.lp_supply[asset];
            let units = units.min(supply);
            let pool = &mut self.pools[lp.pool];
            let (dx, dy) = pool.remove_liquidity(units / supply);
            let out = pool.sell_base(dx);
            self.lp_supply[asset] = supply - units;
            return (dy + out) * self.fundamental[sc.pools[lp.pool].quote];
        }
        if let Some(pi) = sc.pool_of[asset] {
            let out = self.pools[pi].sell_base(units);
            out * self.fundamental[sc.pools[pi].quote]
        } else if let Some(q) = sc.assets[asset].receipt_of {
            let paid = self.supply[q].redeem(units);
            paid * self.fundamental[sc.protocols[q].debt_asset]
        } else {
            units * self.fundamental[asset]
        }
    }

    /// Note that position i is about to differ from the book on this path.
    fn mark_dirty(&mut self, i: usize) {
        if !self.dirty[i] {
            self.dirty[i] = true;
            self.dirty_ids.push(i as u32);
            if self.sc.book.index.group_of[i] == u32::MAX {
                self.dirty_multi.push(i as u32);
            }
        }
    }

    /// What position i owes now, in units of its debt asset.
    pub fn owed(&self, i: usize) -> f64 {
        self.debt[i] * self.debt_index[self.sc.book.protocol[i] as usize]
    }

    /// Stage 1: each stochastic asset moves by its process with correlated
    /// normals, then the step's scripted shocks apply. Draw order: one
    /// standard normal per stochastic asset (asset order), then each Merton
    /// asset's jumps (asset order).
    pub fn move_prices<R: Rng + ?Sized>(&mut self, t: u32, rng: &mut R) {
        let sc = self.sc;
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
        for (d, a) in self.discount.iter_mut().zip(&sc.assets) {
            if let Some(peg) = a.peg {
                *d *= peg.keep;
            }
        }
        for &(a, log_shock) in &sc.shocks[t as usize] {
            if sc.assets[a].peg.is_some() {
                self.discount[a] += log_shock;
            } else {
                self.fundamental[a] *= log_shock.exp();
            }
        }
        self.refresh_derived();
    }

    /// Stage 2: every pool is traded along its curve to `F_base / F_quote`.
    pub fn arbitrage(&mut self) {
        for (pool, spec) in self.pools.iter_mut().zip(&self.sc.pools) {
            pool.arbitrage_to(self.fundamental[spec.base] / self.fundamental[spec.quote]);
        }
        self.refresh_lp();
    }

    /// Stage 5: `ln F += ρ·(ln P_pool − ln F)` for each pool's base asset,
    /// with the pool price in USD (`y/x · F_quote`). For a pegged base the
    /// move goes into its discount δ, so it stays relative to the underlying.
    /// Every pool is measured at the prices the cascade left before any of
    /// them persists, so the order of pools in the file does not matter.
    pub fn persist_impact(&mut self) {
        let mut moves = std::mem::take(&mut self.persisted);
        moves.clear();
        for (pool, spec) in self.pools.iter().zip(&self.sc.pools) {
            let rho = spec.impact_persistence;
            if rho > 0.0 {
                let p_usd = pool.spot() * self.fundamental[spec.quote];
                let f = self.fundamental[spec.base];
                moves.push((spec.base, rho * (p_usd.ln() - f.ln())));
            }
        }
        for &(base, step) in &moves {
            if self.sc.assets[base].peg.is_some() {
                self.discount[base] += step;
            }
            self.fundamental[base] = (self.fundamental[base].ln() + step).exp();
        }
        self.persisted = moves;
        self.refresh_derived();
    }

    /// Pool spot in USD of every asset (the fundamental for assets without one).
    fn fill_pool_usd(&mut self) {
        for a in 0..self.n_assets {
            self.pool_usd[a] = match self.sc.pool_of[a] {
                Some(i) => self.pools[i].spot() * self.fundamental[self.sc.pools[i].quote],
                None => self.fundamental[a],
            };
        }
    }

    /// docs/model.md §4: each protocol's oracle prices during (or at the end of)
    /// step `t`.
    fn fill_oracle(&mut self, t: u32) {
        self.refresh_derived();
        self.fill_pool_usd();
        let n = self.n_assets;
        for (p, spec) in self.sc.protocols.iter().enumerate() {
            let row = &mut self.oracle[p * n..(p + 1) * n];
            let from_pool = spec.oracle.source == OracleSource::Pool;
            if spec.oracle.lag_steps == 0 {
                row.copy_from_slice(if from_pool {
                    &self.pool_usd
                } else {
                    &self.fundamental
                });
            } else {
                row.copy_from_slice(self.history.lagged(t, spec.oracle.lag_steps, from_pool));
            }
        }
    }

    /// Health factor of position i at the current oracle prices.
    fn health_factor(&self, i: usize) -> f64 {
        let book = &self.sc.book;
        let p = book.protocol[i] as usize;
        let px = &self.oracle[p * self.n_assets..(p + 1) * self.n_assets];
        let mut weighted = 0.0;
        for k in book.coll_range(i) {
            weighted += self.coll_units[k] * px[book.coll_asset[k] as usize] * book.coll_lt[k];
        }
        let p_debt = px[self.sc.protocols[p].debt_asset];
        lending::health_factor(weighted, self.owed(i) * p_debt)
    }

    /// Stage 4: liquidation rounds until one executes nothing or the cap.
    pub fn cascade(&mut self, t: u32, rec: &mut PathRecord) -> CascadeOutcome {
        let mut outcome = CascadeOutcome::default();
        let mut candidates = std::mem::take(&mut self.candidates);
        for round in 0..self.sc.max_cascade_rounds {
            self.fill_oracle(t);
            candidates.clear();
            match self.search {
                CandidateSearch::FullScan => self.scan_all(&mut candidates),
                CandidateSearch::Indexed => self.scan_index(&mut candidates),
            }
            // Ascending HF, ties by ascending id.
            candidates.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut executed = 0;
            for &(hf, i) in &candidates {
                if self.liquidate(t, round, i as usize, hf, rec) {
                    executed += 1;
                }
            }
            executed += self.perp_round(rec);
            if executed == 0 {
                break;
            }
            outcome.rounds += 1;
            if round + 1 == self.sc.max_cascade_rounds {
                outcome.capped = true;
            }
        }
        self.candidates = candidates;
        outcome
    }

    /// Every position with debt and HF < 1.
    fn scan_all(&self, out: &mut Vec<(f64, u32)>) {
        for i in 0..self.debt.len() {
            if self.debt[i] > 0.0 {
                let hf = self.health_factor(i);
                if hf < 1.0 {
                    out.push((hf, i as u32));
                }
            }
        }
    }

    fn push_if_liquidatable(&self, i: u32, out: &mut Vec<(f64, u32)>) {
        if self.debt[i as usize] > 0.0 {
            let hf = self.health_factor(i as usize);
            if hf < 1.0 {
                out.push((hf, i));
            }
        }
    }

    /// The same set as `scan_all`, through the liquidation index.
    fn scan_index(&mut self, out: &mut Vec<(f64, u32)>) {
        let index = &self.sc.book.index;
        let n = self.n_assets;
        for (g, group) in index.groups.iter().enumerate() {
            let p = group.protocol as usize;
            let px = &self.oracle[p * n..(p + 1) * n];
            let ratio = px[group.asset as usize] / px[self.sc.protocols[p].debt_asset];
            // Keys are scaled liquidation prices: L = key · debt index.
            let threshold = ratio * (1.0 - index::MARGIN) / self.debt_index[p];
            let mut j = self.frontier[g];
            while j < group.order.len() && self.dirty[group.order[j] as usize] {
                j += 1;
            }
            self.frontier[g] = j;
            while j < group.key.len() && group.key[j] > threshold {
                let i = group.order[j];
                if !self.dirty[i as usize] {
                    self.push_if_liquidatable(i, out);
                }
                j += 1;
            }
            for &(_, i) in self.dirty_sets[g].range((index::key_bits(threshold), 0)..) {
                self.push_if_liquidatable(i, out);
            }
        }
        // Multi-collateral positions: the bound HF ≥ HF₀·m (index.rs) skips
        // all but a prefix; those liquidated on this path are checked as is.
        for mg in &index.multi {
            let p = mg.protocol as usize;
            let px = &self.oracle[p * n..(p + 1) * n];
            let spec = &self.sc.protocols[p];
            let debt_move = px[spec.debt_asset] / self.sc.assets[spec.debt_asset].initial_price;
            let mut m = f64::INFINITY;
            for (a, c) in spec.collateral.iter().enumerate() {
                if c.is_some() {
                    m = m.min(px[a] / self.sc.assets[a].initial_price);
                }
            }
            let m = m / debt_move / self.debt_index[p];
            for (j, &i) in mg.order.iter().enumerate() {
                // ∞·0 is NaN (a position without debt when prices hit 0): stop.
                let bound = mg.hf0[j] * m;
                if bound.is_nan() || bound >= 1.0 + index::MARGIN {
                    break;
                }
                if !self.dirty[i as usize] {
                    self.push_if_liquidatable(i, out);
                }
            }
        }
        for &i in &self.dirty_multi {
            self.push_if_liquidatable(i, out);
        }
    }

    /// Track a position whose state is about to change (before the change),
    /// and re-key it in its group's dirty set (after).
    fn rekey(&mut self, i: usize, before: Option<f64>) {
        let g = self.sc.book.index.group_of[i];
        if g == u32::MAX {
            return;
        }
        let g = g as usize;
        if let Some(old) = before {
            self.dirty_sets[g].remove(&(index::key_bits(old), i as u32));
        }
        if self.debt[i] > 0.0 {
            let k = self.sc.book.coll_range(i).start;
            let lt = self.sc.book.index.groups[g].lt;
            let key = index::liquidation_price(self.debt[i], self.coll_units[k], lt);
            self.dirty_sets[g].insert((index::key_bits(key), i as u32));
        }
    }

    /// The current key of a dirty single-collateral position with debt.
    fn dirty_key(&self, i: usize) -> Option<f64> {
        let g = self.sc.book.index.group_of[i];
        if g == u32::MAX || !self.dirty[i] || self.debt[i] <= 0.0 {
            return None;
        }
        let k = self.sc.book.coll_range(i).start;
        let lt = self.sc.book.index.groups[g as usize].lt;
        Some(index::liquidation_price(
            self.debt[i],
            self.coll_units[k],
            lt,
        ))
    }

    /// docs/model.md §5 steps 1–7 for one position, at the round's oracle prices.
    /// Returns whether a liquidation was executed.
    fn liquidate(&mut self, t: u32, round: u32, i: usize, hf: f64, rec: &mut PathRecord) -> bool {
        let sc = self.sc;
        let book = &sc.book;
        let p = book.protocol[i] as usize;
        let spec = &sc.protocols[p];
        let px = &self.oracle[p * self.n_assets..(p + 1) * self.n_assets];
        let p_debt = px[spec.debt_asset];

        let cf = lending::close_factor(hf, spec.close_factor, spec.full_liquidation_hf);
        let range = book.coll_range(i);
        let Some(offset) = lending::largest_collateral(
            range
                .clone()
                .map(|k| self.coll_units[k] * px[book.coll_asset[k] as usize]),
        ) else {
            return false;
        };
        let k = range.start + offset;
        let asset = book.coll_asset[k] as usize;
        let p_coll = px[asset];
        let owed = self.owed(i);
        let seizure = lending::seizure(
            cf * owed,
            p_debt,
            p_coll,
            book.coll_lb[k],
            self.coll_units[k],
        );
        let gas = sc.network.gas(self.executed_this_step);
        let repaid_value = seizure.repay * p_debt;
        let seized_value = seizure.seize * p_coll;
        let Some(l) = liquidator::choose(
            &sc.liquidators,
            &self.capital,
            repaid_value,
            seized_value - repaid_value - gas,
        ) else {
            return false;
        };

        // Share of the collateral value held in receipt tokens when the
        // position is first liquidated on the path: the part of any bad
        // debt it ends with that counts as contagion (docs/model.md §11).
        let contagion_share = match self.first_share.get(i) {
            None => 0.0,
            Some(s) if !s.is_nan() => *s,
            Some(_) => {
                let (mut total_value, mut receipt_value) = (0.0, 0.0);
                for k in range.clone() {
                    let a = book.coll_asset[k] as usize;
                    let v = self.coll_units[k] * px[a];
                    total_value += v;
                    if sc.assets[a].receipt_of.is_some() {
                        receipt_value += v;
                    }
                }
                let share = if total_value > 0.0 {
                    receipt_value / total_value
                } else {
                    0.0
                };
                self.first_share[i] = share;
                share
            }
        };

        // Execute.
        let old_key = self.dirty_key(i);
        self.mark_dirty(i);
        // Scaled balance: repaying everything leaves exactly nothing.
        self.debt[i] = if cf == 1.0 && !seizure.capped {
            0.0
        } else {
            self.debt[i] - seizure.repay / self.debt_index[p]
        };
        self.coll_units[k] = if seizure.capped {
            0.0
        } else {
            self.coll_units[k] - seizure.seize
        };
        self.capital[l] -= repaid_value;
        if spec.supply.is_some() {
            self.supply[p].cash += seizure.repay;
            self.supply[p].borrowed -= seizure.repay;
        }
        // The seized units: sold into the asset's pool, or redeemed at the
        // issuer if they are receipt tokens (limited by its cash), or kept.
        let a = &sc.assets[asset];
        let proceeds = if sc.pool_of[asset].is_some() || a.receipt_of.is_some() || a.lp_of.is_some()
        {
            self.dispose(asset, seizure.seize)
        } else {
            0.0
        };
        self.capital[l] += proceeds;
        self.executed_this_step += 1;

        let mut bad = 0.0;
        if self.debt[i] > 0.0 && range.clone().all(|k| self.coll_units[k] == 0.0) {
            let left = self.owed(i);
            bad = left * p_debt;
            if spec.supply.is_some() {
                let shares = self.supply[p].shares;
                let socialised = self.supply[p].absorb(left);
                if socialised > 0.0 && shares > 0.0 {
                    self.socialised_per_share[p] += socialised / shares;
                }
                self.supply[p].borrowed -= left;
            }
            self.debt[i] = 0.0;
        }
        self.rekey(i, old_key);

        self.step_liqs[p] += 1;
        self.step_repaid[p] += repaid_value;
        self.step_seized[p] += seized_value;
        self.step_bad[p] += bad;
        let bad_contagion = bad * contagion_share;
        self.step_bad_contagion[p] += bad_contagion;
        rec.summary.bad_debt_contagion += bad_contagion;
        rec.summary.liquidations += 1;
        rec.summary.liquidated_value += seized_value;
        rec.summary.bad_debt += bad;
        rec.summary.protocol_liquidated[p] += seized_value;
        rec.summary.protocol_bad_debt[p] += bad;
        rec.summary.protocol_bad_debt_contagion[p] += bad_contagion;
        rec.summary.protocol_liquidations[p] += 1;
        if rec.recorded {
            let r = &mut rec.liquidations;
            r.step.push(t);
            r.round.push(round);
            r.protocol.push(p as u32);
            r.position.push(book.id[i]);
            r.liquidator.push(l as u32);
            r.asset.push(asset as u32);
            r.repaid.push(seizure.repay);
            r.repaid_value.push(repaid_value);
            r.seized.push(seizure.seize);
            r.seized_value.push(seized_value);
            r.oracle_price.push(p_coll);
            r.health_factor.push(hf);
            r.gas.push(gas);
            r.bad_debt.push(bad);
            r.proceeds_value.push(proceeds);
            r.bad_debt_contagion.push(bad_contagion);
        }
        true
    }

    /// NaN quarantine: every price and reserve must stay finite and positive.
    fn check_finite(&self, path: u32, step: u32) -> Result<(), EngineError> {
        let bad = |what: String, value: f64| EngineError::NonFinite {
            path,
            step,
            what,
            value,
        };
        for (a, &f) in self.fundamental.iter().enumerate() {
            // A receipt token is worth zero once its suppliers lost everything.
            let floor_ok = f > 0.0 || (f == 0.0 && self.sc.assets[a].receipt_of.is_some());
            if !(f.is_finite() && floor_ok) {
                return Err(bad(
                    format!("fundamental price of {}", self.sc.assets[a].symbol),
                    f,
                ));
            }
        }
        for (pool, spec) in self.pools.iter().zip(&self.sc.pools) {
            for v in [pool.x, pool.y] {
                if !(v.is_finite() && v > 0.0) {
                    return Err(bad(
                        format!("reserve of the {} pool", self.sc.assets[spec.base].symbol),
                        v,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Stage 6: value the book at the end-of-step oracle prices, record the
    /// step if this path and step are recorded, and remember the prices for
    /// lagged oracles.
    fn finish_step(&mut self, t: u32, outcome: CascadeOutcome, rec: &mut PathRecord) {
        let sc = self.sc;
        let last = t == sc.steps;
        let write = rec.recorded && sc.records_step(t);
        self.fill_oracle(t);
        for (p, bad) in self.step_bad.iter().enumerate() {
            self.bad_debt_cum[p] += bad;
        }
        for (p, peak) in self.peak_share_value.iter_mut().enumerate() {
            *peak = peak.max(self.supply[p].share_value());
        }
        for (a, &f) in self.fundamental.iter().enumerate() {
            self.peak[a] = self.peak[a].max(f);
            rec.summary.max_drawdown = rec.summary.max_drawdown.max(1.0 - f / self.peak[a]);
        }
        rec.summary.max_cascade_rounds = rec.summary.max_cascade_rounds.max(outcome.rounds);
        if !sc.perps.is_empty() {
            self.record_perps(t, last, write, rec);
        }
        if write {
            self.record_greeks(t, rec);
        }
        rec.summary.capped_steps += outcome.capped as u32;

        if last && !write {
            let per_protocol = self.insolvent_debt();
            rec.summary.insolvent_debt = per_protocol.iter().sum();
            rec.summary.protocol_insolvent.clone_from(&per_protocol);
            self.last_insolvent = per_protocol;
        }
        if write {
            let values = self.value_book();
            if last {
                rec.summary.insolvent_debt = values.iter().map(|v| v.2).sum();
                self.last_insolvent = values.iter().map(|v| v.2).collect();
                rec.summary
                    .protocol_insolvent
                    .clone_from(&self.last_insolvent);
            }
            {
                let m = &mut rec.market;
                for a in 0..self.n_assets {
                    m.step.push(t);
                    m.asset.push(a as u32);
                    m.fundamental.push(self.fundamental[a]);
                    m.pool_price.push(sc.pool_of[a].map(|_| self.pool_usd[a]));
                }
                let r = &mut rec.protocols;
                for (p, &(collateral, debt, insolvent)) in values.iter().enumerate() {
                    r.step.push(t);
                    r.protocol.push(p as u32);
                    r.collateral_value.push(collateral);
                    r.debt_value.push(debt);
                    r.liquidations.push(self.step_liqs[p]);
                    r.repaid_value.push(self.step_repaid[p]);
                    r.seized_value.push(self.step_seized[p]);
                    r.bad_debt.push(self.step_bad[p]);
                    r.bad_debt_contagion.push(self.step_bad_contagion[p]);
                    r.bad_debt_cum.push(self.bad_debt_cum[p]);
                    r.insolvent_debt.push(insolvent);
                    r.cascade_rounds.push(outcome.rounds);
                    r.cascade_capped.push(outcome.capped);
                    let supply = sc.protocols[p].supply.map(|_| self.supply[p]);
                    let p_debt = self.oracle[p * self.n_assets + sc.protocols[p].debt_asset];
                    r.share_value.push(supply.map(|s| s.share_value()));
                    r.cash_value.push(supply.map(|s| s.cash * p_debt));
                    r.reserve_value.push(supply.map(|s| s.reserve * p_debt));
                    r.socialised_cum.push(supply.map(|s| s.socialised * p_debt));
                    r.utilisation.push(supply.map(|s| s.utilisation()));
                    r.withdrawn_value
                        .push(supply.map(|_| self.step_withdrawn[p]));
                    r.deleveraged_value
                        .push(sc.protocols[p].deleverage.map(|_| self.step_deleveraged[p]));
                    r.borrow_rate.push(
                        sc.protocols[p]
                            .supply
                            .and_then(|s| s.rate)
                            .map(|_| self.borrow_rate[p]),
                    );
                }
            }
        }
        self.history.push(t, &self.fundamental, &self.pool_usd);
    }

    /// Perp totals of the step into the summary, and its rows if recorded.
    fn record_perps(&mut self, t: u32, last: bool, write: bool, rec: &mut PathRecord) {
        let sc = self.sc;
        self.fill_perp_prices();
        let marks = &self.perp_mark;
        let p = &self.perp;
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
        let oi = p.open_interest(&sc.perp_book, sc.perps.len());
        let r = &mut rec.perps;
        for m in 0..sc.perps.len() {
            r.step.push(t);
            r.perp.push(m as u32);
            r.mark.push(marks[m]);
            r.index.push(self.perp_index[m]);
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

    /// Rows of the option agents for step t. Stocks (Greeks, PnL, equity)
    /// are valued at the end-of-step price, flows (the hedge trade, premium,
    /// payout) are as they happened (docs/model.md §8).
    fn record_greeks(&self, t: u32, rec: &mut PathRecord) {
        let sc = self.sc;
        let hours = t as f64 * sc.dt_hours;
        let g = &mut rec.greeks;
        for (i, (h, spec)) in self.hedgers.iter().zip(&sc.hedgers).enumerate() {
            let s = self.pools[spec.pool].spot() * self.fundamental[sc.pools[spec.pool].quote];
            let (hedge, extra) = match spec.perp {
                Some((_, pos)) => (self.perp.size[pos], self.perp_hedge_gain(pos, s)),
                None => (h.hedge, h.hedge * s),
            };
            let (now, pnl) = h.valued(spec, s, hours, hedge, extra);
            g.step.push(t);
            g.agent.push(i as u32);
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
            let (equity, greeks) = v.marked(spec, self.market_price(spec.asset), hours);
            g.step.push(t);
            g.agent.push((self.hedgers.len() + i) as u32);
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

    /// The perp ledger (docs/model.md §15), constant over a path.
    pub fn perp_ledger(&self) -> f64 {
        self.perp.ledger()
    }

    /// Insolvent debt of all protocols at the current oracle prices, equal to
    /// the bits to the sum `value_book` gives, without a full pass when the
    /// index is used: the insolvent single-collateral positions (`c·p_a <
    /// d·p_d ⟺ L·LT > p_a/p_d`) come from the index, and their shortfalls
    /// are added per protocol in id order (a full pass adds exact zeros for
    /// the others, which changes no sum).
    fn insolvent_debt(&mut self) -> Vec<f64> {
        if self.search == CandidateSearch::FullScan {
            return self.value_book().iter().map(|v| v.2).collect();
        }
        let index = &self.sc.book.index;
        let n = self.n_assets;
        let mut ids = std::mem::take(&mut self.candidates);
        ids.clear();
        for (g, group) in index.groups.iter().enumerate() {
            let p = group.protocol as usize;
            let px = &self.oracle[p * n..(p + 1) * n];
            let ratio = px[group.asset as usize] / px[self.sc.protocols[p].debt_asset];
            // L·LT > r  ⟺  L > r / LT; the margin keeps it a superset.
            let threshold = ratio / group.lt * (1.0 - index::MARGIN) / self.debt_index[p];
            let mut j = self.frontier[g];
            while j < group.key.len() && group.key[j] > threshold {
                let i = group.order[j];
                if !self.dirty[i as usize] {
                    ids.push((0.0, i));
                }
                j += 1;
            }
            for &(_, i) in self.dirty_sets[g].range((index::key_bits(threshold), 0)..) {
                ids.push((0.0, i));
            }
        }
        ids.extend(index.others.iter().map(|&i| (0.0, i)));
        ids.sort_unstable_by_key(|c| c.1);
        let mut per_protocol = vec![0.0; self.sc.protocols.len()];
        for &(_, i) in &ids {
            let (p, collateral, debt) = self.position_value(i as usize);
            per_protocol[p] += (debt - collateral).max(0.0);
        }
        self.candidates = ids;
        per_protocol
    }

    /// End of a path (docs/model.md §13): DebtRank of the path's direct
    /// losses, and the Eisenberg–Noe clearing of the protocols' balance
    /// sheets as they stand, at each protocol's end-of-path oracle.
    fn systemic(&mut self, rec: &mut PathRecord) {
        let sc = self.sc;
        if !self.network.has_capital() {
            return;
        }
        let s = &rec.summary;
        let direct: Vec<f64> = s
            .protocol_bad_debt
            .iter()
            .zip(&s.protocol_bad_debt_contagion)
            .map(|(b, c)| b - c)
            .collect();
        rec.summary.debtrank = self.network.path_debtrank(&direct);

        let n = sc.protocols.len();
        let na = self.n_assets;
        let p_debt = |w: &Self, p: usize| w.oracle[p * na + sc.protocols[p].debt_asset];
        // What one share still held is owed absent losses: its value plus
        // what was socialised per share (0 with no share left: suppliers
        // who redeemed were paid).
        let claims_value = |w: &Self, p: usize| {
            let st = &w.supply[p];
            if st.shares > 0.0 {
                st.supplier_assets / st.shares + w.socialised_per_share[p]
            } else {
                0.0
            }
        };
        let mut b = BalanceSheets::new(n);
        b.capital.clone_from(&self.network.capital);
        for (p, spec) in sc.protocols.iter().enumerate() {
            if spec.supply.is_some() {
                let st = &self.supply[p];
                let price = p_debt(self, p);
                b.claims[p] = st.shares * claims_value(self, p) * price;
                b.assets[p] = (st.cash + st.borrowed) * price - self.last_insolvent[p];
            }
        }
        let book = &sc.book;
        let mut pledges = Vec::new();
        for &i in &self.receipt_holders {
            let i = i as usize;
            let j = book.protocol[i] as usize;
            let px = &self.oracle[j * na..(j + 1) * na];
            pledges.clear();
            for k in book.coll_range(i) {
                let a = book.coll_asset[k] as usize;
                let units = self.coll_units[k];
                pledges.push(Pledge {
                    value: units * px[a],
                    initial_value: units * sc.assets[a].initial_price,
                    receipt: sc.assets[a].receipt_of.map(|issuer| {
                        (
                            issuer,
                            units * claims_value(self, issuer) * p_debt(self, issuer),
                        )
                    }),
                });
            }
            let owed = self.owed(i) * px[sc.protocols[j].debt_asset];
            b.add_position(j, owed, &pledges);
        }
        let c = clear_protocols(&b);
        let defaults = (0..n)
            .filter(|&p| sc.protocols[p].supply.is_some() && c.defaulted(p))
            .count() as u32;
        rec.summary.clearing = Some((c.shortfall(), defaults));
    }

    /// (protocol, collateral value, debt value) of position i at the oracle.
    fn position_value(&self, i: usize) -> (usize, f64, f64) {
        let book = &self.sc.book;
        let n = self.n_assets;
        let p = book.protocol[i] as usize;
        let px = &self.oracle[p * n..(p + 1) * n];
        let mut collateral = 0.0;
        for k in book.coll_range(i) {
            collateral += self.coll_units[k] * px[book.coll_asset[k] as usize];
        }
        (
            p,
            collateral,
            self.owed(i) * px[self.sc.protocols[p].debt_asset],
        )
    }

    /// (collateral value, debt value, insolvent debt) of each protocol at the
    /// current oracle prices: a full pass over the book.
    fn value_book(&self) -> Vec<(f64, f64, f64)> {
        let mut out = vec![(0.0, 0.0, 0.0); self.sc.protocols.len()];
        for i in 0..self.sc.book.len() {
            let (p, collateral, debt) = self.position_value(i);
            let o = &mut out[p];
            o.0 += collateral;
            o.1 += debt;
            o.2 += (debt - collateral).max(0.0);
        }
        out
    }
}
