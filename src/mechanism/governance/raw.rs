//! `[[governance]]`, `[[proposals]]` and `[[risk_agents]]` as written
//! (docs/model.md §18): parameter changes during a run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Governed fields `charts/parameters.png` draws at most (one panel each).
pub const MAX_PANELS: usize = 8;

/// A scheduled parameter change: at the start of `step`, on every path,
/// each field in `set` takes its new value.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChange {
    /// Step at whose start the change takes effect (1 to the last step).
    pub step: u32,
    /// New values, by the dotted path sweep axes use, e.g.
    /// `"protocols.aave-like.collateral.ETH.liquidation_threshold" = 0.8`.
    pub set: BTreeMap<String, f64>,
}

/// What a proposal or a risk agent watches, observed at the end of every
/// step.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawSignal {
    /// 1 − F / (the highest F so far) of an asset's fundamental.
    Drawdown {
        /// Asset symbol.
        asset: String,
    },
    /// EWMA realised volatility of an asset's fundamental, annualised:
    /// `v ← λ·v + (1 − λ)·r² / dt_years` on each step's log return r.
    Volatility {
        /// Asset symbol.
        asset: String,
        /// Decay λ in [0, 1) (default 0.94, RiskMetrics' daily value).
        #[serde(default)]
        lambda: Option<f64>,
        /// Volatility assumed at step 0 (default 0).
        #[serde(default)]
        start: Option<f64>,
    },
    /// A lending protocol's utilisation (borrowed ÷ (borrowed + cash);
    /// 0 without a supply side).
    Utilisation {
        /// Protocol name.
        protocol: String,
    },
    /// A lending protocol's bad debt written off so far, USD.
    BadDebt {
        /// Protocol name.
        protocol: String,
    },
    /// |oracle − F| / F for one asset as a lending protocol's oracle reads
    /// it at the end of the step.
    OracleDeviation {
        /// Protocol name.
        protocol: String,
        /// Asset symbol.
        asset: String,
    },
}

/// A governance proposal: raised the first time its signal reaches
/// `above`, it passes with `pass_probability` and executes `delay_hours`
/// later.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProposal {
    /// Name, for outputs (default `proposal-i`).
    #[serde(default)]
    pub name: Option<String>,
    /// What raises it.
    pub signal: RawSignal,
    /// It is raised at the end of the first step whose signal is at least
    /// this.
    pub above: f64,
    /// Discussion, vote and timelock together, hours (≥ 0).
    pub delay_hours: f64,
    /// Chance the vote passes (default 1), drawn once per path.
    #[serde(default)]
    pub pass_probability: Option<f64>,
    /// Whether it is cancelled when its signal is below `above` when it
    /// is due (default false: a queued change executes regardless, as a
    /// timelock does).
    #[serde(default)]
    pub requires_signal: bool,
    /// New values, as `[[governance]]` writes them.
    pub set: BTreeMap<String, f64>,
}

/// An autonomous risk agent: every step it moves its fields from the
/// scenario's values towards `set` as its signal goes from `from` to
/// `to`, within caps.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAgent {
    /// Name, for outputs (default `agent-i`).
    #[serde(default)]
    pub name: Option<String>,
    /// What it reads.
    pub signal: RawSignal,
    /// Signal at or beyond which it wants the scenario's own values.
    pub from: f64,
    /// Signal at or beyond which it wants `set` in full.
    pub to: f64,
    /// Values at full stress, as `[[governance]]` writes them.
    pub set: BTreeMap<String, f64>,
    /// Levels between the two (default 20): its fields move in steps of
    /// 1/levels of the way.
    #[serde(default)]
    pub levels: Option<u32>,
    /// Largest move in one step, as a share of the way (default 1).
    #[serde(default)]
    pub max_step: Option<f64>,
    /// Largest total move within any 24 hours, as a share of the way
    /// (default 1).
    #[serde(default)]
    pub max_day: Option<f64>,
}

/// A guardian: pauses a lending protocol's liquidations (or borrowing) for
/// `hours` once its signal reaches `above` (again while it stays there).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGuardian {
    /// Name, for outputs (default `guardian-i`).
    #[serde(default)]
    pub name: Option<String>,
    /// The lending protocol it can pause.
    pub protocol: String,
    /// What it watches.
    pub signal: RawSignal,
    /// It pauses at the start of the step after its signal is at least
    /// this.
    pub above: f64,
    /// How long a pause lasts, hours (> 0), counted again from each step
    /// the signal is still at or above `above`.
    pub hours: f64,
    /// What it pauses: `liquidations`, `borrowing` or both (default
    /// `["liquidations"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pauses: Option<Vec<Pausable>>,
}

/// What a guardian can pause (Compound's `seizeGuardianPaused` and
/// `borrowGuardianPaused`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Pausable {
    /// No position of the protocol is liquidated.
    Liquidations,
    /// No account borrows from the protocol.
    Borrowing,
}
