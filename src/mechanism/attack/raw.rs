//! `[[attackers]]` as written (docs/model.md §16).

use serde::{Deserialize, Serialize};

/// An oracle manipulator: it pushes a venue its protocol's oracle reads,
/// then borrows against the inflated collateral and walks away.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAttacker {
    /// Its name.
    pub name: String,
    /// The `[[positions]]` entry (0-based) that is its account: one
    /// collateral asset, no debt. It borrows on it.
    pub position: usize,
    /// The pool it buys in (default: the collateral's main venue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
    /// Most USD it spends buying in the venue over an attack.
    pub capital_usd: f64,
    /// Multiples of the fundamental it considers pushing the venue to
    /// (default 1.25, 1.5, 2, 3, 5, 10).
    #[serde(default = "default_pumps")]
    pub pumps: Vec<f64>,
    /// Most steps it holds the venue up before it borrows (default 24).
    #[serde(default = "default_hold")]
    pub max_hold_steps: u32,
    /// First step at which it may start (default 1).
    #[serde(default = "default_from")]
    pub from_step: u32,
    /// Last step at which it may start (default: the last step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_step: Option<u32>,
    /// Forecast profit it needs before it starts, USD (default 0).
    #[serde(default)]
    pub min_profit_usd: f64,
}

fn default_pumps() -> Vec<f64> {
    vec![1.25, 1.5, 2.0, 3.0, 5.0, 10.0]
}

fn default_hold() -> u32 {
    24
}

fn default_from() -> u32 {
    1
}

/// A raider: it sells an asset down in a venue a lending protocol's oracle
/// reads, its liquidation desk takes the liquidations that follow, and it
/// buys the asset back (docs/model.md §16, "Pushing a price down").
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRaider {
    /// Its name.
    pub name: String,
    /// The lending protocol whose oracle it pushes and whose positions it
    /// liquidates.
    pub protocol: String,
    /// The asset it sells (collateral in that protocol).
    pub asset: String,
    /// The pool it sells in (default: the asset's main venue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
    /// Units of the asset it can sell over a raid (held, or borrowed
    /// elsewhere: it buys them back).
    pub inventory_units: f64,
    /// Its liquidation desk: the first of `[[liquidators]]`.
    pub liquidator: String,
    /// Multiples of the fundamental it considers pushing the venue down to
    /// (default 0.95, 0.9, 0.8, 0.7, 0.5).
    #[serde(default = "default_dumps")]
    pub dumps: Vec<f64>,
    /// Most steps it holds the venue down before the liquidations it waits
    /// for (default 24).
    #[serde(default = "default_hold")]
    pub max_hold_steps: u32,
    /// First step at which it may start (default 1).
    #[serde(default = "default_from")]
    pub from_step: u32,
    /// Last step at which it may start (default: the last step but one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_step: Option<u32>,
    /// Forecast profit it needs before it starts, USD (default 0).
    #[serde(default)]
    pub min_profit_usd: f64,
}

fn default_dumps() -> Vec<f64> {
    vec![0.95, 0.9, 0.8, 0.7, 0.5]
}
