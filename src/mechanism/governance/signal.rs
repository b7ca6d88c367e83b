//! What proposals and risk agents watch (docs/model.md §18), validated;
//! `watch.rs` observes it on a path.

use crate::error::ScenarioError;
use crate::mechanism::governance::raw::RawSignal;
use crate::mechanism::lending::book::Terms;
use crate::scenario::check::finite;

/// A signal, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// 1 − F / max F so far, of asset `0`.
    Drawdown(usize),
    /// EWMA volatility of asset `asset`, annualised.
    Volatility {
        asset: usize,
        lambda: f64,
        start: f64,
    },
    /// Utilisation of lending protocol `0`.
    Utilisation(usize),
    /// Bad debt of lending protocol `0` so far, USD.
    BadDebt(usize),
    /// |oracle − F| / F of `asset` in lending protocol `protocol`.
    OracleDeviation { protocol: usize, asset: usize },
}

/// RiskMetrics' decay for daily data (J.P. Morgan/Reuters, RiskMetrics
/// Technical Document, 4th ed., 1996, §5.3).
pub const DEFAULT_LAMBDA: f64 = 0.94;

impl Signal {
    /// Validate `raw` (written at `at`, e.g. `proposals[0].signal`).
    pub fn from_raw(raw: &RawSignal, at: &str, t: Terms<'_>) -> Result<Self, ScenarioError> {
        let asset = |s: &str| {
            t.asset_index(s).ok_or_else(|| {
                ScenarioError::invalid(format!("{at}.asset"), format!("unknown asset `{s}`"))
            })
        };
        let protocol = |s: &str| {
            t.protocol_index(s).ok_or_else(|| {
                ScenarioError::invalid(
                    format!("{at}.protocol"),
                    format!("unknown lending protocol `{s}`"),
                )
            })
        };
        Ok(match raw {
            RawSignal::Drawdown { asset: a } => Signal::Drawdown(asset(a)?),
            RawSignal::Volatility {
                asset: a,
                lambda,
                start,
            } => {
                let lambda = finite(&format!("{at}.lambda"), lambda.unwrap_or(DEFAULT_LAMBDA))?;
                if !(0.0..1.0).contains(&lambda) {
                    return Err(ScenarioError::invalid(
                        format!("{at}.lambda"),
                        format!("{lambda} is outside [0, 1)"),
                    ));
                }
                let start = finite(&format!("{at}.start"), start.unwrap_or(0.0))?;
                if start < 0.0 {
                    return Err(ScenarioError::invalid(
                        format!("{at}.start"),
                        format!("{start} is negative"),
                    ));
                }
                Signal::Volatility {
                    asset: asset(a)?,
                    lambda,
                    start,
                }
            }
            RawSignal::Utilisation { protocol: p } => Signal::Utilisation(protocol(p)?),
            RawSignal::BadDebt { protocol: p } => Signal::BadDebt(protocol(p)?),
            RawSignal::OracleDeviation {
                protocol: p,
                asset: a,
            } => Signal::OracleDeviation {
                protocol: protocol(p)?,
                asset: asset(a)?,
            },
        })
    }
}
