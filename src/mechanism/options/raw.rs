//! The `[[hedgers]]` and `[[option_vaults]]` sections as written (serde
//! structs mirroring the TOML; checked in `spec.rs`).

use serde::{Deserialize, Serialize};

/// A volatility surface: `atm` is a number, or `"ewma"` with `lambda` and
/// `initial` (docs/model.md §14).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSurface {
    /// ATM volatility (annual), or the word `ewma`.
    pub atm: RawAtm,
    /// EWMA decay (with `atm = "ewma"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
    /// EWMA starting volatility (with `atm = "ewma"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<f64>,
    /// Slope in log-moneyness ln(K/S).
    #[serde(default)]
    pub skew: f64,
    /// Curvature in log-moneyness.
    #[serde(default)]
    pub smile: f64,
    /// Lowest volatility.
    #[serde(default = "default_vol_floor")]
    pub floor: f64,
}

fn default_vol_floor() -> f64 {
    0.05
}

/// ATM volatility: a number or `"ewma"`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RawAtm {
    /// Annual volatility.
    Fixed(f64),
    /// Must be `ewma`.
    Word(String),
}

/// One option line of a hedger's book.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOption {
    /// `call` or `put`.
    pub kind: crate::derivatives::Kind,
    /// Strike, USD.
    pub strike: f64,
    /// Expiry, hours from step 0.
    pub expiry_hours: f64,
    /// Contracts (units of the underlying); negative = sold.
    pub quantity: f64,
}

/// `[[hedgers]]`: a market maker's option book on one asset, delta-hedged
/// in that asset's pool.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHedger {
    /// Unique name.
    pub name: String,
    /// Underlying (must have a pool).
    pub asset: String,
    /// Volatility surface used to price and compute Greeks.
    pub surface: RawSurface,
    /// Risk-free rate (annual).
    #[serde(default)]
    pub rate: f64,
    /// Rehedge when |net delta| exceeds this many units, back to zero.
    pub band: f64,
    /// Hedge in a perp market instead of the pool: `{ perp, margin }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedge: Option<RawPerpHedge>,
    /// The book.
    pub options: Vec<RawOption>,
}

/// `hedge = { perp = "eth-perp", margin = 1000000.0 }`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPerpHedge {
    /// The perp market (on the hedger's asset).
    pub perp: String,
    /// Margin of the hedger's perp account, USD.
    pub margin: f64,
}

/// What an option vault sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawVaultStrategy {
    /// Holds the underlying, sells calls on it.
    CoveredCall,
    /// Holds cash, sells puts it can pay for.
    CashSecuredPut,
}

/// `[[option_vaults]]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOptionVault {
    /// Unique name.
    pub name: String,
    /// Underlying.
    pub asset: String,
    /// Strategy.
    pub strategy: RawVaultStrategy,
    /// Deposits: units of the underlying (covered call) or USD (put).
    pub deposits: f64,
    /// |delta| of the strikes sold, in (0, 1).
    pub delta: f64,
    /// Hours between expiries (one epoch).
    pub tenor_hours: f64,
    /// Volatility surface the options are sold at.
    pub surface: RawSurface,
    /// Risk-free rate (annual).
    #[serde(default)]
    pub rate: f64,
}
