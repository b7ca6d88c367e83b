//! Borrowers' deleveraging (docs/model.md §12, "Deleveraging"), stage 3b.

use super::{Lending, largest_collateral};
use crate::market::state::Market;

impl Lending<'_> {
    /// Whether any protocol has deleveraging borrowers.
    pub fn deleverages(&self) -> bool {
        self.sc.protocols.iter().any(|p| p.deleverage.is_some())
    }

    /// Stage 3b: in a protocol whose borrow rate this step is above its
    /// borrowers' tolerance, every borrower with HF ≥ 1 repays `repay` of
    /// what it owes by selling its largest collateral (valued at the
    /// oracle) into that asset's pool, or redeeming it at its issuer, or at
    /// F without either; the proceeds, at the debt asset's F, repay the
    /// debt. The oracle must have been read this step (`read_oracles`).
    pub fn deleverage(&mut self, market: &mut Market) {
        let sc = self.sc;
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
                let Some(offset) = largest_collateral(
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
                let proceeds = self.dispose(asset, units, market);
                let repaid = (proceeds / market.fundamental[spec.debt_asset]).min(owed);
                let old_key = self.dirty_key(i);
                self.mark_dirty(i);
                self.set_units(i, k, self.coll_units[k] - units);
                let debt = if repaid >= owed {
                    0.0
                } else {
                    self.debt[i] - repaid / self.debt_index[p]
                };
                self.set_debt(i, debt);
                self.rekey(i, old_key);
                if spec.supply.is_some() {
                    self.supply[p].cash += repaid;
                    self.supply[p].borrowed -= repaid;
                }
                self.step_deleveraged[p] += repaid * self.oracle[p * n + spec.debt_asset];
            }
        }
    }
}
