//! Oracle price history (docs/model.md §4): a ring of end-of-step prices
//! (each asset's fundamental, each pool's spot in USD) so that a protocol
//! with `lag_steps = k ≥ 1` reads what its source showed at the end of step
//! t − k (step 0 for t − k < 0).

/// End-of-step prices (USD) for the last `depth` steps: each asset's
/// fundamental and every pool's spot.
#[derive(Debug, Clone)]
pub struct PriceHistory {
    depth: usize,
    n_assets: usize,
    n_pools: usize,
    fundamental: Vec<f64>,
    venue: Vec<f64>,
}

impl PriceHistory {
    /// A history deep enough for the largest lag of the scenario.
    pub fn new(max_lag: u32, n_assets: usize, n_pools: usize) -> Self {
        let depth = max_lag as usize + 1;
        PriceHistory {
            depth,
            n_assets,
            n_pools,
            fundamental: vec![f64::NAN; depth * n_assets],
            venue: vec![f64::NAN; depth * n_pools],
        }
    }

    /// Record the end-of-step prices of `step`: each asset's fundamental
    /// and every pool's price in USD.
    pub fn push(&mut self, step: u32, fundamental: &[f64], venue: &[f64]) {
        let slot = step as usize % self.depth;
        let at = slot * self.n_assets;
        self.fundamental[at..at + self.n_assets].copy_from_slice(fundamental);
        let at = slot * self.n_pools;
        self.venue[at..at + self.n_pools].copy_from_slice(venue);
    }

    /// Fundamental prices at the end of `step − lag` (clamped at step 0).
    /// `lag` must be below the depth the history was built with, and that
    /// step recorded.
    pub fn lagged(&self, step: u32, lag: u32) -> &[f64] {
        let at = self.slot(step, lag) * self.n_assets;
        &self.fundamental[at..at + self.n_assets]
    }

    /// Every pool's price in USD at the end of `step − lag`, as `lagged`.
    pub fn lagged_venues(&self, step: u32, lag: u32) -> &[f64] {
        let at = self.slot(step, lag) * self.n_pools;
        &self.venue[at..at + self.n_pools]
    }

    fn slot(&self, step: u32, lag: u32) -> usize {
        debug_assert!((lag as usize) < self.depth);
        step.saturating_sub(lag) as usize % self.depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lagged_read_returns_the_price_k_steps_back() {
        let mut h = PriceHistory::new(2, 1, 2);
        for step in 0..6u32 {
            let s = step as f64;
            h.push(step, &[100.0 + s], &[300.0 + s, 400.0 + s]);
            // During step+1, lag 1 reads the end of `step`, lag 2 reads step−1.
            let t = step + 1;
            assert_eq!(h.lagged(t, 1), &[100.0 + s]);
            let back2 = step.saturating_sub(1) as f64;
            assert_eq!(h.lagged(t, 2), &[100.0 + back2]);
            assert_eq!(h.lagged_venues(t, 1), &[300.0 + s, 400.0 + s]);
            assert_eq!(h.lagged_venues(t, 2), &[300.0 + back2, 400.0 + back2]);
        }
    }

    #[test]
    fn reads_before_the_start_clamp_to_step_zero() {
        let mut h = PriceHistory::new(3, 2, 1);
        h.push(0, &[1.0, 2.0], &[7.0]);
        assert_eq!(h.lagged_venues(2, 3), &[7.0]);
        assert_eq!(h.lagged(1, 3), &[1.0, 2.0]);
    }
}
