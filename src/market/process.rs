//! Price processes of docs/model.md §2 and the Cholesky factor that correlates them.

use rand::{Rng, RngExt};

/// How an asset's fundamental price moves by itself, annualised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Process {
    /// Never moves by itself.
    Fixed,
    /// `ln F += (μ − σ²/2)·dt + σ·sqrt(dt)·Z`.
    Gbm {
        /// Annual drift μ.
        drift: f64,
        /// Annual volatility σ.
        vol: f64,
    },
    /// GBM plus N ~ Poisson(λ·dt) jumps, each N(m, s²) in log space, with the
    /// drift compensated by `−λ·(e^{m+s²/2} − 1)·dt` so μ stays the total drift.
    Merton {
        /// Annual total drift μ.
        drift: f64,
        /// Annual diffusion volatility σ.
        vol: f64,
        /// Jumps per year λ.
        jump_intensity: f64,
        /// Mean log jump m.
        jump_mean: f64,
        /// Std of the log jump s.
        jump_std: f64,
    },
}

impl Process {
    /// Whether the process draws a normal each step.
    pub fn is_stochastic(&self) -> bool {
        !matches!(self, Process::Fixed)
    }

    /// The deterministic part of the log increment over `dt` years.
    pub fn log_drift(&self, dt: f64) -> f64 {
        match *self {
            Process::Fixed => 0.0,
            Process::Gbm { drift, vol } => (drift - 0.5 * vol * vol) * dt,
            Process::Merton {
                drift,
                vol,
                jump_intensity,
                jump_mean,
                jump_std,
            } => {
                let kappa = (jump_mean + 0.5 * jump_std * jump_std).exp() - 1.0;
                (drift - 0.5 * vol * vol - jump_intensity * kappa) * dt
            }
        }
    }

    /// The diffusion scale σ·sqrt(dt).
    pub fn diffusion(&self, dt: f64) -> f64 {
        match *self {
            Process::Fixed => 0.0,
            Process::Gbm { vol, .. } | Process::Merton { vol, .. } => vol * dt.sqrt(),
        }
    }

    /// One step's log increment given the (already correlated) normal `z`.
    /// Jumps, if any, are drawn from `rng` after `z`.
    pub fn log_increment<R: Rng + ?Sized>(&self, dt: f64, z: f64, rng: &mut R) -> f64 {
        let base = self.log_drift(dt) + self.diffusion(dt) * z;
        match *self {
            Process::Merton {
                jump_intensity,
                jump_mean,
                jump_std,
                ..
            } => {
                let n = poisson(jump_intensity * dt, rng);
                let jumps = if n <= MANY_JUMPS {
                    let mut jumps = 0.0;
                    for _ in 0..n {
                        let e: f64 = rng.sample(rand_distr::StandardNormal);
                        jumps += jump_mean + jump_std * e;
                    }
                    jumps
                } else {
                    // The sum of n independent N(m, s²) is N(n·m, n·s²):
                    // the same law in one draw.
                    let e: f64 = rng.sample(rand_distr::StandardNormal);
                    n as f64 * jump_mean + (n as f64).sqrt() * jump_std * e
                };
                base + jumps
            }
            _ => base,
        }
    }
}

/// Above this many jumps in one step, their sum is drawn in one go.
const MANY_JUMPS: u64 = 64;

/// Largest mean of one step's jump count (λ·dt) a scenario may ask for:
/// rand_distr's Poisson sampler is exact up to about 1.8e19.
pub const MAX_JUMPS_PER_STEP: f64 = 1e12;

/// Means up to this are sampled by inversion (e^−mean is far from underflow).
const INVERSION_MAX_MEAN: f64 = 30.0;

/// Poisson(mean), exact for any mean up to [`MAX_JUMPS_PER_STEP`]. Small
/// means (a step's λ·dt ≪ 1) use inversion of the CDF, one uniform per draw;
/// larger ones rand_distr's rejection sampler, since e^−mean underflows to 0
/// past a mean of about 745 and inversion would then always answer 1.
pub fn poisson<R: Rng + ?Sized>(mean: f64, rng: &mut R) -> u64 {
    if mean <= 0.0 || mean.is_nan() {
        return 0;
    }
    if mean > INVERSION_MAX_MEAN {
        let d = rand_distr::Poisson::new(mean.min(MAX_JUMPS_PER_STEP))
            .expect("mean in (30, 1e12] is a valid Poisson mean");
        let k: f64 = rng.sample(d);
        return k as u64;
    }
    let u: f64 = rng.random();
    let mut p = (-mean).exp();
    let mut cdf = p;
    let mut k = 0u64;
    // The cap only guards against a cdf that rounding keeps below u.
    while u > cdf && k < 10_000 {
        k += 1;
        p *= mean / k as f64;
        cdf += p;
        if p == 0.0 && cdf < u {
            break;
        }
    }
    k
}

/// Lower-triangular L with L·Lᵀ = `m`, for a symmetric positive
/// *semi*-definite matrix (a zero pivot gives a zero column). Errors say why
/// the matrix is not a valid correlation matrix.
pub fn cholesky_psd(m: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, String> {
    const TOL: f64 = 1e-10;
    let n = m.len();
    for (i, row) in m.iter().enumerate() {
        if row.len() != n {
            return Err(format!("row {i} has {} entries, expected {n}", row.len()));
        }
        if (row[i] - 1.0).abs() > 1e-12 {
            return Err(format!(
                "diagonal entry [{i}][{i}] is {} (must be 1)",
                row[i]
            ));
        }
        for (j, &v) in row.iter().enumerate() {
            if !v.is_finite() {
                return Err(format!("entry [{i}][{j}] is {v}"));
            }
            if !(-1.0..=1.0).contains(&v) {
                return Err(format!("entry [{i}][{j}] = {v} is outside [-1, 1]"));
            }
            if (v - m[j][i]).abs() > 1e-12 {
                return Err(format!(
                    "not symmetric: [{i}][{j}] = {v} but [{j}][{i}] = {}",
                    m[j][i]
                ));
            }
        }
    }
    let mut l = vec![vec![0.0; n]; n];
    for j in 0..n {
        let d = m[j][j] - l[j][..j].iter().map(|v| v * v).sum::<f64>();
        if d < -TOL {
            return Err("not positive semi-definite".to_string());
        }
        let pivot = d.max(0.0).sqrt();
        l[j][j] = pivot;
        for i in j + 1..n {
            let s = m[i][j]
                - l[i][..j]
                    .iter()
                    .zip(&l[j][..j])
                    .map(|(a, b)| a * b)
                    .sum::<f64>();
            if pivot > TOL {
                l[i][j] = s / pivot;
            } else if s.abs() > 1e-8 {
                return Err("not positive semi-definite".to_string());
            }
        }
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn gbm_increment_is_drift_plus_scaled_normal() {
        let p = Process::Gbm {
            drift: 0.1,
            vol: 0.8,
        };
        let dt = 1.0 / 8760.0;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let got = p.log_increment(dt, 1.5, &mut rng);
        let want = (0.1 - 0.5 * 0.64) * dt + 0.8 * dt.sqrt() * 1.5;
        assert!((got - want).abs() < 1e-15);
    }

    /// Without jumps, Merton's model is GBM: the same increment for the
    /// same normal, Itô term included (the compensation test alone is too
    /// loose at σ = 0.2 to see that term).
    #[test]
    fn merton_without_jumps_is_gbm() {
        let dt = 1.0 / 8760.0;
        for (drift, vol) in [(0.1, 0.8), (-0.3, 1.5), (0.0, 0.4)] {
            let gbm = Process::Gbm { drift, vol };
            let merton = Process::Merton {
                drift,
                vol,
                jump_intensity: 0.0,
                jump_mean: -0.1,
                jump_std: 0.2,
            };
            for z in [-2.0, 0.0, 1.5] {
                let mut a = Xoshiro256PlusPlus::seed_from_u64(3);
                let mut b = Xoshiro256PlusPlus::seed_from_u64(3);
                let (x, y) = (
                    gbm.log_increment(dt, z, &mut a),
                    merton.log_increment(dt, z, &mut b),
                );
                assert!((x - y).abs() < 1e-15, "μ {drift} σ {vol} z {z}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn merton_compensation_keeps_the_expected_return_at_mu() {
        // E[F_T/F_0] = exp(μ T): the compensator cancels the jumps' mean.
        let p = Process::Merton {
            drift: 0.05,
            vol: 0.2,
            jump_intensity: 50.0,
            jump_mean: -0.05,
            jump_std: 0.03,
        };
        let dt = 1.0 / 365.0;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let n = 400_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let z: f64 = rng.sample(rand_distr::StandardNormal);
            sum += p.log_increment(dt, z, &mut rng).exp();
        }
        let mean = sum / n as f64;
        let want = (0.05 * dt).exp();
        // Std of one gross return is about 0.012; 5 standard errors.
        let se = 0.013 / (n as f64).sqrt();
        assert!((mean - want).abs() < 5.0 * se, "mean {mean} vs {want}");
    }

    #[test]
    fn poisson_by_inversion_has_the_right_mean_and_zero_mass() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let lambda = 0.7;
        let n = 200_000;
        let (mut sum, mut zeros) = (0u64, 0u64);
        for _ in 0..n {
            let k = poisson(lambda, &mut rng);
            sum += k;
            zeros += (k == 0) as u64;
        }
        let mean = sum as f64 / n as f64;
        assert!((mean - lambda).abs() < 5.0 * (lambda / n as f64).sqrt());
        let p0 = zeros as f64 / n as f64;
        let want = (-lambda).exp();
        assert!((p0 - want).abs() < 5.0 * (want * (1.0 - want) / n as f64).sqrt());
    }

    #[test]
    fn poisson_is_right_for_means_where_inversion_underflows() {
        // e^-1000 underflows to 0: inversion would return 1 every time.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        for lambda in [45.0, 1000.0, 1e6] {
            let n = 4000;
            let draws: Vec<f64> = (0..n).map(|_| poisson(lambda, &mut rng) as f64).collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|k| (k - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            // Mean within 5 standard errors; variance equal to the mean (±15%).
            assert!(
                (mean - lambda).abs() < 5.0 * (lambda / n as f64).sqrt(),
                "{lambda}: {mean}"
            );
            assert!((var / lambda - 1.0).abs() < 0.15, "{lambda}: var {var}");
        }
    }

    #[test]
    fn a_merton_step_with_a_thousand_jumps_keeps_the_total_drift() {
        // λ·dt = 1000 jumps a step of mean -0.001, std 0.001: the compensator
        // makes E[F_1/F_0] = e^(μ·dt) with μ = 0, whatever the jump count.
        let p = Process::Merton {
            drift: 0.0,
            vol: 0.0,
            jump_intensity: 1000.0,
            jump_mean: -0.001,
            jump_std: 0.001,
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        let n = 20_000;
        let mean = (0..n)
            .map(|_| p.log_increment(1.0, 0.0, &mut rng).exp())
            .sum::<f64>()
            / n as f64;
        // Std of one gross return ≈ sqrt(1000·(0.001² + 0.001²)) ≈ 0.045.
        assert!(
            (mean - 1.0).abs() < 5.0 * 0.045 / (n as f64).sqrt(),
            "{mean}"
        );
    }

    #[test]
    fn cholesky_reproduces_the_matrix() {
        let m = vec![
            vec![1.0, 0.8, 0.3],
            vec![0.8, 1.0, 0.5],
            vec![0.3, 0.5, 1.0],
        ];
        let l = cholesky_psd(&m).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| l[i][k] * l[j][k]).sum();
                assert!((v - m[i][j]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn cholesky_accepts_perfect_correlation_and_rejects_bad_matrices() {
        let perfect = vec![vec![1.0, 1.0], vec![1.0, 1.0]];
        let l = cholesky_psd(&perfect).unwrap();
        assert_eq!(l[1][1], 0.0);
        let not_psd = vec![
            vec![1.0, 0.9, -0.9],
            vec![0.9, 1.0, 0.9],
            vec![-0.9, 0.9, 1.0],
        ];
        assert!(
            cholesky_psd(&not_psd)
                .unwrap_err()
                .contains("semi-definite")
        );
        let asym = vec![vec![1.0, 0.2], vec![0.3, 1.0]];
        assert!(cholesky_psd(&asym).unwrap_err().contains("symmetric"));
        let diag = vec![vec![2.0, 0.0], vec![0.0, 1.0]];
        assert!(cholesky_psd(&diag).unwrap_err().contains("diagonal"));
    }

    /// The factor of a 2×2 correlation matrix in closed form, to the bit:
    /// L = [[1, 0], [ρ, sqrt(1 − ρ²)]]. (Writing the diagonal as d/sqrt(d)
    /// instead of sqrt(d) gives the same number up to its last bit.)
    #[test]
    fn a_two_by_two_factor_is_the_closed_form_to_the_bit() {
        for k in 1..200 {
            let rho = -0.995 + 0.01 * k as f64;
            let l = cholesky_psd(&[vec![1.0, rho], vec![rho, 1.0]]).unwrap();
            assert_eq!(l[0], [1.0, 0.0]);
            assert_eq!(l[1][0].to_bits(), rho.to_bits());
            assert_eq!(
                l[1][1].to_bits(),
                (1.0 - rho * rho).sqrt().to_bits(),
                "ρ = {rho}"
            );
        }
    }

    /// A zero pivot (two assets perfectly correlated) is accepted when
    /// the later rows agree with it, and rejected when they do not: assets
    /// 0 and 1 move as one, so asset 2 must be as correlated with one as
    /// with the other.
    #[test]
    fn a_zero_pivot_needs_consistent_later_rows() {
        let ok = vec![
            vec![1.0, 1.0, 0.5],
            vec![1.0, 1.0, 0.5],
            vec![0.5, 0.5, 1.0],
        ];
        let l = cholesky_psd(&ok).unwrap();
        assert_eq!(l[1][1], 0.0);
        assert_eq!(l[2][1], 0.0, "nothing left for the second column");
        assert!((l[2][2] - 0.75f64.sqrt()).abs() < 1e-15);
        let bad = vec![
            vec![1.0, 1.0, 0.5],
            vec![1.0, 1.0, -0.5],
            vec![0.5, -0.5, 1.0],
        ];
        let e = cholesky_psd(&bad).unwrap_err();
        assert!(e.contains("positive semi-definite"), "{e}");
    }
}
