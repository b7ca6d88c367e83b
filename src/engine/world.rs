//! One path: the shared market and the mechanisms that act on it, run
//! through the phases of a step (docs/model.md §1).

use rand::Rng;

use crate::engine::phase::{Laps, Stage, StageNanos};
use crate::error::EngineError;
use crate::market::state::Market;
use crate::mechanism::attack::Attackers;
use crate::mechanism::cdp::Cdps;
use crate::mechanism::governance::watch::Observed;
use crate::mechanism::governance::{Governance, Governed};
use crate::mechanism::lending::{CandidateSearch, Lending, SupplyState};
use crate::mechanism::options::Options;
use crate::mechanism::oracle::Oracles;
use crate::mechanism::perp::Perps;
use crate::mechanism::systemic::Systemic;
use crate::montecarlo::seed::path_rng;
use crate::output::recorder::{PathRecord, PathSummary};
use crate::output::spill::Spill;
use crate::scenario::validated::Scenario;

/// How a step's cascade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CascadeOutcome {
    /// Rounds that executed at least one liquidation.
    pub rounds: u32,
    /// Whether `max_cascade_rounds` stopped a cascade still liquidating.
    pub capped: bool,
}

/// All state of one path, reused from path to path: the shared market and
/// one value per mechanism (`crate::mechanism`).
pub struct World<'a> {
    sc: &'a Scenario,
    /// Prices, pools and the price history every mechanism reads.
    pub market: Market,
    /// Lending markets: positions, supply sides, lenders, deleveraging.
    pub lending: Lending<'a>,
    /// Perpetual futures.
    pub perps: Perps<'a>,
    /// Hedgers and option vaults.
    pub options: Options<'a>,
    /// Push feeds: the oracles with state.
    pub oracles: Oracles<'a>,
    /// Oracle manipulators.
    pub attackers: Attackers<'a>,
    /// CDP stablecoins.
    pub cdps: Cdps<'a>,
    /// Parameter changes.
    governance: Governance<'a>,
    /// DebtRank and clearing at the end of a path.
    systemic: Systemic,
    laps: Laps,
    spill: Option<std::sync::Arc<Spill>>,
}

impl<'a> World<'a> {
    /// Allocate a world for a scenario; call `run_path` for each path.
    pub fn new(sc: &'a Scenario) -> Self {
        let mut lending = Lending::new(sc);
        World {
            sc,
            market: Market::new(sc),
            attackers: Attackers::new(sc, &mut lending),
            lending,
            perps: Perps::new(sc),
            options: Options::new(sc),
            oracles: Oracles::new(sc),
            cdps: Cdps::new(sc),
            governance: Governance::new(&sc.governance, sc.seed),
            systemic: Systemic::new(sc),
            laps: Laps::default(),
            spill: None,
        }
    }

    /// Move recorded paths' liquidation rows to disk as they grow
    /// (`output::spill`); `None` keeps them in memory.
    pub fn set_spill(&mut self, spill: Option<std::sync::Arc<Spill>>) {
        self.spill = spill;
    }

    /// Choose how candidates are found (results are identical either way).
    pub fn set_search(&mut self, search: CandidateSearch) {
        self.lending.set_search(search);
        self.perps
            .set_full_scan(search == CandidateSearch::FullScan);
    }

    /// Lending positions and perp accounts the cascade has checked exactly
    /// so far, over every path this world ran: the indexes' candidates, or
    /// everything with `CandidateSearch::FullScan`.
    pub fn examined(&self) -> (u64, u64) {
        (self.lending.examined(), self.perps.state.examined())
    }

    /// Start collecting per-stage wall time (benchmarks only).
    pub fn enable_timing(&mut self) {
        self.laps.enable();
    }

    /// Per-stage wall time collected so far, if enabled.
    pub fn stage_nanos(&self) -> Option<StageNanos> {
        self.laps.nanos()
    }

    /// The supply side of protocol `p` now (zeros without one).
    pub fn supply_state(&self, p: usize) -> SupplyState {
        self.lending.supply_state(p)
    }

    /// What position i owes now, in units of its debt asset.
    pub fn owed(&self, i: usize) -> f64 {
        self.lending.owed(i)
    }

    /// The perp ledger (docs/model.md §15), constant over a path.
    pub fn perp_ledger(&self) -> f64 {
        self.perps.ledger()
    }

    /// Every derived price, in dependency order: pegged tokens, LP tokens
    /// (their pool's legs may be pegged), receipt tokens (their debt asset
    /// may be pegged).
    fn refresh_derived(&mut self) {
        self.market.refresh_pegged(self.sc);
        self.market.refresh_lp(self.sc);
        self.lending.refresh_receipts(&mut self.market);
    }

    /// docs/model.md §4: derived and pool prices brought up to date, then
    /// each protocol's oracle read for step `t`.
    fn read_oracles(&mut self, t: u32) {
        self.refresh_derived();
        self.market.fill_pool_usd(self.sc);
        self.lending
            .read_oracles(t, &self.market, &mut self.oracles);
    }

    /// Stage 1: exogenous moves and shocks, then derived prices.
    pub fn move_prices<R: Rng + ?Sized>(&mut self, t: u32, rng: &mut R) {
        self.market.move_prices(self.sc, t, rng);
        self.refresh_derived();
    }

    /// Back to the scenario's initial state.
    fn reset(&mut self, path: u32) {
        self.market.reset(self.sc);
        self.lending.reset();
        self.lending.begin_path(path);
        self.attackers.reset();
        self.options.reset(&self.market);
        self.perps.reset(&self.market);
        // Lagged oracles read step 0 until step k: it must be this path's.
        self.market.fill_pool_usd(self.sc);
        self.market.push_history(0);
        self.oracles.reset(&self.market);
        self.cdps.reset(path, &self.market);
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
        let mut rec = PathRecord {
            recorded: sc.records_path(path),
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
        self.reset(path);
        self.governance.reset(path, &mut rec);
        self.lending.begin_step();
        self.finish_step(0, CascadeOutcome::default(), &mut rec);
        self.laps.start();
        for t in 1..=sc.steps {
            self.step(t, &mut rng, &mut rec)?;
            if let Some(spill) = &self.spill {
                spill.after_step(&mut rec)?;
            }
            after_step(self, t);
        }
        self.systemic.end_of_path(sc, &self.lending, &mut rec);
        // The attackers' and CDPs' outcomes are sums over the path too.
        self.attackers
            .end_of_path(&self.market, &self.lending, &mut rec);
        self.cdps.end_of_path(&mut rec);
        self.laps.lap(Stage::EndOfPath);
        Ok(rec)
    }

    /// One step t ≥ 1: the phases of docs/model.md §1, each mechanism in
    /// the phases it takes part in.
    fn step<R: Rng + ?Sized>(
        &mut self,
        t: u32,
        rng: &mut R,
        rec: &mut PathRecord,
    ) -> Result<(), EngineError> {
        let sc = self.sc;
        let governed = Governed {
            lending: &mut self.lending,
            perps: &mut self.perps,
            cdps: &mut self.cdps,
            oracles: &mut self.oracles,
        };
        self.governance.act(t, governed, rec);
        self.laps.lap(Stage::Governance);
        self.lending.begin_step();
        self.lending.accrue_interest();
        self.laps.lap(Stage::AccrueLending);
        if self.cdps.any() {
            self.cdps.accrue();
        }
        self.laps.lap(Stage::AccrueCdp);
        self.move_prices(t, rng);
        self.laps.lap(Stage::MovePrices);
        self.market.arbitrage(sc, t);
        self.laps.lap(Stage::Arbitrage);
        if self.cdps.any() {
            self.cdps.psm_arbitrage(&mut self.market);
        }
        self.laps.lap(Stage::ArbitrageCdp);
        self.lending.lenders_act(t, &mut self.market);
        if self.lending.deleverages() {
            self.read_oracles(t);
            self.lending.deleverage(&mut self.market);
        }
        self.laps.lap(Stage::AgentsLending);
        self.perps.observe_index(t, &self.market);
        self.laps.lap(Stage::AgentsPerps);
        self.options.act(t, &mut self.market, &mut self.perps);
        self.laps.lap(Stage::AgentsOptions);
        if self.attackers.any() {
            self.refresh_derived();
            self.attackers
                .act(t, &mut self.market, &mut self.lending, &mut self.oracles);
        }
        self.laps.lap(Stage::AgentsAttack);
        if self.cdps.any() {
            self.cdps.owners_act(&mut self.market);
        }
        self.laps.lap(Stage::AgentsCdp);
        let outcome = self.cascade(t, rec);
        self.perps.funding(&self.market);
        self.laps.lap(Stage::AfterCascadePerps);
        self.market.persist_impact(sc);
        self.refresh_derived();
        self.market.check_finite(sc, rec.summary.path, t)?;
        self.laps.lap(Stage::Persist);
        self.finish_step(t, outcome, rec);
        self.laps.lap(Stage::Record);
        Ok(())
    }

    /// Stage 4: rounds until one executes nothing or the cap. A round
    /// reads the oracles, then every mechanism that liquidates takes its
    /// turn: lending, then perps.
    fn cascade(&mut self, t: u32, rec: &mut PathRecord) -> CascadeOutcome {
        let mut outcome = CascadeOutcome::default();
        for round in 0..self.sc.max_cascade_rounds {
            self.read_oracles(t);
            let mut executed = self
                .lending
                .liquidation_round(t, round, &mut self.market, rec);
            self.laps.lap(Stage::CascadeLending);
            executed += self.perps.liquidation_round(&mut self.market, rec);
            self.laps.lap(Stage::CascadePerps);
            if self.cdps.any() {
                executed += self.cdps.auction_round(t, round, &mut self.market, rec);
            }
            self.laps.lap(Stage::CascadeCdp);
            if executed == 0 {
                break;
            }
            outcome.rounds += 1;
            if round + 1 == self.sc.max_cascade_rounds {
                outcome.capped = true;
            }
        }
        outcome
    }

    /// Stage 6: value and record the step at the end-of-step prices (rows
    /// only if this path and step are recorded; the summary always), and
    /// remember the prices for lagged readers.
    fn finish_step(&mut self, t: u32, outcome: CascadeOutcome, rec: &mut PathRecord) {
        let sc = self.sc;
        let write = rec.recorded && sc.records_step(t);
        self.read_oracles(t);
        let drawdown = self.market.drawdown();
        let s = &mut rec.summary;
        s.max_drawdown = s.max_drawdown.max(drawdown);
        s.max_cascade_rounds = s.max_cascade_rounds.max(outcome.rounds);
        s.capped_steps += outcome.capped as u32;
        self.perps.finish_step(t, write, &self.market, rec);
        if write {
            self.oracles.record(t, rec);
            self.options.record(t, &self.market, &self.perps, rec);
            let m = &mut rec.market;
            for a in 0..sc.assets.len() {
                m.step.push(t);
                m.asset.push(a as u32);
                m.fundamental.push(self.market.fundamental[a]);
                m.pool_price
                    .push(sc.pool_of[a].map(|p| self.market.venue_usd[p]));
            }
        }
        self.lending.finish_step(t, outcome, write, rec);
        self.cdps.finish_step(t, write, &self.market, rec);
        self.market.push_history(t);
        if self.governance.watches() {
            let seen = Observed {
                market: &self.market,
                lending: &self.lending,
                bad_debt: &rec.summary.protocol_bad_debt,
                dt_years: sc.dt_years(),
            };
            self.governance.observe(t, &seen, &mut rec.summary.actors);
        }
    }
}
