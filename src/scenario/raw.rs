//! The scenario file as written: serde structs that mirror the TOML one to one.
//! The file's frame (`RawScenario`, `[simulation]`) is here; each section
//! sits with what it describes (`market/raw.rs`, `mechanism/*/raw.rs`) and
//! is re-exported here.
//!
//! Defaults are filled in here, so serialising a parsed `RawScenario` gives the
//! *resolved* scenario that the manifest records. Nothing is checked here
//! beyond types and unknown keys; `validated.rs` and the sections' validators
//! do the rest.

use serde::{Deserialize, Serialize};

use crate::error::ScenarioError;
pub use crate::market::raw::*;
pub use crate::mechanism::attack::raw::{RawAttacker, RawRaider};
pub use crate::mechanism::cdp::raw::RawCdp;
pub use crate::mechanism::governance::raw::{
    RawAgent, RawChange, RawGuardian, RawProposal, RawSignal,
};
pub use crate::mechanism::lending::raw::*;
pub use crate::mechanism::options::raw::*;
pub use crate::mechanism::perp::raw::*;
pub use crate::scenario::population::{RawHealthDist, RawSizeDist};

/// A whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
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
    #[serde(default)]
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
    /// Halts of bridges: a bridged token's redemptions stop for a while.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bridge_halts: Vec<RawBridgeHalt>,
    /// Oracle manipulators.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attackers: Vec<RawAttacker>,
    /// Raiders who push a price down to liquidate others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raiders: Vec<RawRaider>,
    /// Parameter changes during the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub governance: Vec<RawChange>,
    /// Governance proposals raised by signals (docs/model.md §18).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposals: Vec<RawProposal>,
    /// Autonomous risk agents (docs/model.md §18).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risk_agents: Vec<RawAgent>,
    /// Guardians who pause liquidations (docs/model.md §18).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guardians: Vec<RawGuardian>,
    /// CDP stablecoins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cdps: Vec<RawCdp>,
    /// A family whose book is drawn per path (docs/model.md §19).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlapping_portfolios: Option<RawOverlapping>,
}

/// `[simulation]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
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

/// The comment lines at the top of a scenario's TOML text, `#` and one
/// space removed, up to the first line that is not a comment; the
/// `#:schema` directive is left out.
pub fn leading_comments(text: &str) -> String {
    let mut lines = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("#:schema") {
            continue;
        }
        match t.strip_prefix('#') {
            Some(rest) => lines.push(rest.strip_prefix(' ').unwrap_or(rest)),
            None if t.is_empty() && lines.is_empty() => continue,
            None => break,
        }
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// `[overlapping_portfolios]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOverlapping {
    /// Holders N (default 1000).
    #[serde(default = "thousand")]
    pub holders: u32,
    /// Assets M (default 1000).
    #[serde(default = "thousand")]
    pub assets: u32,
    /// μ_b: each holder–asset link exists with probability μ_b / M.
    pub mean_degree: f64,
    /// λ: assets ÷ equity; each holder owes 1 − 1/λ on assets of 1.
    pub leverage: f64,
    /// α of the assets' exponential venues (default 1.0536: selling 10%
    /// of an asset's holdings lowers its price by 10%).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Share of N that failed above which a path counts as a contagion
    /// (default 0.05).
    #[serde(default = "default_share")]
    pub contagion_share: f64,
}

fn thousand() -> u32 {
    1000
}

fn default_alpha() -> f64 {
    1.0536
}

fn default_share() -> f64 {
    0.05
}
