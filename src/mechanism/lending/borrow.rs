//! A position drawing more debt during a run (docs/model.md §16: an
//! attacker's loan), and the write-offs of positions someone watches.

use super::Lending;

impl Lending<'_> {
    /// Units of its protocol's debt asset position `i` may still borrow at
    /// the prices `px` (one per asset, USD): each collateral entry counts
    /// at its `max_ltv` (Aave's borrow check: debt after the loan at most
    /// the LTV-weighted collateral), less what it owes; capped by the
    /// protocol's cash when it has a supply side. Zero when nothing is left.
    pub fn borrowable(&self, i: usize, px: &[f64]) -> f64 {
        let sc = self.sc;
        let book = &sc.book;
        let p = book.protocol[i] as usize;
        let spec = &self.specs()[p];
        let range = book.coll_range(i);
        let held: Vec<usize> = range.clone().map(|k| book.coll_asset[k] as usize).collect();
        let mut limit = 0.0;
        for k in range {
            let a = book.coll_asset[k] as usize;
            let ltv = spec.params_for(a, &held).map_or(0.0, |c| c.max_ltv);
            limit += self.coll_units[k] * px[a] * ltv;
        }
        let p_debt = px[spec.debt_asset];
        let mut units = (limit - self.owed(i) * p_debt) / p_debt;
        if spec.supply.is_some() {
            units = units.min(self.supply[p].cash);
        }
        if units.is_nan() || units <= 0.0 {
            0.0
        } else {
            units
        }
    }

    /// Position `i` borrows `units` of its protocol's debt asset (its
    /// scaled debt grows by `units / index`; the protocol's cash falls and
    /// its loans grow with a supply side). The position is re-keyed for
    /// the cascade.
    pub fn borrow(&mut self, i: usize, units: f64) {
        let p = self.sc.book.protocol[i] as usize;
        let old_key = self.dirty_key(i);
        self.mark_dirty(i);
        self.set_debt(i, self.debt[i] + units / self.debt_index[p]);
        self.rekey(i, old_key);
        if self.sc.protocols[p].supply.is_some() {
            self.supply[p].cash -= units;
            self.supply[p].borrowed += units;
        }
    }

    /// Count the bad debt written off on position `i` apart, on every
    /// path from now on; returns its slot for `watched_bad_debt`.
    pub fn watch(&mut self, i: usize) -> usize {
        self.watched.push(i);
        self.watched_bad.push(0.0);
        self.watched.len() - 1
    }

    /// Bad debt written off on a watched position so far, USD.
    pub fn watched_bad_debt(&self, slot: usize) -> f64 {
        self.watched_bad[slot]
    }
}
