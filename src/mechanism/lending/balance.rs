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
