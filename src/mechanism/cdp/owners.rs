//! Vault owners who repay (docs/model.md §17). Maker's vault owners could
//! see the price their oracle security module would show an hour later,
//! and the careful ones bought DAI to pay down their debt before it did:
//! on 12 March 2020 that buying helped lift DAI to 1.10
//! (../shared/data/crises.md). Here an owner watches its vault at the
//! collateral's market price and, when the collateral ratio falls below
//! `repay_below` × the liquidation ratio, buys the stablecoin in its main
//! venue and repays down to a ratio of `repay_to` × the liquidation ratio
//! (the whole debt when what would be left is below dust).

use rand::RngExt;

use crate::error::ScenarioError;
use crate::mechanism::cdp::raw::RawOwners;
use crate::montecarlo::seed::{PathRng, owner_rng};
use crate::scenario::check::unit_closed;

/// Vault owners as validated.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnersSpec {
    /// Ratio ÷ liquidation ratio below which an owner repays.
    pub below: f64,
    /// Ratio ÷ liquidation ratio it repays up to.
    pub to: f64,
    /// Probability an owner's transaction lands in a step.
    pub inclusion: f64,
    /// Per vault (in the CDP's vault order): whether its owner acts.
    pub watched: Vec<bool>,
}

/// `[cdps.owners]` of CDP `name` with `vaults` vaults, drawing which
/// owners act from the owners' seed stream.
pub fn owners_from_raw(
    name: &str,
    r: &RawOwners,
    vaults: usize,
    rng: &mut PathRng,
) -> Result<OwnersSpec, ScenarioError> {
    let f = |x: &str| format!("cdps.{name}.owners.{x}");
    let share = unit_closed(&f("share"), r.share)?;
    let inclusion = unit_closed(&f("inclusion"), r.inclusion)?;
    let below = r.repay_below;
    if !(below.is_finite() && below > 1.0) {
        return Err(ScenarioError::invalid(
            f("repay_below"),
            format!("{below} must be above 1 (1 is the liquidation ratio itself)"),
        ));
    }
    let to = r.repay_to;
    if !(to.is_finite() && to > below && to <= 100.0) {
        return Err(ScenarioError::invalid(
            f("repay_to"),
            format!("{to} must be above repay_below ({below}) and at most 100"),
        ));
    }
    let watched = (0..vaults).map(|_| rng.random::<f64>() < share).collect();
    Ok(OwnersSpec {
        below,
        to,
        inclusion,
        watched,
    })
}

/// The validation-time stream that picks the owners who act.
pub fn picking_rng(seed: u64) -> PathRng {
    owner_rng(seed, 0)
}

/// Path `path`'s stream of owners' landing draws.
pub fn path_rng(seed: u64, path: u32) -> PathRng {
    owner_rng(seed, 1 + u64::from(path))
}

/// What an owner who acts repays on a vault owing `debt` whose collateral
/// is worth `value` at the market, under liquidation ratio `mat` and
/// `dust`: nothing while `value ≥ below · mat · debt`; else down to
/// `value / (mat · to)`, or all of it when that would be below dust.
pub fn repayment(o: &OwnersSpec, value: f64, debt: f64, mat: f64, dust: f64) -> Option<f64> {
    if debt <= 0.0 || value >= o.below * mat * debt {
        return None;
    }
    let keep = value / (mat * o.to);
    Some(if keep < dust { debt } else { debt - keep })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners() -> OwnersSpec {
        OwnersSpec {
            below: 1.2,
            to: 1.5,
            inclusion: 1.0,
            watched: Vec::new(),
        }
    }

    /// The picking stream and each path's landing stream are apart.
    #[test]
    fn the_owners_streams_are_apart() {
        let draw = |mut r: PathRng| -> [u64; 4] { std::array::from_fn(|_| r.random()) };
        let pick = draw(picking_rng(7));
        let paths: Vec<[u64; 4]> = (0..4).map(|p| draw(path_rng(7, p))).collect();
        for (p, d) in paths.iter().enumerate() {
            assert_ne!(*d, pick, "path {p}");
            assert!(!paths[..p].contains(d), "path {p}");
        }
    }

    /// Debt 1,000 under a ratio of 1.5: the owner acts below 1,800 of
    /// collateral (1.2 × 1.5 × 1,000), not at it, and repays down to
    /// value / 2.25; all of it when that is below dust.
    #[test]
    fn an_owner_repays_to_its_target_below_its_trigger() {
        let o = owners();
        assert_eq!(repayment(&o, 1800.0, 1000.0, 1.5, 0.0), None);
        let r = repayment(&o, 1799.0, 1000.0, 1.5, 0.0).unwrap();
        assert!((r - (1000.0 - 1799.0 / 2.25)).abs() < 1e-9, "{r}");
        let r = repayment(&o, 900.0, 1000.0, 1.5, 0.0).unwrap();
        assert!((r - 600.0).abs() < 1e-9, "{r}");
        // 400 would be left: below a dust of 401, above one of 400.
        assert_eq!(repayment(&o, 900.0, 1000.0, 1.5, 401.0), Some(1000.0));
        let r = repayment(&o, 900.0, 1000.0, 1.5, 400.0).unwrap();
        assert!((r - 600.0).abs() < 1e-9);
        // Nothing owed, nothing to repay.
        assert_eq!(repayment(&o, 0.0, 0.0, 1.5, 0.0), None);
    }
}
