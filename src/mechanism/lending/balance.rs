//! The lending protocols' balance sheets at the end of a path, for the
//! Eisenberg–Noe clearing of docs/model.md §13.

use super::Lending;
use crate::graph::systemic::{BalanceSheets, Pledge};

impl Lending<'_> {
    /// Every protocol's claims and external assets, and the borrower nodes
    /// of receipt-token loans, at the end-of-path oracle (`read_oracles`
    /// and `finish_step` of the last step first). `capital` is each
    /// protocol's capital at step 0.
    pub fn balance_sheets(&self, capital: &[f64]) -> BalanceSheets {
        let sc = self.sc;
        let n = sc.protocols.len();
        let na = self.n_assets;
        let p_debt = |p: usize| self.oracle[p * na + sc.protocols[p].debt_asset];
        // What one share still held is owed absent losses: its value plus
        // what was socialised per share (0 with no share left: suppliers
        // who redeemed were paid).
        let claims_value = |p: usize| {
            let st = &self.supply[p];
            if st.shares > 0.0 {
                st.supplier_assets / st.shares + self.socialised_per_share[p]
            } else {
                0.0
            }
        };
        let mut b = BalanceSheets::new(n);
        b.capital.copy_from_slice(capital);
        for (p, spec) in sc.protocols.iter().enumerate() {
            if spec.supply.is_some() {
                let st = &self.supply[p];
                let price = p_debt(p);
                b.claims[p] = st.shares * claims_value(p) * price;
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
                    receipt: sc.assets[a]
                        .receipt_of
                        .map(|issuer| (issuer, units * claims_value(issuer) * p_debt(issuer))),
                });
            }
            let owed = self.owed(i) * px[sc.protocols[j].debt_asset];
            b.add_position(j, owed, &pledges);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    //! The balance sheets of docs/model.md §13 for states set by hand:
    //! share values other than 1, wiped-out issuers, debt asset prices other
    //! than 1, an issuer with no share left.
    use super::*;
    use crate::scenario::validated::{Overrides, Scenario};

    /// lend-a lends USDC, lend-c lends ETH; lend-b lends USDC against both
    /// receipts. Its one position owes 500 USDC against 100 aUSDC (worth 100
    /// USD at step 0) and 0.5 aETH (worth 1,000).
    const TWO_ISSUERS: &str = r#"
[simulation]
name = "two-issuers"
steps = 1
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "USDC"
price = 1.0

[[assets]]
symbol = "aUSDC@lend-a"
receipt_of = "lend-a"

[[assets]]
symbol = "aETH@lend-c"
receipt_of = "lend-c"

[[protocols]]
name = "lend-a"
kind = "lending"
debt_asset = "USDC"
supply = { deposits = 1000.0 }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.9
liquidation_bonus = 0.05
max_ltv = 0.85

[[protocols]]
name = "lend-b"
kind = "lending"
debt_asset = "USDC"
supply = { deposits = 1000.0 }

[[protocols.collateral]]
asset = "aUSDC@lend-a"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[protocols.collateral]]
asset = "aETH@lend-c"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[protocols]]
name = "lend-c"
kind = "lending"
debt_asset = "ETH"
supply = { deposits = 10.0 }

[[protocols.collateral]]
asset = "USDC"
liquidation_threshold = 0.9
liquidation_bonus = 0.05
max_ltv = 0.85

[[positions]]
protocol = "lend-b"
debt = 500.0
collateral = { "aUSDC@lend-a" = 100.0, "aETH@lend-c" = 0.5 }
"#;

    const A: usize = 0;
    const B: usize = 1;
    const C: usize = 2;

    fn two_issuers() -> Scenario {
        Scenario::from_toml(
            TWO_ISSUERS,
            "two-issuers",
            std::path::Path::new("."),
            &Overrides::default(),
        )
        .unwrap()
    }

    /// Every protocol reads `prices` (USD, by asset).
    fn set_oracle(l: &mut Lending, prices: [f64; 4]) {
        for p in 0..3 {
            l.oracle[p * 4..(p + 1) * 4].copy_from_slice(&prices);
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    /// Both issuers wiped out (supplier assets 0, shares still out): the
    /// position's receipts are worth 0, so its debt and shortfall split by
    /// the collateral's values at step 0, 100 : 1,000 (not by units, 100 :
    /// 0.5). The faces are 0.
    #[test]
    fn with_all_collateral_worth_nothing_the_debt_splits_by_initial_values() {
        let sc = two_issuers();
        let mut l = Lending::new(&sc);
        l.reset();
        for p in [A, C] {
            l.supply[p].supplier_assets = 0.0;
        }
        set_oracle(&mut l, [2000.0, 1.0, 0.0, 0.0]);
        let b = l.balance_sheets(&[0.0; 3]);
        assert!(close(b.secured[B][A], 500.0 / 11.0), "{}", b.secured[B][A]);
        assert!(close(b.secured[B][C], 5000.0 / 11.0), "{}", b.secured[B][C]);
        assert_eq!(b.secured_shortfall[B], b.secured[B]);
        assert_eq!((b.pledged[B][A], b.pledged[B][C]), (0.0, 0.0));
        assert_eq!((b.claims[A], b.claims[C]), (0.0, 0.0));
    }

    /// lend-a's share is worth 1.25 and 0.1 per share was socialised: a
    /// share is owed 1.35 USDC, at 0.9 USD. The position owes 500 scaled
    /// by a debt index of 1.1: 550 USDC, 495 USD at lend-b's oracle. Its
    /// receipts are worth 100·1.2 = 120 and 0.5·2,100 = 1,050 USD there.
    #[test]
    fn claims_faces_and_loans_are_usd_at_the_claims_share_value() {
        let sc = two_issuers();
        let mut l = Lending::new(&sc);
        l.reset();
        l.supply[A].supplier_assets = 1250.0;
        l.socialised_per_share[A] = 0.1;
        l.debt_index[B] = 1.1;
        set_oracle(&mut l, [2100.0, 0.9, 1.2, 2100.0]);
        l.last_insolvent[B] = 7.0;
        let b = l.balance_sheets(&[0.0; 3]);
        assert!(close(b.claims[A], 1000.0 * 1.35 * 0.9), "{}", b.claims[A]);
        assert!(
            close(b.pledged[B][A], 100.0 * 1.35 * 0.9),
            "{}",
            b.pledged[B][A]
        );
        // lend-c: share value 1, ETH at 2,100.
        assert!(close(b.claims[C], 10.0 * 2100.0), "{}", b.claims[C]);
        assert!(close(b.pledged[B][C], 0.5 * 2100.0), "{}", b.pledged[B][C]);
        let owed = 550.0 * 0.9;
        assert!(
            close(b.secured[B][A], owed * 120.0 / 1170.0),
            "{}",
            b.secured[B][A]
        );
        assert!(
            close(b.secured[B][C], owed * 1050.0 / 1170.0),
            "{}",
            b.secured[B][C]
        );
        assert_eq!(b.secured_shortfall[B][A], 0.0);
        // lend-b: cash 500 and loans 500 USDC at 0.9, less 7 insolvent.
        assert!(close(b.assets[B], 1000.0 * 0.9 - 7.0), "{}", b.assets[B]);
    }

    /// With no share of lend-a left (every supplier redeemed), nothing is
    /// owed on its receipts: claims and faces are 0, not 0/0.
    #[test]
    fn an_issuer_with_no_share_left_owes_nothing() {
        let sc = two_issuers();
        let mut l = Lending::new(&sc);
        l.reset();
        l.supply[A].shares = 0.0;
        l.supply[A].supplier_assets = 0.0;
        set_oracle(&mut l, [2000.0, 1.0, 1.0, 2000.0]);
        let b = l.balance_sheets(&[0.0; 3]);
        assert_eq!((b.claims[A], b.pledged[B][A]), (0.0, 0.0));
        assert!(close(b.secured[B][A], 500.0 * 100.0 / 1100.0));
    }
}
