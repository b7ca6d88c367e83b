//! A perp account's equity, margin check and realised PnL
//! (docs/model.md §15): each position keeps its entry mark and the
//! funding index at entry, so its unrealised PnL at mark M is
//! `size·((M − entry) − (Φ − φ_entry))`.

use super::index::{Keyed, key, queue};
use super::spec::PerpBook;
use super::state::PerpState;

impl PerpState {
    /// Check every open account in every round instead of the index, and
    /// recompute the open interest from every position.
    pub fn set_full_scan(&mut self, scan: bool) {
        self.scan = scan;
    }

    /// Accounts liquidation rounds have checked exactly so far.
    pub fn examined(&self) -> u64 {
        self.examined.get()
    }

    /// Position i's PnL not yet realised, at mark `mark` of its market m.
    #[inline]
    pub(super) fn unrealised(&self, i: usize, m: usize, mark: f64) -> f64 {
        self.size[i] * ((mark - self.entry[i]) - (self.funding_index[m] - self.entry_funding[i]))
    }

    /// Position i's PnL since step 0 (variation margin and funding) at
    /// `marks`.
    pub(super) fn pnl(&self, book: &PerpBook, i: usize, marks: &[f64]) -> f64 {
        let m = book.market[i] as usize;
        self.realised[i] + self.unrealised(i, m, marks[m])
    }

    /// Account a's equity at `marks`: its collateral and its positions'
    /// unrealised PnL.
    pub fn equity(&self, book: &PerpBook, a: usize, marks: &[f64]) -> f64 {
        self.equity_at(book, a, |m| marks[m])
    }

    /// Account a's equity with market m at mark `mark(m)`.
    pub(super) fn equity_at(&self, book: &PerpBook, a: usize, mark: impl Fn(usize) -> f64) -> f64 {
        let mut e = self.collateral[a];
        for i in book.positions(a) {
            if self.size[i] != 0.0 {
                let m = book.market[i] as usize;
                e += self.unrealised(i, m, mark(m));
            }
        }
        e
    }

    /// Account a's equity and maintenance requirement at `marks`.
    #[inline]
    pub(super) fn margin_check(&self, book: &PerpBook, a: usize, marks: &[f64]) -> (f64, f64) {
        self.margin_check_under(book, a, marks, &self.mmr)
    }

    /// Account a's equity and requirement at `marks` with maintenance
    /// margin fractions `mmr` (per market).
    #[inline]
    pub(super) fn margin_check_under(
        &self,
        book: &PerpBook,
        a: usize,
        marks: &[f64],
        mmr: &[f64],
    ) -> (f64, f64) {
        let (mut equity, mut req) = (self.collateral[a], 0.0);
        for i in book.positions(a) {
            if self.size[i] != 0.0 {
                let m = book.market[i] as usize;
                equity += self.unrealised(i, m, marks[m]);
                req += self.size[i].abs() * marks[m] * mmr[m];
            }
        }
        (equity, req)
    }

    /// Realise position i's PnL at mark `mark` into its account's
    /// collateral: its entry becomes the mark and the funding index now.
    pub(super) fn realise(&mut self, book: &PerpBook, i: usize, mark: f64) {
        let m = book.market[i] as usize;
        let u = self.unrealised(i, m, mark);
        self.collateral[book.account[i] as usize] += u;
        self.realised[i] += u;
        self.entry[i] = mark;
        self.entry_funding[i] = self.funding_index[m];
    }

    /// The ledger, constant over a path (accounts valued at the vault's
    /// last settled marks).
    pub fn ledger(&self, book: &PerpBook) -> f64 {
        let accounts: f64 = (0..book.accounts())
            .filter(|&a| self.open[a])
            .map(|a| self.equity(book, a, &self.last_mark))
            .sum();
        accounts
            + self.returned
            + self.vault_cash.iter().sum::<f64>()
            + self.fund.iter().sum::<f64>()
            + self.fees.iter().sum::<f64>()
    }

    /// How account a stands for the liquidation index: its queue and key
    /// if it holds exactly one position.
    pub(super) fn keyed(&self, book: &PerpBook, a: usize) -> Keyed {
        let mut live = book.positions(a).filter(|&i| self.size[i] != 0.0);
        match (live.next(), live.next()) {
            (Some(i), None) => {
                let (s, e, f) = (self.size[i], self.entry[i], self.entry_funding[i]);
                let m = book.market[i] as usize;
                Keyed::One(queue(m, s), key(self.collateral[a], s, e, f))
            }
            (Some(_), Some(_)) => Keyed::Several,
            (None, _) => Keyed::Empty,
        }
    }

    /// Push account `a` onto `order` if its equity is below its
    /// requirement at `marks`.
    #[inline]
    pub(super) fn check(
        &self,
        book: &PerpBook,
        a: usize,
        marks: &[f64],
        order: &mut Vec<(f64, u32)>,
    ) {
        self.examined.set(self.examined.get() + 1);
        let (equity, req) = self.margin_check(book, a, marks);
        if req > 0.0 && equity < req {
            order.push((equity / req, a as u32));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Pool;
    use crate::mechanism::perp::spec::{MarginModel, PerpSpec};

    /// §15: auto-deleveraging takes only profitable opposite positions,
    /// profit counted since step 0. Everyone enters at 100. A dealer (its
    /// account held nothing) sells 10 at 80; the price is back at 100,
    /// then falls to 90. The 20× long (margin 50) is at −50: bankrupt,
    /// and the fund is empty. The short opened at 100 has made 100; the
    /// dealer's short has lost 100 (90 against 80), and more leverage
    /// (notional 900 on equity 300) would rank it first if losses counted.
    /// So ADL matches the first short, and the dealer keeps its 10 units.
    fn specs() -> Vec<PerpSpec> {
        vec![PerpSpec {
            name: "m".into(),
            asset: 0,
            pool: 0,
            initial_margin: 0.05,
            maintenance_margin: 0.03,
            taker_fee: 0.0,
            liquidation_fee: 0.0,
            insurance_fund: 0.0,
            funding_clamp: 0.0,
            funding_period_hours: 8.0,
            index_lag_steps: 0,
            margin: MarginModel::Static,
        }]
    }

    #[test]
    fn adl_passes_over_a_losing_opposite_position() {
        let specs = specs();
        let mut book = PerpBook::default();
        book.push_account(50.0, &[(0, 10.0)]);
        book.push_account(1000.0, &[(0, -10.0)]);
        book.push_account(400.0, &[(0, 0.0)]);
        let mut pools = vec![Pool::new(1e9, 100.0, 0.0)];
        let mut st = PerpState::default();
        st.reset(&specs, &book, &[100.0]);
        let q = [1.0];
        pools[0].arbitrage_to(80.0);
        assert!(st.agent_trade(&specs, &book, 2, -10.0, &mut pools, &q));
        pools[0].arbitrage_to(100.0);
        assert_eq!(
            st.liquidation_round(&specs, &book, &mut pools, &q).accounts,
            0
        );
        pools[0].arbitrage_to(90.0);
        let marks = [90.0];
        assert!((st.pnl(&book, 2, &marks) + 100.0).abs() < 1e-6);
        assert!((st.pnl(&book, 1, &marks) - 100.0).abs() < 1e-6);
        let out = st.liquidation_round(&specs, &book, &mut pools, &q);
        assert_eq!(out.accounts, 1);
        assert_eq!(st.size[2], -10.0, "the losing dealer is not deleveraged");
        assert_eq!(st.size[1], 0.0, "the profitable short is matched in full");
        assert_eq!(st.step_adl, [1]);
        assert_eq!(st.vault_bad_debt, [0.0]);
    }

    /// §15: a round liquidates lowest equity ÷ requirement first. At 90
    /// (MMR 3%), long L1 (10 units, margin 60) has −40 against 27: −1.48;
    /// long L2 (1 unit, margin 5) has −5 against 2.7: −1.85, so L2 goes
    /// first and takes the only counterparty, a 1-unit short 10 ahead: it
    /// gives up L2's 5. L1's 40 falls on the vault. (L1 first would take
    /// 4 from the short and leave 36 + 5 = 41 to the vault.)
    #[test]
    fn the_lowest_equity_over_requirement_is_liquidated_first() {
        let specs = specs();
        let mut book = PerpBook::default();
        book.push_account(60.0, &[(0, 10.0)]);
        book.push_account(5.0, &[(0, 1.0)]);
        book.push_account(1000.0, &[(0, -1.0)]);
        let mut pools = vec![Pool::new(1e9, 100.0, 0.0)];
        let mut st = PerpState::default();
        st.reset(&specs, &book, &[100.0]);
        pools[0].arbitrage_to(90.0);
        let out = st.liquidation_round(&specs, &book, &mut pools, &[1.0]);
        assert_eq!(out.accounts, 2);
        assert_eq!(st.step_adl, [1]);
        assert!(
            (st.vault_bad_debt[0] - 40.0).abs() < 1e-9,
            "{:?}",
            st.vault_bad_debt
        );
        let short = st.equity(&book, 2, &[90.0]);
        assert!((short - (1000.0 + 10.0 - 5.0)).abs() < 1e-9, "{short}");
    }

    /// §15: an account is liquidated when its equity is strictly below its
    /// requirement. At 100 with MMR 3%, 10 units need 30: margin 30 is
    /// exactly that and stays; 29.5 goes. An account with no position
    /// requires nothing and is never liquidated, whatever its equity.
    #[test]
    fn an_account_at_its_requirement_exactly_is_not_liquidated() {
        let specs = specs();
        let mut book = PerpBook::default();
        book.push_account(30.0, &[(0, 10.0)]);
        book.push_account(29.5, &[(0, 10.0)]);
        book.push_account(1.0, &[(0, 0.0)]);
        let mut st = PerpState::default();
        st.reset(&specs, &book, &[100.0]);
        st.collateral[2] = -1.0;
        let mut order = Vec::new();
        for a in 0..3 {
            st.check(&book, a, &[100.0], &mut order);
        }
        assert_eq!(order.len(), 1, "{order:?}");
        assert_eq!(order[0].1, 1);
        assert!((order[0].0 - 29.5 / 30.0).abs() < 1e-15);
    }

    /// §15: ADL takes the opposite positions by profit × notional ÷
    /// equity, highest first. At 90 the 20× long is 50 short of its margin
    /// and the fund is empty. Short S1 (10 units, margin 1,000) has made
    /// 100 on 900 of notional with 1,100 of equity: 81.8; S2 (2 units,
    /// margin 100) has made 20 on 180 with 120: 30. S1's 10 units cover
    /// the long's 10, so S2 keeps its position.
    #[test]
    fn adl_takes_the_highest_profit_times_leverage_first() {
        let specs = specs();
        let mut book = PerpBook::default();
        book.push_account(50.0, &[(0, 10.0)]);
        book.push_account(1000.0, &[(0, -10.0)]);
        book.push_account(100.0, &[(0, -2.0)]);
        let mut pools = vec![Pool::new(1e9, 100.0, 0.0)];
        let mut st = PerpState::default();
        st.reset(&specs, &book, &[100.0]);
        pools[0].arbitrage_to(90.0);
        let out = st.liquidation_round(&specs, &book, &mut pools, &[1.0]);
        assert_eq!(out.accounts, 1);
        assert_eq!(st.size[1], 0.0, "S1 ranks first and covers the long");
        assert_eq!(st.size[2], -2.0, "S2 keeps its position");
    }

    /// §15: an agent's trade pays the taker fee on its notional at the
    /// mark, `fee · |Δ| · M`, into the market's fees.
    #[test]
    fn an_agents_trade_pays_the_taker_fee_on_its_notional() {
        let mut specs = specs();
        specs[0].taker_fee = 0.001;
        let mut book = PerpBook::default();
        book.push_account(1000.0, &[(0, 10.0)]);
        let mut pools = vec![Pool::new(1e9, 100.0, 0.0)];
        let mut st = PerpState::default();
        st.reset(&specs, &book, &[100.0]);
        pools[0].arbitrage_to(120.0);
        assert!(st.agent_trade(&specs, &book, 0, -4.0, &mut pools, &[1.0]));
        // 0.001 · 4 · 120 = 0.48.
        assert!((st.fees[0] - 0.48).abs() < 1e-12, "{:?}", st.fees);
    }
}
