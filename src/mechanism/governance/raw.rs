//! `[[governance]]` as written (docs/model.md §18): parameter changes
//! during a run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
