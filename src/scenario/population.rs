//! Populations of positions or accounts drawn from a seed: the size and
//! health (or leverage) distributions `[[populations]]` and
//! `[[perp_populations]]` share, checked and sampled.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::error::ScenarioError;
use crate::scenario::check::{MAX_USD, at_most, finite, non_negative, positive};

/// Position size distributions.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum RawSizeDist {
    /// Every position the same size.
    Fixed {
        /// Size.
        value: f64,
    },
    /// ln X ~ N(ln median, sigma²).
    Lognormal {
        /// Median size.
        median: f64,
        /// Std of ln X.
        sigma: f64,
    },
    /// Pareto with minimum `scale` and tail index `shape` (whales).
    Pareto {
        /// Minimum size x_m.
        scale: f64,
        /// Tail index α.
        shape: f64,
    },
}

/// Initial health-factor distributions.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawHealthDist {
    /// Every position the same HF.
    Fixed {
        /// HF.
        value: f64,
    },
    /// Uniform on [min, max].
    Uniform {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// HF = min + X, ln X ~ N(ln(median − min), sigma²): skewed, most mass near min.
    ShiftedLognormal {
        /// Lowest HF.
        min: f64,
        /// Median HF.
        median: f64,
        /// Std of ln(HF − min).
        sigma: f64,
    },
}

/// Check a size distribution's parameters.
pub(crate) fn check_size(field: &str, d: &RawSizeDist) -> Result<(), ScenarioError> {
    match *d {
        RawSizeDist::Fixed { value } => {
            positive(&format!("{field}.value"), value)?;
            at_most(
                &format!("{field}.value"),
                value,
                MAX_USD,
                "USD in one position",
            )
            .map(drop)
        }
        RawSizeDist::Lognormal { median, sigma } => {
            positive(&format!("{field}.median"), median)?;
            at_most(
                &format!("{field}.median"),
                median,
                MAX_USD,
                "USD in one position",
            )?;
            non_negative(&format!("{field}.sigma"), sigma)?;
            at_most(
                &format!("{field}.sigma"),
                sigma,
                5.0,
                "sizes spread over e^±25 at five sd",
            )
            .map(drop)
        }
        RawSizeDist::Pareto { scale, shape } => {
            positive(&format!("{field}.scale"), scale)?;
            at_most(
                &format!("{field}.scale"),
                scale,
                MAX_USD,
                "USD in one position",
            )?;
            positive(&format!("{field}.shape"), shape).map(drop)
        }
    }
}

/// Check a health-factor distribution; returns its lowest possible value.
pub(crate) fn check_health(field: &str, d: &RawHealthDist) -> Result<f64, ScenarioError> {
    match *d {
        RawHealthDist::Fixed { value } => positive(&format!("{field}.value"), value),
        RawHealthDist::Uniform { min, max } => {
            positive(&format!("{field}.min"), min)?;
            finite(&format!("{field}.max"), max)?;
            if max < min {
                return Err(ScenarioError::invalid(
                    format!("{field}.max"),
                    format!("{max} is below min {min}"),
                ));
            }
            Ok(min)
        }
        RawHealthDist::ShiftedLognormal { min, median, sigma } => {
            positive(&format!("{field}.min"), min)?;
            finite(&format!("{field}.median"), median)?;
            if median <= min {
                return Err(ScenarioError::invalid(
                    format!("{field}.median"),
                    format!("{median} must be above min {min}"),
                ));
            }
            non_negative(&format!("{field}.sigma"), sigma)?;
            Ok(min)
        }
    }
}

fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.sample(rand_distr::StandardNormal)
}

/// Draw a collateral value in USD.
pub fn draw_size<R: Rng + ?Sized>(d: &RawSizeDist, rng: &mut R) -> f64 {
    match *d {
        RawSizeDist::Fixed { value } => value,
        RawSizeDist::Lognormal { median, sigma } => median * (sigma * normal(rng)).exp(),
        RawSizeDist::Pareto { scale, shape } => {
            // Inversion with U in (0, 1]: X = x_m · U^(−1/α).
            let u: f64 = 1.0 - rng.random::<f64>();
            scale * u.powf(-1.0 / shape)
        }
    }
}

/// Draw an initial health factor.
pub fn draw_health<R: Rng + ?Sized>(d: &RawHealthDist, rng: &mut R) -> f64 {
    match *d {
        RawHealthDist::Fixed { value } => value,
        RawHealthDist::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
        RawHealthDist::ShiftedLognormal { min, median, sigma } => {
            min + (median - min) * (sigma * normal(rng)).exp()
        }
    }
}
