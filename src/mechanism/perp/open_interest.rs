//! Open interest per perp market, kept as exact running sums of the long
//! and the short sizes (`mechanism::exact`) as positions change, so a
//! recorded step reads it instead of passing over every position.

use super::spec::PerpBook;
use super::state::PerpState;
use crate::mechanism::exact::ExactSum;

impl PerpState {
    /// Set position i's size, keeping its market's open interest.
    #[inline]
    pub(super) fn set_size(&mut self, book: &PerpBook, i: usize, new: f64) {
        let old = self.size[i];
        let [long, short] = &mut self.oi[book.market[i] as usize];
        long.change(old.max(0.0), new.max(0.0));
        short.change((-old).max(0.0), (-new).max(0.0));
        self.size[i] = new;
    }

    /// Exact sums of the long and short sizes of `size`, per market.
    pub(super) fn open_interest_sums(
        book: &PerpBook,
        size: &[f64],
        markets: usize,
    ) -> Vec<[ExactSum; 2]> {
        let mut oi: Vec<[ExactSum; 2]> = (0..markets).map(|_| Default::default()).collect();
        for (i, &s) in size.iter().enumerate() {
            let [long, short] = &mut oi[book.market[i] as usize];
            long.add(s.max(0.0));
            short.add((-s).max(0.0));
        }
        oi
    }

    /// Open interest per market: (Σ long sizes, Σ short sizes) of traders,
    /// from the running sums, or, under the full scan, summed afresh from
    /// every position (the same bits: both sums are exact).
    pub fn open_interest(&mut self, book: &PerpBook) -> Vec<(f64, f64)> {
        let markets = self.oi.len();
        let mut fresh;
        let sums = if self.scan {
            fresh = Self::open_interest_sums(book, &self.size, markets);
            &mut fresh
        } else {
            &mut self.oi
        };
        sums.iter_mut()
            .map(|[long, short]| (long.value(), short.value()))
            .collect()
    }
}
