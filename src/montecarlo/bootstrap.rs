//! How far to trust a tail metric: bootstrap confidence intervals for
//! VaR and ES over paths, and how many paths the tail rests on.
//!
//! VaR₉₉ of 200 paths is an interpolation between the 2nd and 3rd worst
//! paths; its 95% interval says how much another 200 paths could move it.
//! The interval is the percentile bootstrap: resample the n path values
//! with replacement `RESAMPLES` times, compute VaR and ES of each resample
//! exactly as `metrics` does, and take the 2.5% and 97.5% quantiles of
//! those. Percentile intervals of extreme quantiles are known to be too
//! narrow when the tail holds few paths (the resamples can never exceed
//! the worst path seen), which is why `tail_paths` and the warning exist.
//!
//! Only the top of a resample matters, so a resample is not drawn as n
//! indices: walking down the sorted values, the number of the n draws that
//! land on the j-th largest, given the draws left, is binomial (the
//! sequential form of the multinomial). The walk stops once it holds the
//! order statistics VaR and ES need: about (1 − q)·n + 2 steps per
//! resample, so a million paths cost as little as a thousand.
//!
//! Deterministic: the same values and seed give the same interval, on any
//! machine and thread count.

use rand::SeedableRng;
use rand_distr::{Binomial, Distribution};

use crate::montecarlo::metrics::{expected_shortfall_sorted, quantile_sorted};
use crate::montecarlo::seed::{PathRng, splitmix64};

/// Resamples per interval.
pub const RESAMPLES: usize = 1000;

/// Coverage of the interval (two-sided, percentile).
pub const CONFIDENCE: f64 = 0.95;

/// Below this many paths in the tail (`tail_paths`), VaR and ES at that
/// level rest on too few observations to be read on their own: warn.
pub const MIN_TAIL_PATHS: usize = 10;

const BOOTSTRAP_STREAM: u64 = 0x626f_6f74; // "boot"

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

/// Bootstrap intervals of VaR_q and ES_q of one loss over paths.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TailIntervals {
    /// The level q, e.g. 0.99.
    pub level: f64,
    /// Interval of VaR_q.
    pub var: Interval,
    /// Interval of ES_q.
    pub es: Interval,
    /// Paths ES_q averages (⌈(1 − q)·n⌉, at least one): the observations
    /// the tail rests on.
    pub tail_paths: usize,
}

impl TailIntervals {
    /// Whether the tail rests on fewer than `MIN_TAIL_PATHS` paths.
    pub fn thin(&self) -> bool {
        self.tail_paths < MIN_TAIL_PATHS
    }
}

/// Paths in the q-tail of n paths, as ES_q counts them.
pub fn tail_paths(n: usize, q: f64) -> usize {
    if n == 0 {
        return 0;
    }
    ((((1.0 - q) * n as f64) - 1e-9).ceil().max(1.0) as usize).min(n)
}

/// The generator of the bootstrap of stream `stream` under `seed` (for
/// example the sweep's seed and the metric's index): its own domain, so it
/// shares no draws with the paths.
pub fn bootstrap_rng(seed: u64, stream: u64) -> PathRng {
    let s = splitmix64(splitmix64(seed ^ splitmix64(BOOTSTRAP_STREAM)).wrapping_add(stream));
    PathRng::seed_from_u64(s)
}

/// The `m` largest values of one resample (with replacement, n draws) of
/// `sorted` (ascending), largest first, written into `top`.
fn resample_top(sorted: &[f64], m: usize, rng: &mut PathRng, top: &mut Vec<f64>) {
    top.clear();
    let n = sorted.len();
    let mut left = n as u64;
    let mut j = n;
    while top.len() < m && j > 0 && left > 0 {
        j -= 1;
        // Of the `left` draws still to place among the j + 1 smallest
        // values, each lands on value j with probability 1/(j + 1).
        let c = if j == 0 {
            left
        } else {
            Binomial::new(left, 1.0 / (j + 1) as f64)
                .expect("0 < p ≤ 1")
                .sample(rng)
        };
        for _ in 0..c.min((m - top.len()) as u64) {
            top.push(sorted[j]);
        }
        left -= c;
    }
}

/// VaR_q and ES_q of a sample of n values given its largest values
/// (largest first, at least `needed(n, q)` of them).
fn var_es_from_top(top: &[f64], n: usize, q: f64) -> (f64, f64) {
    // Rebuild the top of the ascending order: ascending index i is
    // top[n − 1 − i].
    let h = (n - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let at = |i: usize| top[n - 1 - i];
    let var = at(lo) + (h - lo as f64) * (at(hi) - at(lo));
    let k = tail_paths(n, q);
    let es = top[..k].iter().sum::<f64>() / k as f64;
    (var, es)
}

/// Largest values needed for VaR_q and ES_q of n values.
fn needed(n: usize, q: f64) -> usize {
    let lo = ((n - 1) as f64 * q).floor() as usize;
    (n - lo).max(tail_paths(n, q))
}

/// Percentile-bootstrap intervals (`RESAMPLES` resamples, `CONFIDENCE`
/// coverage) of VaR_q and ES_q of `values`, drawn from `rng`. Values need
/// not be sorted. With no values, both intervals are NaN.
pub fn tail_intervals(values: &[f64], q: f64, rng: &mut PathRng) -> TailIntervals {
    tail_intervals_with(values, q, RESAMPLES, CONFIDENCE, rng)
}

/// `tail_intervals` with the number of resamples and the coverage given.
pub fn tail_intervals_with(
    values: &[f64],
    q: f64,
    resamples: usize,
    confidence: f64,
    rng: &mut PathRng,
) -> TailIntervals {
    let n = values.len();
    if n == 0 || resamples == 0 {
        let nan = Interval {
            lo: f64::NAN,
            hi: f64::NAN,
        };
        return TailIntervals {
            level: q,
            var: nan,
            es: nan,
            tail_paths: tail_paths(n, q),
        };
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let m = needed(n, q);
    let mut top = Vec::with_capacity(m);
    let mut vars = Vec::with_capacity(resamples);
    let mut ess = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        resample_top(&sorted, m, rng, &mut top);
        let (v, e) = var_es_from_top(&top, n, q);
        vars.push(v);
        ess.push(e);
    }
    vars.sort_by(f64::total_cmp);
    ess.sort_by(f64::total_cmp);
    let a = (1.0 - confidence) / 2.0;
    let interval = |s: &[f64]| Interval {
        lo: quantile_sorted(s, a),
        hi: quantile_sorted(s, 1.0 - a),
    };
    TailIntervals {
        level: q,
        var: interval(&vars),
        es: interval(&ess),
        tail_paths: tail_paths(n, q),
    }
}

/// VaR_q and ES_q of the values (for checking against `metrics`).
pub fn point(values: &[f64], q: f64) -> (f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (
        quantile_sorted(&sorted, q),
        expected_shortfall_sorted(&sorted, q),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// A resample drawn the slow way: n indices, sorted.
    fn naive(sorted: &[f64], rng: &mut PathRng) -> Vec<f64> {
        let n = sorted.len();
        let mut r: Vec<f64> = (0..n).map(|_| sorted[rng.random_range(0..n)]).collect();
        r.sort_by(f64::total_cmp);
        r
    }

    #[test]
    fn the_top_of_a_resample_gives_the_metrics_of_the_whole_resample() {
        // Identity check of the reconstruction: from the true top of a
        // sorted sample, var_es_from_top equals metrics' definitions.
        let mut rng = bootstrap_rng(3, 0);
        for n in [1usize, 2, 3, 7, 100, 250] {
            let v: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * 100.0).collect();
            for q in [0.5, 0.95, 0.99] {
                let mut s = v.clone();
                s.sort_by(f64::total_cmp);
                let top: Vec<f64> = s.iter().rev().copied().collect();
                let (var, es) = var_es_from_top(&top[..needed(n, q)], n, q);
                let (pv, pe) = point(&v, q);
                assert!((var - pv).abs() < 1e-9, "n {n} q {q}: {var} vs {pv}");
                assert!((es - pe).abs() < 1e-9, "n {n} q {q}: {es} vs {pe}");
            }
        }
    }

    #[test]
    fn a_hand_worked_two_path_case() {
        // Values {0, 1}, q = 0.99: a resample is {0,0} (1/4: VaR 0, ES 0),
        // {0,1} (1/2: VaR 0.99, ES 1) or {1,1} (1/4: VaR 1, ES 1). The 2.5%
        // and 97.5% quantiles of those are 0 and 1 for both.
        let mut rng = bootstrap_rng(1, 0);
        let t = tail_intervals(&[1.0, 0.0], 0.99, &mut rng);
        assert_eq!(t.var, Interval { lo: 0.0, hi: 1.0 });
        assert_eq!(t.es, Interval { lo: 0.0, hi: 1.0 });
        assert_eq!(t.tail_paths, 1);
        assert!(t.thin());
        // And the resample frequencies are those of the hand count.
        let mut rng = bootstrap_rng(2, 0);
        let (mut zero, mut mid, mut one) = (0, 0, 0);
        let mut top = Vec::new();
        for _ in 0..20_000 {
            resample_top(&[0.0, 1.0], needed(2, 0.99), &mut rng, &mut top);
            let (v, _) = var_es_from_top(&top, 2, 0.99);
            match v {
                0.0 => zero += 1,
                1.0 => one += 1,
                _ => mid += 1,
            }
        }
        for (got, want) in [(zero, 5000.0), (mid, 10_000.0), (one, 5000.0)] {
            assert!((got as f64 - want).abs() < 300.0, "{zero} {mid} {one}");
        }
    }

    #[test]
    fn constant_values_have_a_point_interval_and_a_single_value_too() {
        let mut rng = bootstrap_rng(0, 0);
        let t = tail_intervals(&[7.0; 50], 0.99, &mut rng);
        assert_eq!(t.var, Interval { lo: 7.0, hi: 7.0 });
        assert_eq!(t.es, Interval { lo: 7.0, hi: 7.0 });
        let t = tail_intervals(&[3.0], 0.95, &mut rng);
        assert_eq!(t.var, Interval { lo: 3.0, hi: 3.0 });
        let t = tail_intervals(&[], 0.99, &mut rng);
        assert!(t.var.lo.is_nan() && t.tail_paths == 0);
    }

    #[test]
    fn the_sequential_sampler_matches_naive_resampling_in_distribution() {
        // The mean and spread of bootstrap VaR95 and ES95 over many
        // resamples agree between the binomial walk and drawing n indices.
        let mut rng = bootstrap_rng(9, 1);
        let v: Vec<f64> = (0..60).map(|_| rng.random::<f64>().powi(3) * 1e6).collect();
        let mut s = v.clone();
        s.sort_by(f64::total_cmp);
        let (q, reps) = (0.95, 20_000);
        let mut fast = (0.0, 0.0, 0.0);
        let mut slow = (0.0, 0.0, 0.0);
        let mut top = Vec::new();
        for _ in 0..reps {
            resample_top(&s, needed(60, q), &mut rng, &mut top);
            let (a, b) = var_es_from_top(&top, 60, q);
            fast = (fast.0 + a, fast.1 + a * a, fast.2 + b);
            let r = naive(&s, &mut rng);
            let (c, d) = point(&r, q);
            slow = (slow.0 + c, slow.1 + c * c, slow.2 + d);
        }
        let k = reps as f64;
        let sd = (slow.1 / k - (slow.0 / k).powi(2)).sqrt();
        // Standard error of a mean of 20,000 draws is sd/141: 5 of them.
        let tol = 5.0 * sd / k.sqrt() * 2f64.sqrt();
        assert!((fast.0 / k - slow.0 / k).abs() < tol, "{fast:?} {slow:?}");
        assert!(
            (fast.2 / k - slow.2 / k).abs() < 2.0 * tol,
            "{fast:?} {slow:?}"
        );
        let sd_fast = (fast.1 / k - (fast.0 / k).powi(2)).sqrt();
        assert!((sd_fast / sd - 1.0).abs() < 0.05, "{sd_fast} vs {sd}");
    }

    #[test]
    fn intervals_are_ordered_contain_the_estimate_and_repeat_exactly() {
        let mut g = bootstrap_rng(4, 4);
        let v: Vec<f64> = (0..2000)
            .map(|_| {
                let u: f64 = g.random();
                if u < 0.7 { 0.0 } else { -(1.0 - u).ln() * 1e5 }
            })
            .collect();
        let a = tail_intervals(&v, 0.99, &mut bootstrap_rng(11, 0));
        let b = tail_intervals(&v, 0.99, &mut bootstrap_rng(11, 0));
        assert_eq!(a, b, "same seed, same interval");
        let c = tail_intervals(&v, 0.99, &mut bootstrap_rng(12, 0));
        assert_ne!(a, c, "another seed draws other resamples");
        let (var, es) = point(&v, 0.99);
        assert!(a.var.lo <= var && var <= a.var.hi, "{a:?} {var}");
        assert!(a.es.lo <= es && es <= a.es.hi, "{a:?} {es}");
        assert!(a.var.lo < a.var.hi && a.es.lo < a.es.hi);
        assert_eq!(a.tail_paths, 20);
        assert!(!a.thin());
        // A million paths: the walk visits only the tail (its cost is
        // measured by the bench, not here).
        let big: Vec<f64> = (0..1_000_000).map(|i| (i % 9973) as f64).collect();
        let t = tail_intervals(&big, 0.99, &mut bootstrap_rng(0, 0));
        assert!(t.var.lo <= t.var.hi);
    }

    /// A full resample (m = n) places n draws, each value drawn once on
    /// average: over 20,000 resamples of 6 values every value's mean count
    /// is 1 within 0.03 (its standard error is about 0.007).
    #[test]
    fn a_full_resample_draws_each_value_once_on_average() {
        let n = 6;
        let sorted: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut rng = bootstrap_rng(5, 0);
        let mut counts = vec![0usize; n];
        let mut top = Vec::new();
        let reps = 20_000;
        for _ in 0..reps {
            resample_top(&sorted, n, &mut rng, &mut top);
            assert_eq!(top.len(), n);
            assert!(top.windows(2).all(|w| w[0] >= w[1]), "largest first");
            for &v in &top {
                counts[v as usize] += 1;
            }
        }
        for (i, &c) in counts.iter().enumerate() {
            let mean = c as f64 / reps as f64;
            assert!((mean - 1.0).abs() < 0.03, "value {i}: {mean}");
        }
    }

    /// The percentile interval at coverage c spans the (1 − c)/2 and
    /// (1 + c)/2 quantiles of the same resamples: a point at c = 0, the
    /// quartiles at c = 0.5, and nested as c grows.
    #[test]
    fn wider_coverage_gives_nested_wider_intervals() {
        let mut g = bootstrap_rng(6, 0);
        let v: Vec<f64> = (0..400).map(|_| g.random::<f64>().powi(2) * 1e3).collect();
        let at = |c: f64| tail_intervals_with(&v, 0.95, 2000, c, &mut bootstrap_rng(7, 0));
        let point = at(0.0);
        assert_eq!(point.var.lo, point.var.hi);
        let mut last = point;
        for c in [0.5, 0.9, 0.99] {
            let t = at(c);
            assert!(t.var.lo < t.var.hi && t.es.lo < t.es.hi, "c {c}: {t:?}");
            assert!(t.var.lo <= last.var.lo && last.var.hi <= t.var.hi, "c {c}");
            assert!(t.es.lo <= last.es.lo && last.es.hi <= t.es.hi, "c {c}");
            last = t;
        }
    }

    /// Tails of `MIN_TAIL_PATHS` paths or more are not thin.
    #[test]
    fn thin_means_fewer_than_the_minimum_tail() {
        let at = |k: usize| TailIntervals {
            level: 0.99,
            var: Interval { lo: 0.0, hi: 0.0 },
            es: Interval { lo: 0.0, hi: 0.0 },
            tail_paths: k,
        };
        assert!(at(MIN_TAIL_PATHS - 1).thin());
        assert!(!at(MIN_TAIL_PATHS).thin());
    }

    /// Every seed and stream has generators of its own: the first draws of
    /// 65 seeds (0 and every single bit, which a seed mixed in by a mask
    /// rather than a xor would fold together) × 4 streams all differ.
    #[test]
    fn every_seed_and_stream_bootstraps_with_its_own_draws() {
        let mut firsts = std::collections::BTreeSet::new();
        let seeds = std::iter::once(0).chain((0..64).map(|b| 1u64 << b));
        for seed in seeds {
            for stream in 0..4u64 {
                let x: u64 = bootstrap_rng(seed, stream).random();
                firsts.insert(x);
            }
        }
        assert_eq!(firsts.len(), 65 * 4);
    }
}
