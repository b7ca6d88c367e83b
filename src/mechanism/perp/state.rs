//! Perpetual futures on one path (docs/model.md §15): funding, variation
//! margin, liquidation at the mark, the insurance fund, auto-deleveraging,
//! and the backstop vault that is every trader's counterparty and hedges in
//! the underlying's pool.
//!
//! Accounts are kept the way perp exchanges keep them: each position has an
//! entry mark and the market's cumulative funding index at entry, so its
//! unrealised PnL at mark M is `size·((M − entry) − (Φ − φ_entry))` and
//! neither a new mark nor a funding payment touches an account. A round
//! looks only at the accounts the liquidation index (`index`) and the loose
//! list name.
//!
//! Money never appears or vanishes: the ledger `Σ account equity +
//! margin returned to liquidated traders + vault cash + insurance funds +
//! fees` is constant over a path (`PerpState::ledger`).

use crate::derivatives::surface::Ewma;
use crate::market::Pool;
use crate::mechanism::exact::ExactSum;
use crate::mechanism::perp::index::PerpIndex;
use crate::mechanism::perp::spec::{MarginModel, PerpBook, PerpSpec};

/// What one liquidation round closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundOutcome {
    /// Accounts liquidated.
    pub accounts: u32,
    /// Positions closed by those liquidations (a cross account counts once
    /// per market where it still held a position).
    pub positions: u32,
}

/// Per-path state of every perp market and account.
#[derive(Debug, Default)]
pub struct PerpState {
    /// Signed size of each position (0 once closed). Written only through
    /// `set_size`, which keeps the open interest.
    pub size: Vec<f64>,
    /// Per market, exact running sums of the long sizes and of the short
    /// sizes (as positive units): the open interest.
    pub(super) oi: Vec<[ExactSum; 2]>,
    /// PnL of each position realised so far (variation margin and funding
    /// up to its entry), USD.
    pub(super) realised: Vec<f64>,
    /// Each position's entry mark and the funding index at its entry.
    pub(super) entry: Vec<f64>,
    pub(super) entry_funding: Vec<f64>,
    /// Collateral of each account: its margin with everything realised.
    pub(super) collateral: Vec<f64>,
    /// Whether each account is still open.
    pub open: Vec<bool>,
    /// The vault's signed position per market (−Σ traders' sizes).
    pub vault_size: Vec<f64>,
    /// The vault's cash from the perp side, USD.
    pub vault_cash: Vec<f64>,
    /// Deficits the vault absorbed, cumulative, USD.
    pub vault_bad_debt: Vec<f64>,
    /// Insurance fund per market, USD.
    pub fund: Vec<f64>,
    /// Fees collected per market, USD.
    pub fees: Vec<f64>,
    /// Margin paid back to liquidated traders, USD (it leaves the system).
    pub returned: f64,
    /// The part of `returned` each account got.
    pub returned_to: Vec<f64>,
    /// Mark at the vault's last variation-margin settlement, per market.
    pub last_mark: Vec<f64>,
    /// Cumulative funding index Φ per market: Σ rate·mark over the
    /// funding payments so far, USD per unit of long position.
    pub funding_index: Vec<f64>,
    /// Maintenance margin fraction in force, per market.
    pub mmr: Vec<f64>,
    /// While a parameter change is in force (`governed`): each market's
    /// maintenance margin under the scenario's own terms, and the
    /// positions a round closed that met it (market, notional at the
    /// mark), which the change caused (docs/model.md §18).
    pub(super) mmr0: Vec<f64>,
    pub(super) governed: bool,
    pub(super) caused: Vec<(u32, f64)>,
    pub(super) ewma: Vec<Option<Ewma>>,
    /// Funding rate applied this step, per market.
    pub funding_rate: Vec<f64>,
    /// Positions liquidated this step, per market (a cross account counts
    /// once in each market where it still held a position).
    pub step_liqs: Vec<u32>,
    /// Notional liquidated this step, per market, USD.
    pub step_liq_notional: Vec<f64>,
    /// Positions auto-deleveraged this step, per market.
    pub step_adl: Vec<u32>,
    /// Drawn from the fund this step, per market.
    pub step_fund_drawn: Vec<f64>,
    /// Which accounts a round looks at.
    pub(super) index: PerpIndex,
    /// Check every open account in every round (the reference
    /// `--full-scan`) instead of the index.
    pub(super) scan: bool,
    /// Accounts checked exactly by liquidation rounds so far.
    pub(super) examined: std::cell::Cell<u64>,
    order: Vec<(f64, u32)>,
    /// ADL queues of the current round per (market, side taken from), in
    /// ranking order, with a cursor: built on first use in a round.
    adl_queue: Vec<Option<Vec<usize>>>,
    adl_cursor: Vec<usize>,
    /// Scratch: each market's mark for the current round.
    marks: Vec<f64>,
}

impl PerpState {
    /// Put every account and market back to step 0, with the marks at step 0.
    pub fn reset(&mut self, specs: &[PerpSpec], book: &PerpBook, marks: &[f64]) {
        let n = specs.len();
        self.size.clone_from(&book.size);
        self.oi = Self::open_interest_sums(book, &self.size, n);
        self.realised.clear();
        self.realised.resize(book.size.len(), 0.0);
        self.entry.clear();
        self.entry
            .extend(book.market.iter().map(|&m| marks[m as usize]));
        self.entry_funding.clear();
        self.entry_funding.resize(book.size.len(), 0.0);
        self.collateral.clone_from(&book.margin);
        self.open.clear();
        self.open.resize(book.accounts(), true);
        self.vault_size = vec![0.0; n];
        for (i, &s) in book.size.iter().enumerate() {
            self.vault_size[book.market[i] as usize] -= s;
        }
        self.vault_cash = vec![0.0; n];
        self.vault_bad_debt = vec![0.0; n];
        self.fund = specs.iter().map(|s| s.insurance_fund).collect();
        self.fees = vec![0.0; n];
        self.returned = 0.0;
        self.returned_to = vec![0.0; book.accounts()];
        self.last_mark = marks.to_vec();
        self.funding_index = vec![0.0; n];
        self.ewma = specs
            .iter()
            .map(|s| match s.margin {
                MarginModel::Static => None,
                MarginModel::Ewma {
                    lambda,
                    initial_vol,
                    ..
                } => Some(Ewma::new(lambda, initial_vol)),
            })
            .collect();
        self.mmr = vec![0.0; n];
        self.set_mmr(specs);
        self.governed = false;
        self.caused.clear();
        self.funding_rate = vec![0.0; n];
        let mut index = std::mem::take(&mut self.index);
        index.build(book.accounts(), n, marks, |a| self.keyed(book, a));
        index.reset_path();
        self.index = index;
        self.begin_step();
    }

    /// Clear the per-step counters.
    pub fn begin_step(&mut self) {
        let n = self.vault_size.len();
        self.step_liqs = vec![0; n];
        self.step_liq_notional = vec![0.0; n];
        self.step_adl = vec![0; n];
        self.step_fund_drawn = vec![0.0; n];
    }

    /// Funding for one step: rate = clamp((mark − index)/index) scaled from
    /// the funding period to the step; longs pay `rate·size·mark` to the
    /// vault and shorts receive it from the vault. The accounts' part goes
    /// into the funding index Φ; the vault receives it on the open
    /// interest, `rate·mark·(Σ long sizes − Σ short sizes)`.
    pub fn funding(&mut self, specs: &[PerpSpec], marks: &[f64], index: &[f64], dt_hours: f64) {
        for (m, spec) in specs.iter().enumerate() {
            // Below 1e-12 the premium is rounding, not a price gap.
            let premium = (marks[m] - index[m]) / index[m];
            let premium = if premium.abs() < 1e-12 { 0.0 } else { premium };
            let per_period = premium.clamp(-spec.funding_clamp, spec.funding_clamp);
            self.funding_rate[m] = per_period * dt_hours / spec.funding_period_hours;
            let per_unit = self.funding_rate[m] * marks[m];
            self.funding_index[m] += per_unit;
            let [long, short] = &mut self.oi[m];
            self.vault_cash[m] += per_unit * (long.value() - short.value());
        }
    }

    /// The vault's variation margin to `marks`, which become its last
    /// settled marks.
    fn settle_vault(&mut self, marks: &[f64]) {
        for (m, cash) in self.vault_cash.iter_mut().enumerate() {
            *cash += self.vault_size[m] * (marks[m] - self.last_mark[m]);
        }
        self.last_mark.copy_from_slice(marks);
    }

    /// Each market's mark: its pool's spot times the USD price of the
    /// pool's quote asset, `quote_usd[m]`.
    pub fn fill_marks(specs: &[PerpSpec], pools: &[Pool], quote_usd: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.extend(
            specs
                .iter()
                .zip(quote_usd)
                .map(|(s, q)| pools[s.pool].spot() * q),
        );
    }

    /// One liquidation round at the pools' current prices: the vault
    /// settles to the marks, then every open account whose equity is below
    /// its maintenance requirement is closed, lowest equity ÷ requirement
    /// first (ties by account). The list is fixed before the first
    /// liquidation: an account that ADL leaves below its requirement waits
    /// for the next round. The accounts looked at are those the index
    /// names and the loose ones (every open account with `--full-scan`):
    /// the same list either way.
    pub fn liquidation_round(
        &mut self,
        specs: &[PerpSpec],
        book: &PerpBook,
        pools: &mut [Pool],
        quote_usd: &[f64],
    ) -> RoundOutcome {
        let mut marks = std::mem::take(&mut self.marks);
        Self::fill_marks(specs, pools, quote_usd, &mut marks);
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        if self.scan {
            for a in 0..book.accounts() {
                if self.open[a] {
                    self.check(book, a, &marks, &mut order);
                }
            }
        } else {
            let mut index = std::mem::take(&mut self.index);
            index.refresh(&self.open, |a| self.keyed(book, a));
            for m in 0..specs.len() {
                let at = (marks[m], self.funding_index[m], self.mmr[m]);
                for short in [false, true] {
                    index.candidates(m, short, at, &self.open, |a| {
                        self.check(book, a, &marks, &mut order)
                    });
                }
            }
            index.loose.retain(|&a| self.open[a as usize]);
            for &a in &index.loose {
                self.check(book, a as usize, &marks, &mut order);
            }
            self.index = index;
        }
        self.settle_vault(&marks);
        order.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        self.adl_queue.clear();
        self.adl_queue.resize(2 * specs.len(), None);
        self.adl_cursor.clear();
        self.adl_cursor.resize(2 * specs.len(), 0);
        let mut positions = 0;
        for &(_, a) in &order {
            positions += self.liquidate(specs, book, a as usize, &marks, pools);
        }
        let accounts = order.len() as u32;
        self.order = order;
        self.marks = marks;
        RoundOutcome {
            accounts,
            positions,
        }
    }

    /// Close account `a` at `marks`: penalty to the fund, fee to the fee
    /// account, what is left back to the trader; a deficit is paid by the
    /// fund, then by auto-deleveraging, then by the vault. The positions not
    /// matched by ADL pass to the vault, which hedges them in the pool.
    /// Returns the positions closed: those still open (a position ADL has
    /// already closed is not liquidated again).
    fn liquidate(
        &mut self,
        specs: &[PerpSpec],
        book: &PerpBook,
        a: usize,
        marks: &[f64],
        pools: &mut [Pool],
    ) -> u32 {
        // Long: one closure's waterfall (penalty, fee, what is left; a
        // deficit through the fund, ADL, then the vault) in the order of
        // docs/model.md §15, which each step reads the state the last left.
        let range = book.positions(a);
        let notional_of = |s: &Self, i: usize| s.size[i].abs() * marks[book.market[i] as usize];
        let notional: f64 = range.clone().map(|i| notional_of(self, i)).sum();
        // Met its requirement under the scenario's own margins: closed
        // because a parameter change raised them.
        let caused = self.governed && {
            let (equity, req0) = self.margin_check_under(book, a, marks, &self.mmr0);
            equity >= req0
        };
        let mut left = self.equity(book, a, marks);
        let mut closed = 0;
        // Penalty then fee, position by position in the account's order,
        // each from what is left.
        for i in range.clone() {
            if self.size[i] == 0.0 {
                continue;
            }
            closed += 1;
            let m = book.market[i] as usize;
            let n = notional_of(self, i);
            let penalty = (specs[m].liquidation_fee * n).min(left.max(0.0));
            left -= penalty;
            self.fund[m] += penalty;
            let fee = (specs[m].taker_fee * n).min(left.max(0.0));
            left -= fee;
            self.fees[m] += fee;
            self.step_liqs[m] += 1;
            self.step_liq_notional[m] += n;
            if caused {
                self.caused.push((m as u32, n));
            }
        }
        if left >= 0.0 {
            self.returned += left;
            self.returned_to[a] = left;
        }
        let deficit = (-left).max(0.0);
        self.collateral[a] = 0.0;
        self.open[a] = false;
        for i in range {
            if self.size[i] == 0.0 {
                continue;
            }
            let m = book.market[i] as usize;
            let share = if notional > 0.0 {
                deficit * notional_of(self, i) / notional
            } else {
                0.0
            };
            // The fund first.
            let from_fund = share.min(self.fund[m]);
            self.fund[m] -= from_fund;
            self.step_fund_drawn[m] += from_fund;
            let mut owed = share - from_fund;
            let mut s_rem = self.size[i];
            // Then auto-deleveraging: profitable opposite positions, by
            // profit × leverage, closed against this one at its bankruptcy
            // price: each matched unit pays owed/|size| of its profit.
            if owed > 0.0 {
                let per_unit = owed / s_rem.abs();
                // Longs are taken from when a short went bankrupt, and back.
                let q = 2 * m + usize::from(s_rem > 0.0);
                if self.adl_queue[q].is_none() {
                    let mut ranked: Vec<(f64, usize)> = (0..self.size.len())
                        .filter(|&j| {
                            book.market[j] as usize == m
                                && self.size[j] * s_rem < 0.0
                                && self.open[book.account[j] as usize]
                        })
                        .filter_map(|j| {
                            let pnl = self.pnl(book, j, marks);
                            (pnl > 0.0).then(|| {
                                let acct = book.account[j] as usize;
                                let equity = self.equity(book, acct, marks);
                                (pnl * notional_of(self, j) / equity.max(1e-9), j)
                            })
                        })
                        .collect();
                    ranked.sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
                    self.adl_queue[q] = Some(ranked.into_iter().map(|r| r.1).collect());
                }
                let queue = self.adl_queue[q].take().expect("built above");
                while let Some(&j) = queue.get(self.adl_cursor[q]) {
                    if s_rem == 0.0 || owed <= 0.0 {
                        break;
                    }
                    if self.size[j] == 0.0
                        || !self.open[book.account[j] as usize]
                        || self.pnl(book, j, marks) <= 0.0
                    {
                        self.adl_cursor[q] += 1;
                        continue;
                    }
                    // Realised at the mark first, so the give-up and the
                    // units closed leave the rest of the position as it was.
                    self.realise(book, j, marks[m]);
                    let z = s_rem.abs().min(self.size[j].abs());
                    let frac = z / self.size[j].abs();
                    let pay = (per_unit * z).min(self.realised[j] * frac).min(owed);
                    let acct = book.account[j] as usize;
                    self.collateral[acct] -= pay;
                    self.index.detach(acct);
                    // The give-up came out of the matched units' profit;
                    // the units left open keep theirs.
                    self.realised[j] *= 1.0 - frac;
                    self.set_size(book, j, self.size[j] - self.size[j].signum() * z);
                    s_rem -= s_rem.signum() * z;
                    owed -= pay;
                    self.step_adl[m] += 1;
                    if self.size[j] == 0.0 {
                        self.adl_cursor[q] += 1;
                    }
                }
                self.adl_queue[q] = Some(queue);
            }
            // The vault absorbs the rest and takes over what ADL did not match.
            self.vault_cash[m] -= owed;
            self.vault_bad_debt[m] += owed;
            self.set_size(book, i, 0.0);
            if s_rem != 0.0 {
                self.vault_size[m] += s_rem;
                // Took over a long: hedge by selling the underlying; a
                // short: by buying it (at most half the pool either way).
                pools[specs[m].pool].trade_base(-s_rem);
            }
        }
        closed
    }

    /// An agent's own trade of `delta` units on position `i` (a hedger
    /// hedging here), at the pools' current marks: the vault settles to
    /// the marks and the position realises its PnL there first, the taker
    /// fee comes out of the account's equity, the vault takes the other
    /// side and passes it on to the pool (it buys what the agent sells, and
    /// sells spot to stay hedged). Returns false, trading nothing, once
    /// the account is closed.
    pub fn agent_trade(
        &mut self,
        specs: &[PerpSpec],
        book: &PerpBook,
        i: usize,
        delta: f64,
        pools: &mut [Pool],
        quote_usd: &[f64],
    ) -> bool {
        let a = book.account[i] as usize;
        if !self.open[a] || delta == 0.0 {
            return false;
        }
        let m = book.market[i] as usize;
        let mut marks = std::mem::take(&mut self.marks);
        Self::fill_marks(specs, pools, quote_usd, &mut marks);
        self.settle_vault(&marks);
        self.realise(book, i, marks[m]);
        let equity = self.equity(book, a, &marks);
        let fee = (specs[m].taker_fee * delta.abs() * marks[m]).min(equity.max(0.0));
        self.marks = marks;
        self.collateral[a] -= fee;
        self.fees[m] += fee;
        self.set_size(book, i, self.size[i] + delta);
        self.index.detach(a);
        self.vault_size[m] -= delta;
        // The vault took the other side: it trades the underlying the
        // agent's way to stay hedged (at most half the pool).
        pools[specs[m].pool].trade_base(delta);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pool: usize, liquidation_fee: f64) -> PerpSpec {
        PerpSpec {
            name: format!("m{pool}"),
            asset: pool,
            pool,
            initial_margin: 0.1,
            maintenance_margin: 0.05,
            taker_fee: 0.0,
            liquidation_fee,
            insurance_fund: 0.0,
            funding_clamp: 0.0,
            funding_period_hours: 8.0,
            index_lag_steps: 0,
            margin: MarginModel::Static,
        }
    }

    /// Two markets, both at 100 at step 0, with pools at `now` for the
    /// round; `accounts` as (margin, [(market, size)]).
    fn setup(
        fee: f64,
        now: [f64; 2],
        accounts: &[(f64, &[(usize, f64)])],
    ) -> (Vec<PerpSpec>, PerpBook, Vec<Pool>, PerpState) {
        let specs = vec![spec(0, fee), spec(1, fee)];
        let mut book = PerpBook::default();
        for (margin, positions) in accounts {
            book.push_account(*margin, positions);
        }
        let pools = now.iter().map(|&p| Pool::new(1e6, p, 0.0)).collect();
        let mut state = PerpState::default();
        state.reset(&specs, &book, &[100.0, 100.0]);
        (specs, book, pools, state)
    }

    /// §15: a cross account pays penalty and fee position by position in
    /// the order of its positions, from what equity is left. Equity 60
    /// against penalties of 5% × 1,000 = 50 in each market: the first
    /// listed gets 50, the second the 10 that is left.
    #[test]
    fn a_cross_account_pays_penalties_in_the_order_of_its_positions() {
        for (positions, want) in [
            ([(0, 10.0), (1, 10.0)], [50.0, 10.0]),
            ([(1, 10.0), (0, 10.0)], [10.0, 50.0]),
        ] {
            let (specs, book, mut pools, mut st) =
                setup(0.05, [100.0, 100.0], &[(60.0, &positions)]);
            let out = st.liquidation_round(&specs, &book, &mut pools, &[1.0, 1.0]);
            assert_eq!(
                out,
                RoundOutcome {
                    accounts: 1,
                    positions: 2
                }
            );
            assert_eq!(st.fund, want, "{positions:?}");
            assert_eq!(st.returned, 0.0);
        }
    }

    /// §15: the list of accounts to liquidate is fixed when the round
    /// starts. Market 0 falls to 90: the long `a` (10 units, margin 20) is
    /// at −80. Cross account `b` (short 10 in market 0, long 10 in market
    /// 1, margin 10) has 110 against a requirement of 45 + 50: not on the
    /// list. ADL takes 80 from its short and closes it, leaving 30 against
    /// 50: `b` is liquidated in the next round, not this one.
    #[test]
    fn accounts_adl_leaves_short_of_margin_wait_for_the_next_round() {
        let (specs, book, mut pools, mut st) = setup(
            0.0,
            [90.0, 100.0],
            &[(20.0, &[(0, 10.0)]), (10.0, &[(0, -10.0), (1, 10.0)])],
        );
        let q = [1.0, 1.0];
        let first = st.liquidation_round(&specs, &book, &mut pools, &q);
        assert_eq!(first.accounts, 1);
        assert!(st.open[1]);
        let equity = st.equity(&book, 1, &st.last_mark);
        assert!((equity - 30.0).abs() < 1e-9, "{equity}");
        assert_eq!(st.step_adl[0], 1);
        assert_eq!(st.size[1], 0.0);
        let second = st.liquidation_round(&specs, &book, &mut pools, &q);
        assert_eq!(
            second,
            RoundOutcome {
                accounts: 1,
                positions: 1
            },
            "the closed short is not liquidated again"
        );
        assert!(!st.open[1]);
        assert_eq!(st.step_liqs, [1, 1]);
    }

    /// §15: leverage is notional over equity floored at 1e-9, so a
    /// profitable position in an account with no equity ranks first. Market
    /// 0 falls to 90, market 1 to 50. `a` (long 10, margin 20) is at −80.
    /// `c` (cross: short 5 in market 0, long 10 in market 1, margin 450) has
    /// 450 + 50 − 500 = 0: on the list after `a`. `d` (short 10, margin
    /// 1,000: profit 100, leverage 900/1,100) would rank first by any finite
    /// leverage that ignored the floor. `c`'s 5 units are matched first (40
    /// of their 50), then 5 of `d`'s (40 of 50): `d` keeps 5 units open.
    #[test]
    fn a_profitable_position_in_an_account_without_equity_is_deleveraged_first() {
        let (specs, book, mut pools, mut st) = setup(
            0.0,
            [90.0, 50.0],
            &[
                (20.0, &[(0, 10.0)]),
                (450.0, &[(0, -5.0), (1, 10.0)]),
                (1000.0, &[(0, -10.0)]),
            ],
        );
        let out = st.liquidation_round(&specs, &book, &mut pools, &[1.0, 1.0]);
        assert_eq!(out.accounts, 2, "a, then c");
        assert_eq!(st.size[3], -5.0, "d keeps 5 units");
        let equity = st.equity(&book, 2, &st.last_mark);
        assert!((equity - (1000.0 + 100.0 - 40.0)).abs() < 1e-9);
        assert_eq!(st.step_adl[0], 2);
        // c's deficit of 40 (0 − 40 given up) falls on market 1's vault:
        // nobody is short there.
        assert!((st.vault_bad_debt[1] - 40.0).abs() < 1e-9);
        assert_eq!(st.vault_bad_debt[0], 0.0);
        assert_eq!(st.step_liqs, [1, 1], "a in market 0, c in market 1 only");
    }
}
