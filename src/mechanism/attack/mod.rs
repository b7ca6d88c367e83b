//! Oracle manipulation (docs/model.md §16): an attacker holds collateral
//! in a lending market, pushes up a venue that market's oracle reads,
//! borrows against the inflated price, sells back what it bought and walks
//! away from the loan. It starts only when a forecast says the attack pays.

pub mod raid;
pub mod raid_spec;
pub mod raw;
pub mod spec;

use crate::market::state::Market;
use crate::mechanism::lending::{Lending, read_oracle};
use crate::mechanism::oracle::Oracles;
use crate::output::recorder::PathRecord;
use crate::scenario::validated::Scenario;

pub use spec::AttackerSpec;

/// Where an attacker is on a path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Waiting for an attack that pays.
    Idle,
    /// Holding the venue at `pump` × F; borrows at step `borrow_at`.
    Holding { pump: f64, borrow_at: u32 },
    /// Borrowed (or gave up) and sold back: nothing more on this path.
    Done,
}

/// One attacker's state on a path.
#[derive(Debug, Clone, Copy)]
struct State {
    phase: Phase,
    /// USD paid buying in the venue, at the quote's F when paid.
    spent: f64,
    /// USD received selling back, at the quote's F then.
    recovered: f64,
    /// Base units bought and not yet sold back.
    held: f64,
    /// USD borrowed, at the debt asset's F when borrowed.
    borrowed: f64,
}

const IDLE: State = State {
    phase: Phase::Idle,
    spent: 0.0,
    recovered: 0.0,
    held: 0.0,
    borrowed: 0.0,
};

/// A plan the forecast found: push to `pump` × F for `hold` steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Multiple of the fundamental.
    pub pump: f64,
    /// Steps held before borrowing (0: borrow in the step it pushes).
    pub hold: u32,
    /// Forecast profit, USD.
    pub profit: f64,
}

/// The attackers of a scenario on one path.
pub struct Attackers<'a> {
    sc: &'a Scenario,
    /// Each attacker's account (book index).
    account: Vec<usize>,
    /// Each attacker's watched slot in the lending state.
    slot: Vec<usize>,
    state: Vec<State>,
    /// Scratch: one protocol's oracle prices.
    row: Vec<f64>,
    /// Those who push prices down.
    raiders: raid::Raiders<'a>,
}

impl<'a> Attackers<'a> {
    /// The attackers of `sc`; their accounts' write-offs are watched in
    /// `lending` from now on.
    pub fn new(sc: &'a Scenario, lending: &mut Lending) -> Self {
        let account: Vec<usize> = sc
            .attackers
            .iter()
            .map(|a| {
                sc.book
                    .id
                    .binary_search(&a.position_id)
                    .expect("validated: the account is in the book")
            })
            .collect();
        let slot = account.iter().map(|&i| lending.watch(i)).collect();
        Attackers {
            sc,
            account,
            slot,
            state: vec![IDLE; sc.attackers.len()],
            row: vec![0.0; sc.assets.len()],
            raiders: raid::Raiders::new(sc),
        }
    }

    /// Whether the scenario has any.
    pub fn any(&self) -> bool {
        !self.state.is_empty() || self.raiders.any()
    }

    /// Back to idle, nothing spent.
    pub fn reset(&mut self) {
        self.state.fill(IDLE);
        self.raiders.reset();
    }

    /// The best plan attacker `k` can start at step `t`, forecast on a copy
    /// of the market and the oracles with every fundamental held where it
    /// is: for each pump m and each hold h ≤ `max_hold_steps` (within the
    /// run), the venue is bought up to m × F now and again after each
    /// step's arbitrage, the protocol's oracle is read at each step, and
    /// the attack borrows at step t + h, sells back, and walks away. None
    /// when no plan is affordable.
    pub fn plan(
        &mut self,
        k: usize,
        t: u32,
        market: &Market,
        lending: &Lending,
        oracles: &Oracles,
    ) -> Option<Plan> {
        let sc = self.sc;
        let a = &sc.attackers[k];
        let i = self.account[k];
        let debt_asset = sc.protocols[a.protocol].debt_asset;
        let quote = sc.pools[a.venue].quote;
        let mut best: Option<Plan> = None;
        for &pump in &a.pumps {
            let mut m = market.clone();
            let mut o = oracles.clone();
            let (mut spent, mut held) = (0.0, 0.0);
            for hold in 0..=a.max_hold_steps {
                let tt = t + hold;
                if tt > sc.steps {
                    break;
                }
                if hold > 0 {
                    m.arbitrage_pool(sc, a.venue);
                }
                let f_quote = m.fundamental[quote];
                let (dx, usd, reached) = push(sc, a, pump, a.capital_usd - spent, &mut m);
                if !reached {
                    break;
                }
                spent += usd;
                held += dx;
                m.fill_pool_usd(sc);
                read_oracle(sc, a.protocol, tt, &m, &mut o, &mut self.row);
                // A guardian's pause of borrowing is taken as lasting.
                let loan = if o.paused(a.protocol) || lending.borrowing_paused(a.protocol) {
                    0.0
                } else {
                    lending.borrowable(i, &self.row) * m.fundamental[debt_asset]
                };
                let kept = equity(lending, i, &m);
                let mut unwind = m.pools[a.venue];
                let back = unwind.sell_base(held) * f_quote;
                let cost = spent - back;
                let profit = if loan > kept {
                    loan - kept - cost
                } else {
                    -cost
                };
                if best.is_none_or(|b| profit > b.profit) {
                    best = Some(Plan { pump, hold, profit });
                }
                m.push_history(tt);
            }
        }
        best
    }

    /// Stage 3: each attacker starts an attack that pays, keeps its venue
    /// pushed, and borrows and sells back when its hold is over. The
    /// market's derived and pool prices must be current.
    pub fn act(
        &mut self,
        t: u32,
        market: &mut Market,
        lending: &mut Lending,
        oracles: &mut Oracles,
    ) {
        let sc = self.sc;
        for k in 0..self.state.len() {
            let a = &sc.attackers[k];
            if self.state[k].phase == Phase::Idle
                && (a.from_step..=a.until_step).contains(&t)
                && let Some(plan) = self.plan(k, t, market, lending, oracles)
                && plan.profit > a.min_profit_usd
            {
                self.state[k].phase = Phase::Holding {
                    pump: plan.pump,
                    borrow_at: t + plan.hold,
                };
            }
            let Phase::Holding { pump, borrow_at } = self.state[k].phase else {
                continue;
            };
            // Push the venue back up, with what capital is left.
            let left = (a.capital_usd - self.state[k].spent).max(0.0);
            let (dx, usd, _) = push(sc, a, pump, left, market);
            self.state[k].spent += usd;
            self.state[k].held += dx;
            if t < borrow_at {
                continue;
            }
            // Borrow if walking away beats keeping the collateral.
            let i = self.account[k];
            read_oracle(sc, a.protocol, t, market, oracles, &mut self.row);
            if !oracles.paused(a.protocol) && !lending.borrowing_paused(a.protocol) {
                let debt_asset = sc.protocols[a.protocol].debt_asset;
                let units = lending.borrowable(i, &self.row);
                let loan = units * market.fundamental[debt_asset];
                if loan > equity(lending, i, market) {
                    lending.borrow(i, units);
                    self.state[k].borrowed += loan;
                }
            }
            let out = market.pools[a.venue].sell_base(self.state[k].held);
            let quote = sc.pools[a.venue].quote;
            self.state[k].recovered += out * market.fundamental[quote];
            self.state[k].held = 0.0;
            self.state[k].phase = Phase::Done;
            market.refresh_lp(sc);
        }
        self.raiders.act(t, market, lending, oracles);
    }

    /// USD attacker `k` has paid buying in its venue on this path.
    pub fn spent(&self, k: usize) -> f64 {
        self.state[k].spent
    }

    /// End of path: each attacker's profit over simply holding its
    /// collateral (borrowed − spent + recovered + what is left of its
    /// account, if positive, − its collateral at step 0 valued at the end),
    /// what it borrowed, and the bad debt its account leaves (written off,
    /// plus what it still owes beyond its collateral at F), summed over
    /// attackers into the path's summary.
    pub fn end_of_path(&self, market: &Market, lending: &Lending, rec: &mut PathRecord) {
        self.raiders.end_of_path(market, rec);
        if self.state.is_empty() {
            return;
        }
        let sc = self.sc;
        let (mut pnl, mut borrowed, mut bad) = (0.0, 0.0, 0.0);
        for (k, s) in self.state.iter().enumerate() {
            let a = &sc.attackers[k];
            let i = self.account[k];
            let start = sc.book.coll_range(i).start;
            let held_value = sc.book.coll_units[start] * market.fundamental[a.asset];
            let left = equity(lending, i, market);
            pnl += s.borrowed - s.spent + s.recovered + left.max(0.0) - held_value;
            borrowed += s.borrowed;
            bad += lending.watched_bad_debt(self.slot[k]) + (-left).max(0.0);
        }
        let sm = &mut rec.summary;
        sm.attack_pnl = Some(pnl);
        sm.attack_borrowed = Some(borrowed);
        sm.attack_bad_debt = Some(bad);
    }
}

/// Buy attacker `a`'s venue up to `pump` × F with at most `budget_usd`
/// (`Pool::buy_to_within`), and bring the LP tokens' prices up to date.
/// Returns (base bought, USD paid, whether the venue reached the target).
fn push(
    sc: &Scenario,
    a: &AttackerSpec,
    pump: f64,
    budget_usd: f64,
    market: &mut Market,
) -> (f64, f64, bool) {
    let f_quote = market.fundamental[sc.pools[a.venue].quote];
    let target = pump * market.fundamental[a.asset] / f_quote;
    let (dx, dy, reached) = market.pools[a.venue].buy_to_within(target, budget_usd / f_quote);
    market.refresh_lp(sc);
    (dx, dy * f_quote, reached)
}

/// Position `i`'s collateral less what it owes, USD at fundamental prices.
fn equity(lending: &Lending, i: usize, market: &Market) -> f64 {
    let (_, collateral, debt) = lending.position_value_at(i, &market.fundamental);
    collateral - debt
}
