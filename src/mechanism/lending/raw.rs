//! The `[[protocols]]`, `[[positions]]`, `[[populations]]`,
//! `[[liquidators]]`, `[[lenders]]` and `[network]` sections as written
//! (serde structs mirroring the TOML; checked in `validate.rs` and
//! `book.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::scenario::population::{RawHealthDist, RawSizeDist};

pub use crate::mechanism::oracle::raw::{OracleKind, OracleSource, RawFeedAsset, RawOracle};

fn default_close_factor() -> f64 {
    0.5
}

/// `[network]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Base gas cost of one liquidation, USD.
    #[serde(default)]
    pub gas_usd: f64,
    /// Gas grows by this fraction per liquidation already executed in the step.
    #[serde(default)]
    pub congestion: f64,
}

/// `[[protocols]]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProtocol {
    /// Unique name.
    pub name: String,
    /// Only `lending` so far.
    pub kind: RawProtocolKind,
    /// Asset that is borrowed.
    pub debt_asset: String,
    /// Share of debt repaid per liquidation.
    #[serde(default = "default_close_factor")]
    pub close_factor: f64,
    /// Below this health factor the whole debt can be repaid (0: never).
    #[serde(default)]
    pub full_liquidation_hf: f64,
    /// How the protocol reads prices.
    #[serde(default)]
    pub oracle: RawOracle,
    /// Who liquidates: `liquidators` (default, docs/model.md §5) or
    /// `forced_sale` (the protocol sells a position out at once).
    #[serde(default, skip_serializing_if = "RawLiquidation::is_default")]
    pub liquidation: RawLiquidation,
    /// Positions that fail at a given step whatever their health factor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defaults: Vec<RawDefault>,
    /// Accepted collateral.
    pub collateral: Vec<RawCollateral>,
    /// The supply side (lenders' deposits, shares and reserve fund).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply: Option<RawSupply>,
    /// A correlated-asset mode (Aave v3 e-mode) with its own risk parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emode: Option<RawEmode>,
    /// Borrowers repay when the borrow rate passes their tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleverage: Option<RawDeleverage>,
}

/// `emode = { assets = [...], liquidation_threshold, liquidation_bonus, max_ltv }`:
/// a position whose collateral assets all belong to `assets` (which must
/// hold the debt asset) uses these parameters instead of the per-asset ones.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEmode {
    /// The category's assets (the debt asset and correlated collateral).
    pub assets: Vec<String>,
    /// LT in (0, 1].
    pub liquidation_threshold: f64,
    /// LB ≥ 0.
    pub liquidation_bonus: f64,
    /// Max LTV in (0, LT].
    pub max_ltv: f64,
}

/// `deleverage = { borrow_rate = 0.2, repay = 0.25 }`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDeleverage {
    /// Annual borrow rate above which borrowers deleverage.
    pub borrow_rate: f64,
    /// Fraction of its debt each borrower repays per step while above.
    pub repay: f64,
}

/// `supply = { ... }` of a lending protocol: exactly one of `deposits` and
/// `utilisation` fixes what suppliers deposited.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSupply {
    /// Deposits in units of the debt asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposits: Option<f64>,
    /// Or: initial borrowed ÷ deposited, in (0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilisation: Option<f64>,
    /// The protocol's own buffer, absorbing bad debt before suppliers do.
    #[serde(default)]
    pub reserve_fund: f64,
    /// Interest rate model (none: no interest accrues).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RawRate>,
}

/// A kinked utilisation rate model, annual rates (Aave / Compound style).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRate {
    /// Borrow rate at zero utilisation.
    #[serde(default)]
    pub base: f64,
    /// Rate added between zero utilisation and the kink.
    pub slope1: f64,
    /// Optimal utilisation, in (0, 1).
    pub kink: f64,
    /// Rate added between the kink and full utilisation.
    pub slope2: f64,
    /// Share of interest paid into the reserve fund, in [0, 1).
    #[serde(default)]
    pub reserve_factor: f64,
}

/// Protocol kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawProtocolKind {
    /// An Aave-like lending market.
    Lending,
}

/// `[[protocols.collateral]]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCollateral {
    /// Collateral asset.
    pub asset: String,
    /// LT in (0, 1].
    pub liquidation_threshold: f64,
    /// LB ≥ 0: the liquidator's bonus on seized collateral.
    pub liquidation_bonus: f64,
    /// Maximum loan-to-value at origination, ≤ LT.
    pub max_ltv: f64,
    /// Isolation mode: total debt, USD at initial prices, that positions
    /// holding this asset may carry; such positions hold no other collateral.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debt_ceiling_usd: Option<f64>,
}

/// `[[positions]]`: one explicit account.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPosition {
    /// Protocol name.
    pub protocol: String,
    /// Debt in units of the protocol's debt asset.
    pub debt: f64,
    /// Collateral units by asset symbol.
    pub collateral: BTreeMap<String, f64>,
}

/// `[[populations]]`: a generated book.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPopulation {
    /// Protocol name.
    pub protocol: String,
    /// Number of positions.
    pub count: u32,
    /// The single collateral asset of these positions.
    pub collateral_asset: String,
    /// Distribution of collateral value in USD at initial prices.
    pub size_usd: RawSizeDist,
    /// Distribution of the initial health factor.
    pub health_factor: RawHealthDist,
}

/// `[[liquidators]]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLiquidator {
    /// Unique name.
    pub name: String,
    /// USD capital, or `"unlimited"` (flash loans).
    pub capital: RawCapital,
    /// Smallest profit (USD, after gas) it acts for.
    #[serde(default)]
    pub min_profit: f64,
}

/// Liquidator capital: a number or the word `unlimited`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RawCapital {
    /// USD.
    Usd(f64),
    /// Must be `unlimited`.
    Word(String),
}

/// `[[lenders]]`: a holder of a protocol's shares that runs on a signal.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLender {
    /// Unique name.
    pub name: String,
    /// The protocol whose shares it holds.
    pub protocol: String,
    /// Its fraction of the protocol's shares at step 0, in (0, 1].
    pub share: f64,
    /// Fraction of its remaining shares it redeems each step once triggered.
    #[serde(default = "default_one_f64")]
    pub withdraw: f64,
    /// Sell what it withdraws into the debt asset's pool (flight to the
    /// pool's quote asset) instead of holding it.
    #[serde(default)]
    pub sell: bool,
    /// What makes it run (any one firing is enough).
    pub trigger: RawTrigger,
}

/// Signals a lender watches; it runs once any of them fires.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrigger {
    /// Share value below its running peak by at least this fraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_value_drawdown: Option<f64>,
    /// Utilisation at or above this level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilisation: Option<f64>,
    /// A peer protocol whose bad debt it watches (with `peer_bad_debt_usd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The peer's cumulative bad debt, USD, at or above which it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_bad_debt_usd: Option<f64>,
    /// A scripted run: it starts at this step (1..=steps) whatever happens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_step: Option<u32>,
}

/// 1.0, for serde defaults.
fn default_one_f64() -> f64 {
    1.0
}

/// How a protocol liquidates (docs/model.md §5).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RawLiquidation {
    /// Liquidators repay part of the debt for collateral at a bonus.
    #[default]
    Liquidators,
    /// The protocol sells all of a position's collateral into its venues at
    /// once and repays what the sales fetch (no bonus, no liquidator).
    ForcedSale,
}

impl RawLiquidation {
    /// Whether this is the default.
    pub fn is_default(&self) -> bool {
        *self == RawLiquidation::Liquidators
    }
}

/// `defaults = [{ step, position }]` in a `[[protocols]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefault {
    /// The step at whose cascade it fails (default 1).
    #[serde(default = "first_step")]
    pub step: u32,
    /// A position id (as in book.parquet), or `"random"`: one of the
    /// protocol's positions that owe something then, uniformly, drawn
    /// on each path from a stream of its own.
    pub position: RawWho,
}

/// Which position fails.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RawWho {
    /// A position id.
    Id(u64),
    /// `"random"`.
    Word(String),
}

fn first_step() -> u32 {
    1
}
