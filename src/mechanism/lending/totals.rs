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

    /// Two protocols of two assets: each (protocol, asset) sum is its own,
    /// an asset the book does not hold is skipped, and a protocol's
    /// collateral is Σ p_a·U_a over what it holds. (Exactness itself is
    /// `mechanism::exact`'s test.)
    #[test]
    fn each_protocol_and_asset_keeps_its_own_sum() {
        let mut t = Totals {
            n_assets: 2,
            units: (0..4).map(|_| ExactSum::default()).collect(),
            held: vec![true, true, false, true],
            debt: (0..2).map(|_| ExactSum::default()).collect(),
        };
        t.change_units(0, 1, 0.0, 0.1);
        t.change_units(0, 1, 0.0, 0.2);
        t.change_units(1, 1, 0.0, 3.0);
        t.change_units(1, 1, 3.0, 2.5);
        assert_eq!(t.units(0, 1), Some(0.1 + 0.2));
        assert_eq!(t.units(1, 1), Some(2.5));
        assert_eq!(t.units(0, 0).map(f64::to_bits), Some(0.0_f64.to_bits()));
        assert_eq!(t.units(1, 0), None, "protocol 1 holds no asset 0");
        // Protocol 0: 0 of asset 0 at 4 and 0.1 + 0.2 of asset 1 at 2;
        // protocol 1: 2.5 of asset 1 at 2.
        assert_eq!(t.collateral_value(0, &[4.0, 2.0]), 2.0 * (0.1 + 0.2));
        assert_eq!(t.collateral_value(1, &[4.0, 2.0]), 5.0);
        t.change_debt(1, 0.0, 7.0);
        assert_eq!(t.debt(1), 7.0);
        assert_eq!(
            t.debt(0).to_bits(),
            0.0_f64.to_bits(),
            "nothing added is +0"
        );
    }
}
