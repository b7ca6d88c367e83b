//! The `[[perps]]`, `[[perp_positions]]` and `[[perp_populations]]`
//! sections as written (serde structs mirroring the TOML; checked in
//! `spec.rs`).

use serde::{Deserialize, Serialize};

use crate::scenario::population::{RawHealthDist, RawSizeDist};

/// `[[perps]]`: a perpetual futures market on an asset with a pool. Its
/// backstop vault is the counterparty of every trader and hedges in the pool.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPerp {
    /// Unique name.
    pub name: String,
    /// Underlying asset (must have a pool: the mark price and the venue).
    pub asset: String,
    /// Initial margin fraction: the highest leverage is 1/initial_margin.
    pub initial_margin: f64,
    /// Maintenance margin fraction of notional.
    pub maintenance_margin: f64,
    /// Fee on traded notional (liquidations and ADL closes), to the fee account.
    #[serde(default)]
    pub taker_fee: f64,
    /// Penalty on a liquidated notional, to the insurance fund.
    #[serde(default)]
    pub liquidation_fee: f64,
    /// Insurance fund at step 0, USD.
    #[serde(default)]
    pub insurance_fund: f64,
    /// Funding: premium (mark − index)/index per `period_hours`, clamped.
    #[serde(default)]
    pub funding: RawFunding,
    /// The index reads the fundamental price this many steps ago.
    #[serde(default)]
    pub index_lag_steps: u32,
    /// Static or volatility-scaled maintenance margin.
    #[serde(default)]
    pub margin: RawMarginModel,
}

/// Funding parameters.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFunding {
    /// Largest funding rate per period, as a fraction.
    pub clamp: f64,
    /// Funding period in hours.
    pub period_hours: f64,
}

impl Default for RawFunding {
    fn default() -> Self {
        RawFunding {
            clamp: 0.0005,
            period_hours: 8.0,
        }
    }
}

/// How a perp sets its maintenance margin.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum RawMarginModel {
    /// Always `maintenance_margin`.
    #[default]
    Static,
    /// `max(maintenance_margin, multiplier · σ_EWMA · sqrt(horizon))`.
    Ewma {
        /// EWMA decay λ in (0, 1).
        lambda: f64,
        /// Multiple of the horizon's volatility.
        multiplier: f64,
        /// Horizon in hours.
        horizon_hours: f64,
        /// Volatility before any return is seen (annual).
        initial_vol: f64,
    },
}

/// `[[perp_positions]]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPerpPosition {
    /// Market name.
    pub perp: String,
    /// `long` or `short`.
    pub side: RawSide,
    /// Size in units of the underlying.
    pub size: f64,
    /// Margin posted, USD (added to the account's margin).
    pub margin: f64,
    /// Positions naming the same account share its margin (cross margin);
    /// without one the position is isolated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// A position's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawSide {
    /// Gains when the price rises.
    Long,
    /// Gains when the price falls.
    Short,
}

/// `[[perp_populations]]`: accounts each holding one position per listed
/// market.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPerpPopulation {
    /// Markets, one position in each.
    pub perps: Vec<String>,
    /// Side in each market (same length as `perps`).
    pub sides: Vec<RawSide>,
    /// Number of accounts.
    pub count: u32,
    /// Total notional of an account, USD, split equally across its markets.
    pub notional_usd: RawSizeDist,
    /// Leverage: total notional ÷ margin.
    pub leverage: RawHealthDist,
    /// `cross`: one margin for the account; `isolated`: the margin is split
    /// across its positions in proportion to notional.
    #[serde(default)]
    pub margin_mode: RawMarginMode,
}

/// Cross or isolated margin.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RawMarginMode {
    /// One margin per account.
    #[default]
    Cross,
    /// One margin per position.
    Isolated,
}
