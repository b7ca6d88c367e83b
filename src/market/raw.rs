//! The `[[assets]]`, `[correlation]`, `[[pools]]` and `[[shocks]]`
//! sections as written (serde structs mirroring the TOML; checked in
//! `spec.rs`).

use serde::{Deserialize, Serialize};

fn default_fee() -> f64 {
    0.003
}

/// `[[assets]]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAsset {
    /// Ticker, unique.
    pub symbol: String,
    /// Initial price in USD (not given for receipt tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// Price process (default `fixed`).
    #[serde(default)]
    pub process: RawProcess,
    /// Makes this asset the receipt token of a lending protocol's supply
    /// side: its price is the share value × the protocol's debt-asset price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_of: Option<String>,
    /// Makes this asset a derivative token (a liquid-staking token, say)
    /// priced off an underlying asset: `F = ratio × F_underlying × e^δ`,
    /// with δ its market discount (docs/model.md §12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peg: Option<RawPeg>,
    /// Makes this asset the LP share of a pool, named `BASE/QUOTE`: its
    /// `price` at step 0 fixes the share supply (docs/model.md §12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lp_of: Option<String>,
}

/// `peg = { to = "ETH", ratio = 1.0, reversion_half_life_hours = 24 }`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPeg {
    /// The underlying asset.
    pub to: String,
    /// Units of the underlying one token redeems for (its exchange rate).
    #[serde(default = "default_one_f64")]
    pub ratio: f64,
    /// Half-life of the discount δ, in hours, when redemptions (or a
    /// withdrawal queue) pull the price back to the peg; none: δ persists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversion_half_life_hours: Option<f64>,
}

/// A price process (docs/model.md §2).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum RawProcess {
    /// Never moves by itself.
    #[default]
    Fixed,
    /// Geometric Brownian motion.
    Gbm {
        /// Annual drift μ.
        #[serde(default)]
        drift: f64,
        /// Annual volatility σ.
        vol: f64,
    },
    /// GBM plus compensated lognormal jumps.
    Merton {
        /// Annual total drift μ.
        #[serde(default)]
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

/// `[correlation]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCorrelation {
    /// The stochastic assets the matrix covers, in matrix order.
    pub assets: Vec<String>,
    /// Correlation matrix, row by row.
    pub matrix: Vec<Vec<f64>>,
}

/// `[[pools]]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    /// Asset sold into the pool by liquidators.
    pub base: String,
    /// Asset the pool pays out.
    pub quote: String,
    /// Initial base reserve (units).
    pub base_reserve: f64,
    /// Swap fee φ kept in the pool.
    #[serde(default = "default_fee")]
    pub fee: f64,
    /// Share ρ of the cascade's impact that becomes permanent (an asset's
    /// main venue only).
    #[serde(default)]
    pub impact_persistence: f64,
    /// The name oracles' `venues`, LP tokens and shocks use for this pool
    /// (default `BASE/QUOTE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Most USD of quote arbitrageurs trade through this pool in a step
    /// (default: no limit, the pool is back at the fundamental every step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arbitrage_usd: Option<f64>,
    /// The price curve (default: constant product, x·y = k).
    #[serde(default, skip_serializing_if = "RawCurve::is_constant_product")]
    pub curve: RawCurve,
}

/// A pool's price curve (docs/model.md §3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawCurve {
    /// Uniswap v2: x·y = k, the fee kept in the pool.
    #[default]
    ConstantProduct,
    /// Exponential impact: after s base units sold (net), the price is
    /// p₀·exp(−alpha·s/base_reserve). No fee (set `fee = 0`).
    Exponential {
        /// α > 0: selling the whole `base_reserve` lowers the price by e^−α.
        alpha: f64,
    },
}

impl RawCurve {
    /// Whether this is the default curve.
    pub fn is_constant_product(&self) -> bool {
        *self == RawCurve::ConstantProduct
    }
}

/// `[[bridge_halts]]`: redemptions of a bridged (pegged) token stop for a
/// while (docs/model.md §12, "Bridges").
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBridgeHalt {
    /// The bridged token: an asset with a `peg`.
    pub asset: String,
    /// First step of the halt.
    pub from_step: u32,
    /// Last step of the halt; redemptions resume after it.
    pub to_step: u32,
    /// Discount that opens when the halt starts, in [0, 1).
    pub discount: f64,
}

/// `[[shocks]]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawShock {
    /// Step at which the shock applies (1..=steps).
    pub step: u32,
    /// Asset symbol: the shock moves its fundamental price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// Pool name: the shock trades that pool, after the step's arbitrage,
    /// to `(1 + return)` × its price (instead of `asset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Simple return, > −1: `ln F += ln(1 + return)`.
    #[serde(rename = "return")]
    pub ret: f64,
}

/// 1.0, for serde defaults.
fn default_one_f64() -> f64 {
    1.0
}
