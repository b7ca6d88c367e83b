//! The scenario file as written: serde structs that mirror the TOML one to one.
//!
//! Defaults are filled in here, so serialising a parsed `RawScenario` gives the
//! *resolved* scenario that the manifest records. Nothing is checked here
//! beyond types and unknown keys; `validated.rs` does the rest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ScenarioError;

/// A whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// A book snapshot (CSV or Parquet), relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positions_file: Option<String>,
    /// Run-wide settings.
    pub simulation: RawSimulation,
    /// Gas and congestion.
    #[serde(default)]
    pub network: RawNetwork,
    /// Tokens and their price processes.
    pub assets: Vec<RawAsset>,
    /// Correlation of the stochastic assets' shocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<RawCorrelation>,
    /// Constant-product pools.
    #[serde(default)]
    pub pools: Vec<RawPool>,
    /// Lending markets (none for a perp or options study).
    #[serde(default)]
    pub protocols: Vec<RawProtocol>,
    /// Explicit accounts.
    #[serde(default)]
    pub positions: Vec<RawPosition>,
    /// Generated books.
    #[serde(default)]
    pub populations: Vec<RawPopulation>,
    /// Liquidators, in priority order.
    #[serde(default)]
    pub liquidators: Vec<RawLiquidator>,
    /// Lender agents that withdraw when a signal fires.
    #[serde(default)]
    pub lenders: Vec<RawLender>,
    /// Scripted price moves.
    #[serde(default)]
    pub shocks: Vec<RawShock>,
    /// Perpetual futures markets.
    #[serde(default)]
    pub perps: Vec<RawPerp>,
    /// Explicit perp positions.
    #[serde(default)]
    pub perp_positions: Vec<RawPerpPosition>,
    /// Generated perp accounts.
    #[serde(default)]
    pub perp_populations: Vec<RawPerpPopulation>,
    /// Option books that hedge their delta in a pool.
    #[serde(default)]
    pub hedgers: Vec<RawHedger>,
    /// Option vaults selling covered calls or cash-secured puts.
    #[serde(default)]
    pub option_vaults: Vec<RawOptionVault>,
}

/// A volatility surface: `atm` is a number, or `"ewma"` with `lambda` and
/// `initial` (docs/model.md §14).
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RawAtm {
    /// Annual volatility.
    Fixed(f64),
    /// Must be `ewma`.
    Word(String),
}

/// One option line of a hedger's book.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPerpHedge {
    /// The perp market (on the hedger's asset).
    pub perp: String,
    /// Margin of the hedger's perp account, USD.
    pub margin: f64,
}

/// What an option vault sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawVaultStrategy {
    /// Holds the underlying, sells calls on it.
    CoveredCall,
    /// Holds cash, sells puts it can pay for.
    CashSecuredPut,
}

/// `[[option_vaults]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// `[[perps]]`: a perpetual futures market on an asset with a pool. Its
/// backstop vault is the counterparty of every trader and hedges in the pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawSide {
    /// Gains when the price rises.
    Long,
    /// Gains when the price falls.
    Short,
}

/// `[[perp_populations]]`: accounts each holding one position per listed
/// market.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawMarginMode {
    /// One margin per account.
    #[default]
    Cross,
    /// One margin per position.
    Isolated,
}

/// `[simulation]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSimulation {
    /// Scenario name; also the default output folder name.
    pub name: String,
    /// Number of steps T after the initial state.
    pub steps: u32,
    /// Length of a step in hours.
    #[serde(default = "default_dt_hours")]
    pub dt_hours: f64,
    /// Monte Carlo paths.
    #[serde(default = "default_paths")]
    pub paths: u32,
    /// Master seed (book and paths).
    #[serde(default)]
    pub seed: u64,
    /// Cap on liquidation rounds per step.
    #[serde(default = "default_max_rounds")]
    pub max_cascade_rounds: u32,
    /// Paths 0..record_paths keep full time series (default: up to 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_paths: Option<u32>,
    /// Record every n-th step of the recorded paths.
    #[serde(default = "default_one")]
    pub record_every: u32,
    /// Positions below health factor 1 at step 0: `keep` (simulate them:
    /// they are liquidated at step 1), `refuse` (an error) or `drop`.
    #[serde(default)]
    pub unhealthy_positions: UnhealthyPolicy,
}

/// What to do with positions already below health factor 1 at step 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnhealthyPolicy {
    /// Simulate them (a real snapshot can hold such positions).
    #[default]
    Keep,
    /// Refuse the scenario.
    Refuse,
    /// Leave them out of the book.
    Drop,
}

fn default_dt_hours() -> f64 {
    1.0
}
fn default_paths() -> u32 {
    100
}
fn default_max_rounds() -> u32 {
    50
}
fn default_one() -> u32 {
    1
}
fn default_close_factor() -> f64 {
    0.5
}
fn default_fee() -> f64 {
    0.003
}

/// `[network]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Base gas cost of one liquidation, USD.
    #[serde(default)]
    pub gas_usd: f64,
    /// Gas grows by this fraction per liquidation already executed in the step.
    #[serde(default)]
    pub congestion: f64,
}

/// `[[assets]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCorrelation {
    /// The stochastic assets the matrix covers, in matrix order.
    pub assets: Vec<String>,
    /// Correlation matrix, row by row.
    pub matrix: Vec<Vec<f64>>,
}

/// `[[pools]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Share ρ of the cascade's impact that becomes permanent.
    #[serde(default)]
    pub impact_persistence: f64,
}

/// `[[protocols]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeleverage {
    /// Annual borrow rate above which borrowers deleverage.
    pub borrow_rate: f64,
    /// Fraction of its debt each borrower repays per step while above.
    pub repay: f64,
}

/// `supply = { ... }` of a lending protocol: exactly one of `deposits` and
/// `utilisation` fixes what suppliers deposited.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawProtocolKind {
    /// An Aave-like lending market.
    Lending,
}

/// Oracle settings of a protocol.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOracle {
    /// `fundamental` or `pool`.
    #[serde(default)]
    pub source: OracleSource,
    /// Read the source as it was this many steps ago.
    #[serde(default)]
    pub lag_steps: u32,
}

/// Where an oracle reads its price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OracleSource {
    /// The asset's fundamental price F.
    #[default]
    Fundamental,
    /// The spot price of the asset's pool (F for an asset without a pool).
    Pool,
}

/// `[[protocols.collateral]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// Position size distributions.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// `[[liquidators]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RawCapital {
    /// USD.
    Usd(f64),
    /// Must be `unlimited`.
    Word(String),
}

/// `[[lenders]]`: a holder of a protocol's shares that runs on a signal.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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

fn default_one_f64() -> f64 {
    1.0
}

/// `[[shocks]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShock {
    /// Step at which the shock applies (1..=steps).
    pub step: u32,
    /// Asset symbol.
    pub asset: String,
    /// Simple return, > −1: `ln F += ln(1 + return)`.
    #[serde(rename = "return")]
    pub ret: f64,
}

impl RawScenario {
    /// Parse TOML text. `label` names the file in error messages.
    pub fn from_toml_str(text: &str, label: &str) -> Result<Self, ScenarioError> {
        let de = toml::Deserializer::parse(text).map_err(|e| parse_error(text, label, &e))?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let field = readable_path(text, e.path());
            let mut err = parse_error(text, label, e.inner());
            if let ScenarioError::Parse { message, .. } = &mut err
                && !field.is_empty()
            {
                *message = format!("{field}: {message}");
            }
            err
        })
    }
}

/// A serde path as the validator names fields: array entries by their
/// `name`, `symbol` or `asset` where they have one (`protocols.lend.
/// collateral.ETH.max_ltv`), by index otherwise (`positions[3].debt`).
pub(crate) fn readable_path(text: &str, path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let tree: Option<toml::Value> = text.parse::<toml::Table>().ok().map(toml::Value::Table);
    let mut at = tree.as_ref();
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
                at = at.and_then(|v| v.get(key.as_str()));
            }
            Segment::Seq { index } => {
                let item = at.and_then(|v| v.get(*index));
                let label = item.and_then(|v| {
                    ["name", "symbol", "asset"]
                        .iter()
                        .find_map(|k| v.get(*k).and_then(toml::Value::as_str))
                });
                match label {
                    Some(l) => {
                        out.push('.');
                        out.push_str(l);
                    }
                    None => out.push_str(&format!("[{index}]")),
                }
                at = item;
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

/// A TOML error of file `label` as a one-line error with its line number.
pub(crate) fn parse_error(text: &str, label: &str, e: &toml::de::Error) -> ScenarioError {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
        .unwrap_or(1);
    ScenarioError::Parse {
        file: label.to_string(),
        line,
        message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
    }
}
