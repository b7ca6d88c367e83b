//! CDP stablecoins (docs/model.md §17), after makerdao/dss: vault types
//! whose debt grows by a rate index (`jug.sol`), unsafe vaults sent to
//! auction (`dog.sol`), English (`flip.sol`) or Dutch (`clip.sol`,
//! `abaci.sol`) auctions in which keepers bid, and a surplus buffer that
//! cancels the system's debt or sells it for newly minted governance tokens
//! (`vow.sol`).
//!
//! Each `[[cdps]]` is one `System` on a path. It reads its own oracle (an
//! OSM or the source itself), trades in the shared market (keepers buy the
//! stablecoin in its main venue and sell the collateral they win in
//! theirs), and acts in two phases: the stability fee at stage 0
//! (`accrue`) and, every cascade round, barks and bids (`auction_round`).

pub mod abaci;
mod book;
pub mod charts;
pub mod clip;
pub mod dog;
pub mod flip;
pub mod ilk;
pub mod owners;
pub mod path_table;
pub mod psm;
pub mod raw;
mod round;
pub mod spec;
pub mod table;
pub mod vow;

use rand::RngExt;

use crate::market::state::Market;
use crate::mechanism::cdp::clip::Clip;
use crate::mechanism::cdp::flip::Flip;
use crate::mechanism::cdp::spec::{CdpSpec, CdpTerms, IlkSpec};
use crate::mechanism::cdp::vow::Vow;
use crate::mechanism::oracle::feed::Osm;
use crate::montecarlo::seed::{PathRng, keeper_rng};
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

pub use crate::output::recorder::CdpOutcome;
pub use table::{AuctionRows, CdpRows};

/// A bid below this share of the tab counts as a zero bid.
pub const ZERO_BID_SHARE: f64 = 1e-6;

/// Whether an auction that raised `raised` against its `tab` went for
/// (nearly) nothing: below a millionth of the tab.
pub fn zero_bid(raised: f64, tab: f64) -> bool {
    raised < ZERO_BID_SHARE * tab
}

/// The smallest bid an English auction accepts first: one wei of a
/// stablecoin with 18 decimals.
pub const MIN_BID: f64 = 1e-18;

/// One vault.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Vault {
    ilk: usize,
    ink: f64,
    art: f64,
}

/// A keeper's balances on a path.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Keeper {
    usd: f64,
    stable: f64,
    landed: bool,
}

/// A live auction of either design.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Dutch(Clip),
    English(Flip),
}

/// A live auction and what it has done so far.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Auction {
    id: u32,
    vault: usize,
    ilk: usize,
    kind: Kind,
    start: u32,
    lot0: f64,
    tab0: f64,
    due: f64,
    raised: f64,
    sold: f64,
    returned: f64,
    bids: u32,
    resets: u32,
    keeper: Option<usize>,
    /// Started from a vault safe under the scenario's own liquidation
    /// ratio: a parameter change's doing (docs/model.md §18).
    by_change: bool,
}

/// Counts of the step being simulated (`cdp.parquet`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct StepCounts {
    kicks: u32,
    bids: u32,
    settled: u32,
    raised: f64,
    /// Actions of this CDP in the step: gas grows with them.
    actions: u32,
    /// Gem into the peg stability module in the step (net).
    psm_flow: f64,
    /// Stablecoin vault owners repaid in the step.
    repaid: f64,
}

/// One CDP on one path.
#[derive(Debug, Clone)]
struct System {
    /// Rate index per vault type.
    rate: Vec<f64>,
    /// Σ normalised debt per vault type.
    art: Vec<f64>,
    /// OSM per vault type (delayed oracles only).
    osm: Vec<Osm>,
    /// Oracle price per vault type now, USD.
    price: Vec<f64>,
    vaults: Vec<Vault>,
    vow: Vow,
    /// Stablecoin in circulation: vault debt plus confiscated debt not
    /// yet cancelled, kept apart from both as a running sum of its flows.
    supply: f64,
    keepers: Vec<Keeper>,
    live: Vec<Auction>,
    next_id: u32,
    /// Stablecoin (tabs) in auctions now, all types and per type.
    dirt: f64,
    ilk_dirt: Vec<f64>,
    step: StepCounts,
    out: CdpOutcome,
    /// Scratch: the round's unsafe vaults, (collateral ratio, vault).
    unsafe_ids: Vec<(f64, usize)>,
    /// Gem held by the peg stability module (= stablecoin minted
    /// against it).
    psm_gem: f64,
    /// Vault types' terms and the limit on stablecoin in auctions in
    /// force (governance changes them, docs/model.md §18), and whether
    /// they differ from step 0's.
    ilks: Vec<IlkSpec>,
    hole: f64,
    hop_hours: Option<f64>,
    changed: bool,
}

/// Every CDP of the scenario on one path.
pub struct Cdps<'a> {
    sc: &'a Scenario,
    systems: Vec<System>,
    rng: PathRng,
    /// The owners' landing draws on this path (`owners.rs`).
    owner_rng: PathRng,
}

impl<'a> Cdps<'a> {
    /// State for `sc`'s CDPs; `reset` starts a path.
    pub fn new(sc: &'a Scenario) -> Self {
        Cdps {
            sc,
            systems: sc.cdps.iter().map(System::new).collect(),
            rng: keeper_rng(sc.seed, 0),
            owner_rng: owners::path_rng(sc.seed, 0),
        }
    }

    /// Adopt each CDP's vault-type terms, limit on stablecoin in auctions
    /// and OSM hop after a parameter change (docs/model.md §18); auctions
    /// already running keep the tab and prices they started with, and the
    /// OSM keeps its values and its last hop boundary.
    pub fn adopt(&mut self, terms: &[(u32, CdpTerms)]) {
        for (c, t) in terms {
            let s = &mut self.systems[*c as usize];
            s.ilks.clone_from(&t.ilks);
            s.hole = t.hole;
            s.hop_hours = t.hop_hours;
            s.changed = true;
        }
    }

    /// Whether the scenario has a CDP.
    pub fn any(&self) -> bool {
        !self.systems.is_empty()
    }

    /// Back to step 0 on path `path`: the vaults as given, every oracle in
    /// sync with its source's step-0 price.
    pub fn reset(&mut self, path: u32, market: &Market) {
        let sc = self.sc;
        self.rng = keeper_rng(sc.seed, path);
        self.owner_rng = owners::path_rng(sc.seed, path);
        for (s, c) in self.systems.iter_mut().zip(&sc.cdps) {
            s.reset(c);
            for (k, ilk) in c.ilks.iter().enumerate() {
                let px = market.source_price(sc, &ilk.source, 0, 0);
                s.price[k] = px;
                s.osm[k] = Osm::new(px);
            }
        }
    }

    /// Stage 0: which keepers' transactions land this step (one draw per
    /// keeper, whatever happens, so the draws never shift), and the
    /// stability fee (jug.sol `drip`): each type's rate index grows by
    /// (1 + fee)^(dt/8760) and the debt it adds goes to the surplus.
    pub fn accrue(&mut self) {
        let sc = self.sc;
        for (s, c) in self.systems.iter_mut().zip(&sc.cdps) {
            s.step = StepCounts::default();
            for (k, spec) in s.keepers.iter_mut().zip(&c.keepers) {
                let u: f64 = self.rng.random();
                k.landed = u < spec.inclusion;
            }
            for k in 0..s.ilks.len() {
                let factor = s.ilks[k].fee_per_hour.powf(sc.dt_hours);
                let added = s.art[k] * s.rate[k] * (factor - 1.0);
                s.rate[k] *= factor;
                s.vow.joy += added;
                s.supply += added;
            }
        }
    }

    /// Stage 2, after the pools' arbitrage, and at the end of every
    /// cascade round: arbitrage through each peg stability module against
    /// its stablecoin's main venue (`psm.rs`).
    /// Minting adds the gem to the module and to the supply, redeeming
    /// takes it out of both; the tolls go to the surplus.
    pub fn psm_arbitrage(&mut self, market: &mut Market) {
        for (s, c) in self.systems.iter_mut().zip(&self.sc.cdps) {
            if let Some(p) = &c.psm {
                let swap = psm::arbitrage(p, s.psm_gem, &mut market.pools[p.pool]);
                s.psm_gem += swap.gem_in;
                s.supply += swap.gem_in;
                s.vow.joy += swap.toll;
                s.step.psm_flow += swap.gem_in;
            }
        }
    }

    /// Stage 3: every owner who acts and whose vault needs it
    /// (`owners::repayment`, at the collateral's market price) draws
    /// whether its transaction lands (from the owners' stream: one draw per
    /// owner wanting to act); if it does, it buys the repayment in the
    /// stablecoin's main venue (at most half its reserve, as keepers; at
    /// its fundamental without a venue) and repays.
    pub fn owners_act(&mut self, market: &mut Market) {
        let sc = self.sc;
        for (s, c) in self.systems.iter_mut().zip(&sc.cdps) {
            let Some(o) = &c.owners else { continue };
            let venue = sc.pool_of[c.stablecoin];
            for (v, _) in s.vaults.iter_mut().zip(&o.watched).filter(|(_, w)| **w) {
                let ilk = &s.ilks[v.ilk];
                let rate = s.rate[v.ilk];
                let debt = v.art * rate;
                let value = v.ink * market.market_price(sc, ilk.asset);
                let Some(repay) = owners::repayment(o, value, debt, ilk.mat, ilk.dust) else {
                    continue;
                };
                if self.owner_rng.random::<f64>() >= o.inclusion {
                    continue;
                }
                if let Some(p) = venue {
                    let pool = &mut market.pools[p];
                    if repay >= 0.5 * pool.x {
                        continue;
                    }
                    pool.buy_base(repay);
                }
                let dart = if repay >= debt { v.art } else { repay / rate };
                v.art -= dart;
                s.art[v.ilk] -= dart;
                s.supply -= repay;
                s.step.repaid += repay;
                s.out.repaid += repay;
            }
        }
    }

    /// Stage 4, one cascade round at step `t`: read the oracles, settle or
    /// restart English auctions (first round only: time moves between
    /// steps), send unsafe vaults to auction, and let the keepers whose
    /// transactions landed bid. Returns the barks, bids, takes and
    /// settlements executed.
    pub fn auction_round(
        &mut self,
        t: u32,
        round: u32,
        market: &mut Market,
        rec: &mut PathRecord,
    ) -> u32 {
        let sc = self.sc;
        let mut executed = 0;
        for (c, s) in self.systems.iter_mut().enumerate() {
            let mut r = round::Round {
                sc,
                spec: &sc.cdps[c],
                cdp: c,
                s,
                t,
                now: t as f64 * sc.dt_hours,
                market,
                rec,
            };
            r.read_oracle();
            if round == 0 {
                executed += r.settle();
            }
            executed += r.bark();
            executed += r.bid();
        }
        // The modules answer what the round's sales and purchases did to
        // their pools (not counted as executed: they only follow).
        self.psm_arbitrage(market);
        executed
    }

    /// Stage 6: confiscated debt out of its wait, surplus cancelling it,
    /// debt auctions for the rest (vow.sol `flog`, `heal`, `flop`); then
    /// the step's `cdp.parquet` rows if `write`.
    pub fn finish_step(&mut self, t: u32, write: bool, market: &Market, rec: &mut PathRecord) {
        let sc = self.sc;
        let now = t as f64 * sc.dt_hours;
        for (c, (s, spec)) in self.systems.iter_mut().zip(&sc.cdps).enumerate() {
            s.vow.flog(now, spec.wait_hours);
            s.supply -= s.vow.heal();
            let stable_usd = market.market_price(sc, spec.stablecoin);
            s.supply -= s.vow.flop(spec.sump, stable_usd / spec.gov_price);
            s.out.gov_minted = s.vow.minted;
            s.out.debt_auctions = s.vow.debt_auctions;
            s.out.deficit = (s.vow.sin - s.vow.joy).max(0.0);
            if let Some(p) = &spec.psm {
                let gem_usd = market.market_price(sc, p.gem);
                s.out.psm_gem = s.psm_gem;
                // What the coins minted against the gem lack of par (1
                // USD), at its worst so far.
                let gap = s.psm_gem * (1.0 - gem_usd).max(0.0);
                s.out.psm_impairment = s.out.psm_impairment.max(gap);
            }
            if write {
                s.record(c, t, stable_usd, rec);
            }
        }
    }

    /// After the last step: the auctions still running (their rows, if
    /// recorded) and each CDP's outcome into the path's summary.
    pub fn end_of_path(&self, rec: &mut PathRecord) {
        let sc = self.sc;
        for (c, s) in self.systems.iter().enumerate() {
            if rec.recorded {
                for a in &s.live {
                    push_auction(&mut rec.auctions, sc, c, a, sc.steps, false, &s.price);
                }
            }
            rec.summary.cdps.push(s.out);
        }
    }

    /// Checks for tests: per CDP, (supply, Σ vault debt + confiscated debt
    /// not yet cancelled + the module's gem). The two are kept apart and
    /// must agree.
    pub fn supply_check(&self) -> Vec<(f64, f64)> {
        self.systems
            .iter()
            .map(|s| {
                let debt: f64 = s.vaults.iter().map(|v| v.art * s.rate[v.ilk]).sum();
                (s.supply, debt + s.vow.sin + s.psm_gem)
            })
            .collect()
    }

    /// CDP `c`'s keepers' (USD, stablecoin) balances now, in scenario order.
    pub fn keeper_balances(&self, c: usize) -> Vec<(f64, f64)> {
        self.systems[c]
            .keepers
            .iter()
            .map(|k| (k.usd, k.stable))
            .collect()
    }

    /// Per CDP: (surplus, confiscated debt not yet cancelled).
    pub fn buffer(&self) -> Vec<(f64, f64)> {
        self.systems
            .iter()
            .map(|s| (s.vow.joy, s.vow.sin))
            .collect()
    }
}

impl System {
    /// Buffers sized for `c`; `reset` fills them.
    fn new(c: &CdpSpec) -> Self {
        let n = c.ilks.len();
        let mut s = System {
            rate: vec![1.0; n],
            art: vec![0.0; n],
            osm: vec![Osm::new(0.0); n],
            price: vec![0.0; n],
            vaults: Vec::with_capacity(c.vaults.len()),
            vow: Vow::default(),
            supply: 0.0,
            keepers: Vec::with_capacity(c.keepers.len()),
            live: Vec::new(),
            next_id: 0,
            dirt: 0.0,
            ilk_dirt: vec![0.0; n],
            step: StepCounts::default(),
            out: CdpOutcome::default(),
            unsafe_ids: Vec::new(),
            psm_gem: 0.0,
            ilks: c.ilks.clone(),
            hole: c.hole,
            hop_hours: c.oracle.hop_hours,
            changed: false,
        };
        s.reset(c);
        s
    }

    /// Back to `c`'s step 0 in the buffers already held (the oracle is set
    /// by `Cdps::reset`, which knows the market).
    fn reset(&mut self, c: &CdpSpec) {
        if self.changed {
            self.ilks.clone_from(&c.ilks);
            self.hole = c.hole;
            self.hop_hours = c.oracle.hop_hours;
            self.changed = false;
        }
        self.rate.fill(1.0);
        self.vaults.clear();
        self.vaults
            .extend(c.vaults.iter().map(|&(ilk, ink, debt)| Vault {
                ilk,
                ink,
                art: debt,
            }));
        self.art.fill(0.0);
        for v in &self.vaults {
            self.art[v.ilk] += v.art;
        }
        self.psm_gem = c.psm.as_ref().map_or(0.0, |p| p.reserve);
        self.supply = self.vaults.iter().map(|v| v.art).sum::<f64>() + self.psm_gem;
        self.vow = Vow::new(c.surplus);
        self.keepers.clear();
        self.keepers.extend(c.keepers.iter().map(|k| Keeper {
            usd: k.capital,
            stable: 0.0,
            landed: false,
        }));
        self.live.clear();
        self.next_id = 0;
        self.dirt = 0.0;
        self.ilk_dirt.fill(0.0);
        self.step = StepCounts::default();
        self.out = CdpOutcome::default();
    }

    fn record(&self, c: usize, t: u32, stable_usd: f64, rec: &mut PathRecord) {
        let r = &mut rec.cdp;
        let debt: f64 = self.art.iter().zip(&self.rate).map(|(a, r)| a * r).sum();
        let collateral: f64 = self.vaults.iter().map(|v| v.ink * self.price[v.ilk]).sum();
        r.step.push(t);
        r.cdp.push(c as u32);
        r.debt.push(debt);
        r.supply.push(self.supply);
        r.surplus.push(self.vow.joy);
        r.unbacked.push(self.vow.sin);
        r.deficit.push((self.vow.sin - self.vow.joy).max(0.0));
        r.gov_minted.push(self.vow.minted);
        r.collateral_value.push(collateral);
        r.stablecoin_price.push(stable_usd);
        r.auctions_live.push(self.live.len() as u32);
        r.kicks.push(self.step.kicks);
        r.bids.push(self.step.bids);
        r.settled.push(self.step.settled);
        r.raised.push(self.step.raised);
        r.shortfall_cum.push(self.out.shortfall);
        r.psm_gem.push(self.psm_gem);
        r.psm_flow.push(self.step.psm_flow);
        r.repaid.push(self.step.repaid);
    }
}

/// Push auction `a` of CDP `c` as a row at step `t`; `price` is each vault
/// type's oracle price now, USD.
fn push_auction(
    r: &mut AuctionRows,
    sc: &Scenario,
    c: usize,
    a: &Auction,
    t: u32,
    finished: bool,
    price: &[f64],
) {
    r.step.push(t);
    r.cdp.push(c as u32);
    r.auction.push(a.id);
    r.vault.push(a.vault as u32);
    r.collateral.push(sc.cdps[c].ilks[a.ilk].asset as u32);
    r.start_step.push(a.start);
    r.finished.push(finished);
    r.lot.push(a.lot0);
    r.tab.push(a.tab0);
    r.debt.push(a.due);
    r.raised.push(a.raised);
    r.sold.push(a.sold);
    r.returned.push(a.returned);
    r.bids.push(a.bids);
    r.resets.push(a.resets);
    r.price_to_oracle
        .push((a.sold > 0.0).then(|| a.raised / a.sold / price[a.ilk]));
    r.zero_bid.push(finished && zero_bid(a.raised, a.tab0));
    r.shortfall.push((a.due - a.raised).max(0.0));
    r.keeper.push(table::keeper_index(sc, c, a.keeper));
    r.by_change.push(a.by_change);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_bid_is_below_a_millionth_of_the_tab() {
        assert!(zero_bid(0.0, 1000.0));
        assert!(zero_bid(9.99e-4, 1000.0));
        assert!(!zero_bid(1e-3, 1000.0));
        assert!(!zero_bid(0.5, 1000.0));
    }
}
