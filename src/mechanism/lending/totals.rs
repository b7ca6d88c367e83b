//! Running totals of a path's lending book: each protocol's units of each
//! collateral asset and its scaled debt, kept up to date as positions
//! change, so that a recorded step values a protocol from a handful of sums
//! instead of a pass over the book (docs/model.md §8, "How stocks are
//! summed").
//!
//! The sums are exact (`mechanism::exact`), so the totals kept along a path
//! and the totals recomputed from scratch (the full valuation `--full-scan`
//! uses) are the same bits.

use crate::mechanism::exact::ExactSum;

use super::book::Book;

/// Exact sums per protocol: units of each asset held as collateral
/// (`p·n_assets + a`) and scaled debt.
pub(super) struct Totals {
    n_assets: usize,
    units: Vec<ExactSum>,
    /// Whether the book holds the asset as the protocol's collateral
    /// (positions change their entries, never add one).
    held: Vec<bool>,
    debt: Vec<ExactSum>,
}

impl Totals {
    /// The totals of a book state: `debt` per position, `units` per
    /// collateral entry (`Book::coll_range`).
    pub(super) fn of(
        book: &Book,
        n_protocols: usize,
        n_assets: usize,
        debt: &[f64],
        units: &[f64],
    ) -> Self {
        let mut t = Totals {
            n_assets,
            units: (0..n_protocols * n_assets)
                .map(|_| ExactSum::default())
                .collect(),
            held: vec![false; n_protocols * n_assets],
            debt: (0..n_protocols).map(|_| ExactSum::default()).collect(),
        };
        for (i, &d) in debt.iter().enumerate() {
            let p = book.protocol[i] as usize;
            t.debt[p].add(d);
            for k in book.coll_range(i) {
                let pa = p * n_assets + book.coll_asset[k] as usize;
                t.units[pa].add(units[k]);
                t.held[pa] = true;
            }
        }
        t
    }

    /// A position of protocol `p` goes from `old` to `new` scaled debt.
    #[inline]
    pub(super) fn change_debt(&mut self, p: usize, old: f64, new: f64) {
        self.debt[p].change(old, new);
    }

    /// A collateral entry of asset `a` in protocol `p` goes from `old` to
    /// `new` units.
    #[inline]
    pub(super) fn change_units(&mut self, p: usize, a: usize, old: f64, new: f64) {
        self.units[p * self.n_assets + a].change(old, new);
    }

    /// Protocol `p`'s units of asset `a`, rounded once (an empty sum is
    /// +0), or `None` if the book holds none of `a` in `p`.
    pub(super) fn units(&mut self, p: usize, a: usize) -> Option<f64> {
        let pa = p * self.n_assets + a;
        self.held[pa].then(|| self.units[pa].value())
    }

    /// Protocol `p`'s collateral at prices `px` (per asset): Σ_a p_a·U_a in
    /// asset order, over the assets its positions hold.
    pub(super) fn collateral_value(&mut self, p: usize, px: &[f64]) -> f64 {
        let mut value = 0.0;
        for (a, &price) in px.iter().enumerate() {
            if let Some(units) = self.units(p, a) {
                value += units * price;
            }
        }
        value
    }

    /// Protocol `p`'s scaled debt, rounded once (an empty sum is +0).
    pub(super) fn debt(&mut self, p: usize) -> f64 {
        self.debt[p].value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sums are exact: a large balance added and removed leaves the
    /// small ones' sum to the last bit (a plain running f64 sum would lose
    /// 0.1 + 0.2 below 1e17's spacing of 16), and cancelling everything
    /// leaves +0, not −0.
    #[test]
    fn changes_leave_the_exact_sum_of_what_is_held() {
        let mut t = Totals {
            n_assets: 2,
            units: (0..2).map(|_| ExactSum::default()).collect(),
            held: vec![true, true],
            debt: (0..2).map(|_| ExactSum::default()).collect(),
        };
        t.change_units(0, 1, 0.0, 1e17);
        t.change_units(0, 1, 0.0, 0.1);
        t.change_units(0, 1, 0.0, 0.2);
        t.change_units(0, 1, 1e17, 0.0);
        assert_eq!(t.units(0, 1).unwrap().to_bits(), (0.1_f64 + 0.2).to_bits());
        assert_eq!(t.units(0, 0).unwrap().to_bits(), 0.0_f64.to_bits());
        t.change_units(0, 0, 2.0, 0.0);
        t.change_units(0, 0, 0.0, 2.0);
        assert_eq!(t.units(0, 0).unwrap().to_bits(), 0.0_f64.to_bits());
        t.held[0] = false;
        assert_eq!(t.units(0, 0), None, "not held");
        // 0 units of asset 0 at 4, 0.1 + 0.2 of asset 1 at 2.
        assert_eq!(t.collateral_value(0, &[4.0, 2.0]), 2.0 * (0.1 + 0.2));
        t.change_debt(0, 0.0, 5.0);
        t.change_debt(0, 5.0, 0.0);
        assert_eq!(t.debt(0).to_bits(), 0.0_f64.to_bits());
        assert_eq!(
            t.debt(1).to_bits(),
            0.0_f64.to_bits(),
            "nothing added is +0"
        );
    }
}
