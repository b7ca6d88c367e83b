//! `[[cdps]]` as written (docs/model.md §17): a CDP stablecoin, its vault
//! types, its auctions, its keepers and its vaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::mechanism::oracle::raw::RawOracle;
use crate::scenario::population::{RawHealthDist, RawSizeDist};

/// A CDP stablecoin system (Maker-style).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCdp {
    /// Unique name.
    pub name: String,
    /// The stablecoin's asset symbol (keepers buy it in its main venue, if
    /// it has one, to bid).
    pub stablecoin: String,
    /// `english` (Liquidations 1.2: flip) or `dutch` (Liquidations 2.0:
    /// clip).
    pub auction: AuctionDesign,
    /// The price feed: `direct` or `delayed` (Maker's OSM), read from
    /// `fundamental` or `pool` (default: delayed by one hour, fundamental).
    #[serde(default = "default_oracle")]
    pub oracle: RawOracle,
    /// Surplus buffer at step 0, in stablecoin (the vow's `Joy`).
    #[serde(default)]
    pub surplus: f64,
    /// Most stablecoin (tabs) in auctions at once over all vault types
    /// (dog's `Hole`; default unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hole: Option<f64>,
    /// Hours confiscated debt waits before surplus may cancel it (vow's
    /// `wait`; default 0).
    #[serde(default)]
    pub wait_hours: f64,
    /// Stablecoin raised by one debt auction (vow's `sump`; default 50,000).
    #[serde(default = "default_sump")]
    pub debt_auction_lot: f64,
    /// The governance token's price, USD, at which debt auctions mint it
    /// (default 1,000).
    #[serde(default = "default_gov_price")]
    pub gov_token_price: f64,
    /// Vault types, by collateral asset symbol.
    pub collateral: BTreeMap<String, RawIlk>,
    /// Dutch auction settings (with `auction = "dutch"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dutch: Option<RawClip>,
    /// English auction settings (with `auction = "english"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub english: Option<RawFlip>,
    /// Keepers, in priority order.
    #[serde(default)]
    pub keepers: Vec<RawKeeper>,
    /// Explicit vaults.
    #[serde(default)]
    pub vaults: Vec<RawVault>,
    /// A vault book snapshot: CSV (header `collateral,units,debt`) or
    /// Parquet with those columns, one row a vault, resolved beside the
    /// scenario file. Its vaults follow the explicit ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vaults_file: Option<String>,
    /// Generated vaults.
    #[serde(default)]
    pub vault_populations: Vec<RawVaultPopulation>,
    /// A peg stability module: swaps another asset for the stablecoin at
    /// par less a fee (makerdao/dss-psm `psm.sol`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psm: Option<RawPsm>,
    /// Vault owners who repay when their vault nears liquidation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners: Option<RawOwners>,
}

/// `[cdps.owners]`: vault owners who buy the stablecoin and repay when
/// their vault's collateral ratio, at the market, nears the liquidation
/// ratio.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOwners {
    /// Share of vaults whose owners act, drawn per vault from a seed
    /// stream of their own (default 1: all).
    #[serde(default = "default_one")]
    pub share: f64,
    /// Collateral ratio ÷ liquidation ratio below which an owner repays
    /// (above 1, e.g. 1.15).
    pub repay_below: f64,
    /// Collateral ratio ÷ liquidation ratio an owner repays up to (above
    /// `repay_below`).
    pub repay_to: f64,
    /// Probability an owner's transaction lands in a step (default 1).
    #[serde(default = "default_one")]
    pub inclusion: f64,
}

fn default_one() -> f64 {
    1.0
}

/// `[cdps.psm]`: a peg stability module (dss-psm's `psm.sol`).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPsm {
    /// The asset it swaps for the stablecoin at par (`gem`, e.g. USDC).
    /// The stablecoin's main venue must be a `STABLECOIN/GEM` pool.
    pub gem: String,
    /// Fee on selling gem for stablecoin (`tin`; default 0).
    #[serde(default)]
    pub tin: f64,
    /// Fee on buying gem with stablecoin (`tout`; default 0).
    #[serde(default)]
    pub tout: f64,
    /// Most stablecoin minted against gem (its vault type's `line`;
    /// default unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debt_ceiling: Option<f64>,
    /// Gem held at step 0, and so stablecoin minted against it (default 0).
    #[serde(default)]
    pub reserve: f64,
}

/// Which auction liquidates vaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuctionDesign {
    /// Rising bids, then a falling lot (makerdao/dss `flip.sol`).
    English,
    /// A falling price, partial takes (makerdao/dss `clip.sol`).
    Dutch,
}

/// A vault type (Maker's `ilk`).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIlk {
    /// Collateral value ÷ debt below which a vault is liquidated (`mat`).
    pub liquidation_ratio: f64,
    /// Annual stability fee, compounded (jug's `duty`; default 0).
    #[serde(default)]
    pub stability_fee: f64,
    /// Most debt of this type, stablecoin (vat's `line`; default unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debt_ceiling: Option<f64>,
    /// Smallest debt of a vault or an auction, stablecoin (`dust`;
    /// default 0).
    #[serde(default)]
    pub dust: f64,
    /// Liquidation penalty: an auction raises the debt × (1 + penalty)
    /// (`chop`; default 0.13).
    #[serde(default = "default_penalty")]
    pub penalty: f64,
    /// Most stablecoin in this type's auctions at once (dog's `hole`;
    /// default unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hole: Option<f64>,
}

/// Dutch auction settings (clip.sol and abaci.sol).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawClip {
    /// Starting price ÷ oracle price (`buf`; default 1.2).
    #[serde(default = "default_buf")]
    pub buf: f64,
    /// `linear`, `stairstep` or `exponential` (default stairstep).
    #[serde(default)]
    pub curve: RawCurve,
    /// Linear: hours to reach 0 (`tau`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tau_hours: Option<f64>,
    /// Stairstep and exponential: hours per step of the curve (`step`;
    /// default 90 s, 0.025 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_hours: Option<f64>,
    /// Stairstep and exponential: price factor per step (`cut`; default
    /// 0.99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<f64>,
    /// Hours after which an auction must be reset (`tail`; default 2).
    #[serde(default = "default_tail")]
    pub tail_hours: f64,
    /// Price ÷ starting price below which it must be reset (`cusp`;
    /// default 0.4).
    #[serde(default = "default_cusp")]
    pub cusp: f64,
}

impl Default for RawClip {
    fn default() -> Self {
        RawClip {
            buf: default_buf(),
            curve: RawCurve::default(),
            tau_hours: None,
            step_hours: None,
            cut: None,
            tail_hours: default_tail(),
            cusp: default_cusp(),
        }
    }
}

/// A Dutch auction's price curve.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RawCurve {
    /// Falls linearly to 0 over `tau_hours` (`LinearDecrease`).
    Linear,
    /// Multiplied by `cut` every whole `step_hours`
    /// (`StairstepExponentialDecrease`).
    #[default]
    Stairstep,
    /// Multiplied by `cut` per `step_hours`, continuously
    /// (`ExponentialDecrease`).
    Exponential,
}

/// English auction settings (flip.sol).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFlip {
    /// Smallest relative raise of a bid (or fall of a lot): a bid must be
    /// at least (1 + beg) × the last (default 0.05).
    #[serde(default = "default_beg")]
    pub beg: f64,
    /// Hours a bid stands before the auction can be settled (`ttl`;
    /// default 3).
    #[serde(default = "default_ttl")]
    pub ttl_hours: f64,
    /// Hours an auction lasts at most (`tau`; default 48).
    #[serde(default = "default_flip_tau")]
    pub tau_hours: f64,
}

impl Default for RawFlip {
    fn default() -> Self {
        RawFlip {
            beg: default_beg(),
            ttl_hours: default_ttl(),
            tau_hours: default_flip_tau(),
        }
    }
}

/// A keeper: bids in the auctions with capital, pays gas, and gets its
/// transactions in only with some probability each step.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKeeper {
    /// Name.
    pub name: String,
    /// USD it can spend buying the stablecoin to bid.
    pub capital_usd: f64,
    /// Smallest profit after gas it acts for, USD (default 0).
    #[serde(default)]
    pub min_profit_usd: f64,
    /// Probability its transactions land in a step (default 1).
    #[serde(default = "default_one")]
    pub inclusion: f64,
    /// English auctions: `value` (bids what the lot is worth to it) or
    /// `opportunist` (opens an auction nobody bid on with the smallest bid,
    /// as the keepers that won lots for 0 on 12 March 2020; bids its value
    /// when outbid). Default `value`.
    #[serde(default)]
    pub strategy: KeeperStrategy,
}

/// How a keeper bids in an English auction.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum KeeperStrategy {
    /// Bid what the lot is worth, less gas and the profit it wants.
    #[default]
    Value,
    /// Open an unbid auction with the smallest bid; otherwise as `value`.
    Opportunist,
}

/// `[[cdps.vaults]]`: one vault.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVault {
    /// Collateral asset symbol (its vault type).
    pub collateral: String,
    /// Collateral units.
    pub units: f64,
    /// Debt, stablecoin.
    pub debt: f64,
}

/// `[[cdps.vault_populations]]`: vaults drawn from the seed.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVaultPopulation {
    /// Collateral asset symbol.
    pub collateral: String,
    /// Number of vaults.
    pub count: u32,
    /// Collateral value in USD at step 0.
    pub size: RawSizeDist,
    /// Collateral ratio ÷ liquidation ratio at step 0 (1 is the edge).
    pub health: RawHealthDist,
}

fn default_oracle() -> RawOracle {
    RawOracle {
        kind: crate::mechanism::oracle::raw::OracleKind::Delayed,
        hop_hours: Some(1.0),
        ..RawOracle::default()
    }
}

fn default_sump() -> f64 {
    50_000.0
}

fn default_gov_price() -> f64 {
    1_000.0
}

fn default_penalty() -> f64 {
    0.13
}

fn default_buf() -> f64 {
    1.2
}

fn default_tail() -> f64 {
    2.0
}

fn default_cusp() -> f64 {
    0.4
}

fn default_beg() -> f64 {
    0.05
}

fn default_ttl() -> f64 {
    3.0
}

fn default_flip_tau() -> f64 {
    48.0
}
