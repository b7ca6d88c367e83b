//! Bridge halts (docs/model.md §12, "Bridges"): a bridged token is a
//! pegged token whose discount reverts because it can be redeemed through
//! its bridge. A halt stops redemptions for a span of steps: a discount
//! opens when it starts, and δ does not revert until it ends.

use crate::error::ScenarioError;
use crate::market::spec::{Asset, Shocks, asset_index};
use crate::scenario::check::finite;
use crate::scenario::raw::RawScenario;

/// A halt of one bridged token's redemptions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Halt {
    /// The bridged token.
    pub asset: usize,
    /// First step halted.
    pub from_step: u32,
    /// Last step halted.
    pub to_step: u32,
}

impl Halt {
    /// Whether the halt stops `asset`'s reversion at step `t`.
    pub fn stops(&self, asset: usize, t: u32) -> bool {
        self.asset == asset && (self.from_step..=self.to_step).contains(&t)
    }
}

/// The halts of a scenario; each adds its discount, `ln(1 − discount)`, to
/// the token's δ at its first step as a shock (§12: a shock to a pegged
/// token moves its discount).
pub(crate) fn halts_from_raw(
    raw: &RawScenario,
    assets: &[Asset],
    shocks: &mut Shocks,
) -> Result<Vec<Halt>, ScenarioError> {
    let steps = raw.simulation.steps;
    let mut out: Vec<Halt> = Vec::with_capacity(raw.bridge_halts.len());
    for (i, h) in raw.bridge_halts.iter().enumerate() {
        let field = |f: &str| format!("bridge_halts[{i}].{f}");
        let a = asset_index(raw, &field("asset"), &h.asset)?;
        if assets[a].peg.is_none() {
            return Err(ScenarioError::invalid(
                field("asset"),
                format!(
                    "`{}` has no peg: a bridged token is pegged to what it bridges",
                    h.asset
                ),
            ));
        }
        if h.from_step == 0 || h.from_step > h.to_step || h.to_step > steps {
            return Err(ScenarioError::invalid(
                field("from_step"),
                format!("{}..={} must lie in 1..={steps}", h.from_step, h.to_step),
            ));
        }
        if out
            .iter()
            .any(|o| o.asset == a && o.from_step <= h.to_step && h.from_step <= o.to_step)
        {
            return Err(ScenarioError::invalid(
                field("from_step"),
                format!("overlaps another halt of `{}`", h.asset),
            ));
        }
        finite(&field("discount"), h.discount)?;
        if !(0.0..1.0).contains(&h.discount) {
            return Err(ScenarioError::invalid(
                field("discount"),
                format!("{} is outside [0, 1)", h.discount),
            ));
        }
        if h.discount > 0.0 {
            shocks.assets[h.from_step as usize].push((a, (-h.discount).ln_1p()));
        }
        out.push(Halt {
            asset: a,
            from_step: h.from_step,
            to_step: h.to_step,
        });
    }
    Ok(out)
}
