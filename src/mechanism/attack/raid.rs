//! Pushing a price down (docs/model.md §16): a raider sells an asset in a
//! venue a lending protocol's oracle reads until the positions holding it
//! fall below health factor 1, its desk (the first liquidator) takes the
//! liquidations, and it buys the asset back in the next step. It starts
//! only when a forecast says the raid pays.

use crate::market::state::Market;
use crate::mechanism::attack::raid_spec::RaiderSpec;
use crate::mechanism::lending::{Lending, read_oracle};
use crate::mechanism::oracle::Oracles;
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

/// Where a raider is on a path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Waiting for a raid that pays.
    Idle,
    /// Holding the venue at `dump` × F until the liquidations of step
    /// `strike_at`.
    Selling { dump: f64, strike_at: u32 },
    /// Buys back at its next act (the next step's stage 3).
    BuyBack,
    /// Bought back: nothing more on this path.
    Done,
}

/// One raider's state on a path.
#[derive(Debug, Clone, Copy)]
struct State {
    phase: Phase,
    /// Units sold and not yet bought back.
    sold: f64,
    /// USD received selling, at the quote's F when sold.
    received: f64,
    /// USD paid buying back, at the quote's F then.
    paid: f64,
    /// The desk's earnings, the protocol's repaid debt and its bad debt
    /// when the raid started.
    start: (f64, f64, f64),
    /// What the desk earned, what was liquidated (repaid, USD) and the bad
    /// debt written off in the protocol, from the raid's start to its
    /// buy-back.
    gain: f64,
    liquidated: f64,
    bad: f64,
}

const IDLE: State = State {
    phase: Phase::Idle,
    sold: 0.0,
    received: 0.0,
    paid: 0.0,
    start: (0.0, 0.0, 0.0),
    gain: 0.0,
    liquidated: 0.0,
    bad: 0.0,
};

/// A raid the forecast found: sell to `dump` × F for `hold` steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RaidPlan {
    /// Multiple of the fundamental.
    pub dump: f64,
    /// Steps held down before the liquidations (0: in the step it sells).
    pub hold: u32,
    /// Forecast profit, USD.
    pub profit: f64,
}

/// The raiders of a scenario on one path.
pub struct Raiders<'a> {
    sc: &'a Scenario,
    state: Vec<State>,
    /// Scratch: one protocol's oracle prices.
    row: Vec<f64>,
}

impl<'a> Raiders<'a> {
    /// The raiders of `sc`.
    pub fn new(sc: &'a Scenario) -> Self {
        Raiders {
            sc,
            state: vec![IDLE; sc.raiders.len()],
            row: vec![0.0; sc.assets.len()],
        }
    }

    /// Whether the scenario has any.
    pub fn any(&self) -> bool {
        !self.state.is_empty()
    }

    /// Back to idle.
    pub fn reset(&mut self) {
        self.state.fill(IDLE);
    }

    /// The best raid raider `k` can start at step `t`, forecast on a copy
    /// of the market and the oracles with every fundamental held where it
    /// is: for each dump m and hold h (the buy-back within the run), the
    /// venue is sold down to m × F now and again after each step's
    /// arbitrage, the protocol's oracle is read at each step, the desk's
    /// earnings are those of a first cascade round at the read of step
    /// t + h (`Lending::first_round_gain`), and the units sold are bought
    /// back after step t + h + 1's arbitrage. None when no raid fits the
    /// inventory.
    pub fn plan(
        &mut self,
        k: usize,
        t: u32,
        market: &Market,
        lending: &Lending,
        oracles: &Oracles,
    ) -> Option<RaidPlan> {
        let sc = self.sc;
        let r = &sc.raiders[k];
        let quote = sc.pools[r.venue].quote;
        let mut best: Option<RaidPlan> = None;
        for &dump in &r.dumps {
            let mut m = market.clone();
            let mut o = oracles.clone();
            let (mut sold, mut received) = (0.0, 0.0);
            for hold in 0..=r.max_hold_steps {
                let tt = t + hold;
                if tt >= sc.steps {
                    break;
                }
                if hold > 0 {
                    m.arbitrage_pool(sc, r.venue);
                }
                let f_quote = m.fundamental[quote];
                let (dx, usd, reached) = dump_to(sc, r, dump, r.inventory_units - sold, &mut m);
                if !reached {
                    break;
                }
                sold += dx;
                received += usd;
                m.fill_pool_usd(sc);
                let below = read_oracle(sc, r.protocol, tt, &m, &mut o, &mut self.row);
                let gain =
                    lending.first_round_gain(r.protocol, &self.row, below.unwrap_or(1.0), r.desk);
                // The buy-back, after the next step's arbitrage.
                let saved = m.pools[r.venue];
                m.arbitrage_pool(sc, r.venue);
                let mut pool = m.pools[r.venue];
                m.pools[r.venue] = saved;
                let cost = if sold <= BUY_BACK_CAP * pool.x {
                    pool.buy_base(sold) * f_quote
                } else {
                    f64::INFINITY
                };
                let profit = received - cost + gain;
                if best.is_none_or(|b| profit > b.profit) {
                    best = Some(RaidPlan { dump, hold, profit });
                }
                m.push_history(tt);
            }
        }
        best
    }

    /// Stage 3: each raider starts a raid that pays, keeps its venue sold
    /// down until the step of the liquidations, and buys back in the step
    /// after. The market's derived and pool prices must be current.
    pub fn act(&mut self, t: u32, market: &mut Market, lending: &Lending, oracles: &Oracles) {
        let sc = self.sc;
        for k in 0..self.state.len() {
            let r = &sc.raiders[k];
            if self.state[k].phase == Phase::Idle
                && (r.from_step..=r.until_step).contains(&t)
                && let Some(plan) = self.plan(k, t, market, lending, oracles)
                && plan.profit > r.min_profit_usd
            {
                let s = &mut self.state[k];
                s.phase = Phase::Selling {
                    dump: plan.dump,
                    strike_at: t + plan.hold,
                };
                s.start = (
                    lending.earned(r.desk),
                    lending.repaid_cum(r.protocol),
                    lending.bad_debt_cum(r.protocol),
                );
            }
            let s = &mut self.state[k];
            match s.phase {
                Phase::Selling { dump, strike_at } => {
                    let (dx, usd, _) = dump_to(sc, r, dump, r.inventory_units - s.sold, market);
                    s.sold += dx;
                    s.received += usd;
                    if t == strike_at {
                        s.phase = Phase::BuyBack;
                    }
                }
                Phase::BuyBack => {
                    let pool = &mut market.pools[r.venue];
                    let units = s.sold.min(BUY_BACK_CAP * pool.x);
                    let f_quote = market.fundamental[sc.pools[r.venue].quote];
                    s.paid += pool.buy_base(units) * f_quote;
                    s.sold -= units;
                    market.refresh_lp(sc);
                    s.gain = lending.earned(r.desk) - s.start.0;
                    s.liquidated = lending.repaid_cum(r.protocol) - s.start.1;
                    s.bad = lending.bad_debt_cum(r.protocol) - s.start.2;
                    s.phase = Phase::Done;
                }
                Phase::Idle | Phase::Done => {}
            }
        }
    }

    /// End of path: the raiders' profit (received − paid + the desk's
    /// earnings over the raid − the units still owed at F), what the raids
    /// liquidated and the bad debt written off meanwhile, summed over
    /// raiders into the path's summary.
    pub fn end_of_path(&self, market: &Market, rec: &mut PathRecord) {
        if !self.any() {
            return;
        }
        let (mut pnl, mut liquidated, mut bad) = (0.0, 0.0, 0.0);
        for (k, s) in self.state.iter().enumerate() {
            let owed = s.sold * market.fundamental[self.sc.raiders[k].asset];
            pnl += s.received - s.paid + s.gain - owed;
            liquidated += s.liquidated;
            bad += s.bad;
        }
        let sm = &mut rec.summary;
        sm.raid_pnl = Some(pnl);
        sm.raid_liquidated = Some(liquidated);
        sm.raid_bad_debt = Some(bad);
    }
}

/// Most of a pool's base reserve a buy-back takes at once (the cap every
/// agent's own trade has, docs/model.md §14); what is left stays owed.
const BUY_BACK_CAP: f64 = 0.5;

/// Sell raider `r`'s asset in its venue down to `dump` × F with at most
/// `units` (`Pool::sell_to_within`), and bring the LP tokens' prices up
/// to date. Returns (units sold, USD received, whether the venue reached
/// the target).
fn dump_to(
    sc: &Scenario,
    r: &RaiderSpec,
    dump: f64,
    units: f64,
    market: &mut Market,
) -> (f64, f64, bool) {
    let f_quote = market.fundamental[sc.pools[r.venue].quote];
    let target = dump * market.fundamental[r.asset] / f_quote;
    let (dx, dy, reached) = market.pools[r.venue].sell_to_within(target, units.max(0.0));
    market.refresh_lp(sc);
    (dx, dy * f_quote, reached)
}
