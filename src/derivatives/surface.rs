//! A volatility surface: at-the-money volatility plus skew and smile as a
//! quadratic in log-moneyness (docs/model.md §14),
//! `σ(K) = max(floor, σ_ATM + skew·x + smile·x²)` with `x = ln(K/S)`.
//! A negative skew makes puts (K < S) dearer than calls, as in crypto and
//! equity markets after a fall; smile lifts both wings. The ATM level is a
//! fixed number or an EWMA of realised volatility on the path (RiskMetrics,
//! J.P. Morgan 1996: `σ²ₜ = λσ²ₜ₋₁ + (1 − λ)·rₜ²/dt`).

/// Where the ATM volatility comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AtmVol {
    /// A fixed annual volatility.
    Fixed(f64),
    /// EWMA of squared log returns with decay λ, started at `initial`.
    Ewma {
        /// Decay λ in (0, 1).
        lambda: f64,
        /// Annual volatility before any return is seen.
        initial: f64,
    },
}

/// The surface's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolSurface {
    /// ATM level.
    pub atm: AtmVol,
    /// Slope in log-moneyness.
    pub skew: f64,
    /// Curvature in log-moneyness.
    pub smile: f64,
    /// Lowest volatility the surface returns.
    pub floor: f64,
}

impl VolSurface {
    /// Implied volatility at strike `k` for spot `s`, given the ATM level.
    pub fn vol(&self, atm: f64, s: f64, k: f64) -> f64 {
        let x = (k / s).ln();
        (atm + self.skew * x + self.smile * x * x).max(self.floor)
    }

    /// The ATM level at the start of a path.
    pub fn initial_atm(&self) -> f64 {
        match self.atm {
            AtmVol::Fixed(v) => v,
            AtmVol::Ewma { initial, .. } => initial,
        }
    }
}

/// An EWMA volatility estimator over one path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ewma {
    lambda: f64,
    variance: f64,
}

impl Ewma {
    /// Start at annual volatility `initial`.
    pub fn new(lambda: f64, initial: f64) -> Self {
        Ewma {
            lambda,
            variance: initial * initial,
        }
    }

    /// Take one log return over `dt` years.
    pub fn update(&mut self, log_return: f64, dt: f64) {
        self.variance =
            self.lambda * self.variance + (1.0 - self.lambda) * log_return * log_return / dt;
    }

    /// Current annual volatility.
    pub fn vol(&self) -> f64 {
        self.variance.sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_makes_puts_dearer_and_smile_lifts_both_wings() {
        let s = VolSurface {
            atm: AtmVol::Fixed(0.6),
            skew: -0.3,
            smile: 0.5,
            floor: 0.05,
        };
        assert_eq!(s.vol(0.6, 100.0, 100.0), 0.6);
        let (low, high) = (s.vol(0.6, 100.0, 80.0), s.vol(0.6, 100.0, 125.0));
        let x: f64 = 0.8f64.ln();
        assert!((low - (0.6 - 0.3 * x + 0.5 * x * x)).abs() < 1e-15);
        assert!(low > 0.6 && low > high);
        let flat = VolSurface { skew: 0.0, ..s };
        assert!(flat.vol(0.6, 100.0, 80.0) > 0.6 && flat.vol(0.6, 100.0, 125.0) > 0.6);
        let floored = VolSurface {
            skew: 5.0,
            smile: 0.0,
            ..s
        };
        assert_eq!(floored.vol(0.6, 100.0, 50.0), 0.05);
    }

    /// With constant returns r each step, the variance converges
    /// geometrically to r²/dt: after n steps it is
    /// `λⁿ·σ₀² + (1 − λⁿ)·r²/dt`.
    #[test]
    fn ewma_follows_its_recursion() {
        let dt = 1.0 / 8760.0;
        let mut e = Ewma::new(0.94, 0.5);
        let r: f64 = 0.01;
        for _ in 0..20 {
            e.update(r, dt);
        }
        let l20 = 0.94f64.powi(20);
        let want = (l20 * 0.25 + (1.0 - l20) * r * r / dt).sqrt();
        assert!((e.vol() - want).abs() < 1e-12);
    }
}
