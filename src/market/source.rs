//! Where an oracle reads one asset's price (docs/model.md §4): the asset's
//! fundamental, one pool's spot in USD, or the median of several of these
//! (Chainlink's median: the ⌊n/2⌋-th smallest of n observations).

/// Most quotes one median reads.
pub const MAX_QUOTES: usize = 16;

/// One price an oracle can observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// An asset's fundamental price F.
    Fundamental(usize),
    /// A pool's spot in USD (`y/x · F_quote`).
    Venue(usize),
}

/// One asset's source: the median of one to `MAX_QUOTES` quotes (a single
/// quote is itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source(Vec<Quote>);

impl Source {
    /// The median of `quotes`; at least one and at most `MAX_QUOTES`.
    pub fn median_of(quotes: Vec<Quote>) -> Self {
        assert!(
            (1..=MAX_QUOTES).contains(&quotes.len()),
            "validated: 1..={MAX_QUOTES} quotes"
        );
        Source(quotes)
    }

    /// One quote.
    pub fn one(quote: Quote) -> Self {
        Source(vec![quote])
    }

    /// Its quotes.
    pub fn quotes(&self) -> &[Quote] {
        &self.0
    }
}

/// The ⌊n/2⌋-th smallest of `values` (0-based): the middle one for odd n,
/// the upper of the middle two for even n, as Chainlink's aggregators take
/// it (libocr `contract/OffchainAggregator.sol`, `transmit`;
/// `offchainreporting2/reportingplugin/median/median.go`).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_or_the_upper_middle() {
        assert_eq!(median(&mut [3.0]), 3.0);
        assert_eq!(median(&mut [5.0, 1.0]), 5.0);
        assert_eq!(median(&mut [2.0, 9.0, 4.0]), 4.0);
        assert_eq!(median(&mut [7.0, 1.0, 3.0, 5.0]), 5.0);
        // One venue pushed to 100× moves a median of three not at all.
        assert_eq!(median(&mut [1.0, 100.0, 1.01]), 1.01);
    }
}
