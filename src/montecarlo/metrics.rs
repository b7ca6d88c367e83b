//! Risk metrics over paths (docs/model.md §7).
//!
//! Quantiles interpolate linearly between order statistics (the default of
//! numpy and of polars' `interpolation="linear"`): with the n values sorted,
//! q sits at rank h = (n − 1)·q. `ES_q` is the mean of the ⌈(1 − q)·n⌉
//! largest values (at least one).

use serde::Serialize;

/// Summary statistics of one loss over paths.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LossMetrics {
    /// Number of paths.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90% quantile.
    pub p90: f64,
    /// VaR₉₅: the 95% quantile.
    pub var95: f64,
    /// VaR₉₉: the 99% quantile.
    pub var99: f64,
    /// ES₉₅: mean of the worst 5%.
    pub es95: f64,
    /// ES₉₉: mean of the worst 1%.
    pub es99: f64,
    /// Largest value.
    pub max: f64,
    /// Share of paths with a positive loss.
    pub prob_positive: f64,
}

/// The q-quantile of sorted values, linear interpolation.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "quantile of no values");
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Mean of the worst (1 − q) share of sorted values.
pub fn expected_shortfall_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let k = (((1.0 - q) * n as f64) - 1e-9).ceil().max(1.0) as usize;
    mean_of(&sorted[n - k.min(n)..])
}

/// The mean as a running mean: finite whenever the values are, even near
/// f64::MAX where a plain sum would overflow.
fn mean_of(values: &[f64]) -> f64 {
    let mut mean = 0.0;
    for (k, &v) in values.iter().enumerate() {
        mean += (v - mean) / (k + 1) as f64;
    }
    mean
}

/// All metrics of a loss given its value on each path. Finite values give
/// finite metrics (the standard deviation is computed on values scaled by
/// their largest magnitude, so squares cannot overflow). No values give
/// zeros with `n = 0`.
pub fn loss_metrics(values: &[f64]) -> LossMetrics {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return LossMetrics {
            n: 0,
            mean: 0.0,
            std: 0.0,
            min: 0.0,
            p50: 0.0,
            p90: 0.0,
            var95: 0.0,
            var99: 0.0,
            es95: 0.0,
            es99: 0.0,
            max: 0.0,
            prob_positive: 0.0,
        };
    }
    let mean = mean_of(&sorted);
    let scale = sorted[0].abs().max(sorted[n - 1].abs());
    let std = if n > 1 && scale > 0.0 {
        let m = mean / scale;
        let var = sorted.iter().map(|v| (v / scale - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        scale * var.sqrt()
    } else {
        0.0
    };
    LossMetrics {
        n,
        mean,
        std,
        min: sorted[0],
        p50: quantile_sorted(&sorted, 0.5),
        p90: quantile_sorted(&sorted, 0.9),
        var95: quantile_sorted(&sorted, 0.95),
        var99: quantile_sorted(&sorted, 0.99),
        es95: expected_shortfall_sorted(&sorted, 0.95),
        es99: expected_shortfall_sorted(&sorted, 0.99),
        max: sorted[n - 1],
        prob_positive: sorted.iter().filter(|&&v| v > 0.0).count() as f64 / n as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One path, or paths all at 0, have no spread (not 0/0).
    #[test]
    fn one_value_or_all_zeros_have_no_spread() {
        assert_eq!(loss_metrics(&[5.0]).std, 0.0);
        assert_eq!(loss_metrics(&[0.0; 4]).std, 0.0);
        let two = loss_metrics(&[1.0, 3.0]);
        assert!((two.std - 2f64.sqrt()).abs() < 1e-12, "{}", two.std);
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        // numpy.quantile([1, 2, 3, 4, 10], [0.5, 0.95, 0.99]) = [3.0, 8.8, 9.76]
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert!((quantile_sorted(&v, 0.5) - 3.0).abs() < 1e-12);
        assert!((quantile_sorted(&v, 0.95) - 8.8).abs() < 1e-12);
        assert!((quantile_sorted(&v, 0.99) - 9.76).abs() < 1e-12);
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 10.0);
    }

    #[test]
    fn expected_shortfall_averages_the_tail() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        // Worst 5 of 1..100: 96..100, mean 98; worst 1: 100.
        assert!((expected_shortfall_sorted(&v, 0.95) - 98.0).abs() < 1e-12);
        assert_eq!(expected_shortfall_sorted(&v, 0.99), 100.0);
        // Fewer paths than 1/(1−q): the single worst.
        assert_eq!(expected_shortfall_sorted(&[1.0, 2.0, 3.0], 0.99), 3.0);
    }

    #[test]
    fn metrics_of_huge_finite_values_stay_finite() {
        let v = [1e307, 1.5e308, 1.7e308, 0.0];
        let m = loss_metrics(&v);
        for x in [m.mean, m.std, m.var99, m.es95, m.es99, m.max] {
            assert!(x.is_finite(), "{m:?}");
        }
        // mean = (1e307 + 1.5e308 + 1.7e308) / 4
        assert!((m.mean / 8.25e307 - 1.0).abs() < 1e-12);
        // The scaled formula agrees with the plain one where both work.
        let small = [1.0, 2.0, 4.0, 7.0];
        let plain = {
            let mu: f64 = small.iter().sum::<f64>() / 4.0;
            (small.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / 3.0).sqrt()
        };
        assert!((loss_metrics(&small).std - plain).abs() < 1e-12);
        assert_eq!(loss_metrics(&[]).n, 0);
    }

    #[test]
    fn metrics_of_a_loss_with_zeros() {
        let m = loss_metrics(&[0.0, 0.0, 5.0, 0.0, 1.0]);
        assert_eq!(m.n, 5);
        assert!((m.mean - 1.2).abs() < 1e-12);
        assert!((m.prob_positive - 0.4).abs() < 1e-12);
        assert_eq!(m.max, 5.0);
        assert!(m.es95 >= m.var95);
    }
}
