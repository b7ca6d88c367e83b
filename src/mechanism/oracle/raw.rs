//! A protocol's `oracle = { … }` as written (docs/model.md §4).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Oracle settings of a protocol.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOracle {
    /// `fundamental` or `pool`.
    #[serde(default)]
    pub source: OracleSource,
    /// Read the source as it was this many steps ago.
    #[serde(default)]
    pub lag_steps: u32,
    /// `direct` (the source itself, the default) or `push` (a feed that
    /// publishes on deviation or heartbeat, Chainlink-style).
    #[serde(default, skip_serializing_if = "OracleKind::is_direct")]
    pub kind: OracleKind,
    /// Push: relative move from the answer on chain that sends a report
    /// (default 0.005).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deviation: Option<f64>,
    /// Push: hours after the last update that send a report (default 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_hours: Option<f64>,
    /// Push: steps between a report and its answer on chain (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_steps: Option<u32>,
    /// TWAP and anchored: the window, hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_hours: Option<f64>,
    /// TWAP and anchored: `arithmetic` (Uniswap v2, the default) or
    /// `geometric` (Uniswap v3's mean tick) mean of the prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<TwapMean>,
    /// Delayed: the hop, hours (Maker's OSM: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_hours: Option<f64>,
    /// Anchored: the largest relative gap between the source and the
    /// anchor (a TWAP of the pool) that is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// A guard that pauses the protocol's liquidations while its oracle is
    /// stale or far from the market (any kind but direct).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<RawGuard>,
    /// Per asset (by symbol), the venues read instead of `source`: pool
    /// names, `fundamental`, or `fundamental:SYMBOL` (another asset's, as
    /// a bridged token priced as what it bridges); several are read as
    /// their median.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub venues: BTreeMap<String, Vec<String>>,
    /// Anchored: what the anchor averages, `fundamental` or `pool` (each
    /// asset's main venue); default the oracle's `source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor_source: Option<OracleSource>,
    /// Push: settings of one asset's feed where they differ from the
    /// protocol's (by asset symbol).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub assets: BTreeMap<String, RawFeedAsset>,
}

/// `guard = { … }`: when liquidations pause, and how they resume.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGuard {
    /// Pause while an asset's price in use is further than this from its
    /// fundamental price, relative to the fundamental.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_deviation: Option<f64>,
    /// Pause while an asset's price in use was last updated longer ago than
    /// this, hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_staleness_hours: Option<f64>,
    /// Hours after the alarm ends before liquidations resume in full
    /// (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_hours: Option<f64>,
    /// While paused, positions below this health factor are still
    /// liquidated (default 0.95, Aave's threshold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidate_below_hf: Option<f64>,
}

/// One asset's push feed settings, each defaulting to the protocol's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFeedAsset {
    /// Relative deviation that sends a report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deviation: Option<f64>,
    /// Heartbeat, hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_hours: Option<f64>,
    /// Smallest answer the feed publishes (a report below it is refused
    /// and the feed keeps its last answer); default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_answer: Option<f64>,
    /// Largest answer the feed publishes; default unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_answer: Option<f64>,
}

/// What an oracle does with its source.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OracleKind {
    /// The source's price at every read.
    #[default]
    Direct,
    /// A push feed (deviation, heartbeat, latency, answer range).
    Push,
    /// A time-weighted average of the source over a window.
    Twap,
    /// The source's price of one hop ago (Maker's OSM).
    Delayed,
    /// The source, accepted only within a tolerance of a TWAP anchor
    /// (Compound's UniswapAnchoredView).
    Anchored,
}

/// How a TWAP averages.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TwapMean {
    /// Arithmetic mean of the prices (Uniswap v2's cumulative price).
    #[default]
    Arithmetic,
    /// Geometric mean (Uniswap v3's arithmetic mean of the tick).
    Geometric,
}

/// Where an oracle reads its price.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OracleSource {
    /// The asset's fundamental price F.
    #[default]
    Fundamental,
    /// The spot price of the asset's pool (F for an asset without a pool).
    Pool,
}

impl OracleKind {
    /// Whether this is the default, `direct`.
    pub fn is_direct(&self) -> bool {
        *self == OracleKind::Direct
    }
}
