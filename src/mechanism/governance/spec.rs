//! `[[governance]]` validated (docs/model.md §18). Each change is applied
//! to the scenario as written (`apply`), in step order (file order within
//! a step), and the scenario so changed is validated whole against the
//! same book (`scenario::validated`), so a change is refused exactly when
//! a scenario written with the new value would be. What each mechanism
//! must adopt is then taken from the difference between the scenario
//! before and after the change.

use crate::error::ScenarioError;
use crate::mechanism::cdp::spec::IlkSpec;
use crate::mechanism::governance::raw::RawChange;
use crate::mechanism::lending::governed::Revision;
use crate::mechanism::perp::spec::PerpSpec;
use crate::scenario::fields;
use crate::scenario::raw::RawScenario;

/// Every change of a scenario, in the order they take effect.
#[derive(Debug, Clone, Default)]
pub struct GovernanceSpec {
    /// Sorted by step; within a step, in file order.
    pub changes: Vec<Change>,
}

impl GovernanceSpec {
    /// Whether any change touches the lending markets.
    pub fn governs_lending(&self) -> bool {
        self.changes.iter().any(|c| c.lending.is_some())
    }
}

/// One `[[governance]]` entry as validated.
#[derive(Debug, Clone)]
pub struct Change {
    /// Step at whose start it takes effect.
    pub step: u32,
    /// Its entry in the file (`governance[i]`).
    pub entry: usize,
    /// The fields it sets, as `parameters.parquet` writes them.
    pub rows: Vec<FieldChange>,
    /// What the lending markets adopt (None: they are untouched).
    pub lending: Option<Revision>,
    /// The perp markets' specs after it (None: untouched).
    pub perps: Option<Vec<PerpSpec>>,
    /// Each CDP's vault types and `hole` after it (None: untouched).
    pub cdps: Option<Vec<(Vec<IlkSpec>, f64)>>,
}

/// One field's change.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// The protocol, market or CDP it belongs to (`aave-like`).
    pub target: String,
    /// The rest of its path (`collateral.ETH.liquidation_threshold`).
    pub field: String,
    /// Value before.
    pub old: f64,
    /// Value after.
    pub new: f64,
}

/// The fields that may change during a run, as path patterns (`*` is any
/// one segment). Lending's thresholds, bonuses and LTVs take effect on
/// open positions at once (§18).
pub const GOVERNABLE: &[&str] = &[
    "protocols.*.close_factor",
    "protocols.*.full_liquidation_hf",
    "protocols.*.collateral.*.liquidation_threshold",
    "protocols.*.collateral.*.liquidation_bonus",
    "protocols.*.collateral.*.max_ltv",
    "protocols.*.emode.liquidation_threshold",
    "protocols.*.emode.liquidation_bonus",
    "protocols.*.emode.max_ltv",
    "protocols.*.supply.rate.base",
    "protocols.*.supply.rate.slope1",
    "protocols.*.supply.rate.kink",
    "protocols.*.supply.rate.slope2",
    "protocols.*.supply.rate.reserve_factor",
    "perps.*.maintenance_margin",
    "perps.*.taker_fee",
    "perps.*.liquidation_fee",
    "cdps.*.hole",
    "cdps.*.collateral.*.liquidation_ratio",
    "cdps.*.collateral.*.stability_fee",
    "cdps.*.collateral.*.dust",
    "cdps.*.collateral.*.penalty",
    "cdps.*.collateral.*.hole",
];

fn governable(path: &str) -> bool {
    let segs: Vec<&str> = path.split('.').collect();
    GOVERNABLE.iter().any(|pat| {
        let p: Vec<&str> = pat.split('.').collect();
        p.len() == segs.len() && p.iter().zip(&segs).all(|(a, b)| *a == "*" || a == b)
    })
}

/// The entries of `raw` in the order they take effect: by step, then in
/// file order; each checked on its own (a step within the run, something
/// set).
pub fn in_order(raw: &[RawChange], steps: u32) -> Result<Vec<usize>, ScenarioError> {
    for (i, c) in raw.iter().enumerate() {
        let at = format!("governance[{i}]");
        if c.step == 0 || c.step > steps {
            return Err(ScenarioError::invalid(
                format!("{at}.step"),
                format!(
                    "{} is outside the run: changes take effect at steps 1 to {steps}",
                    c.step
                ),
            ));
        }
        if c.set.is_empty() {
            return Err(ScenarioError::invalid(format!("{at}.set"), "sets nothing"));
        }
    }
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by_key(|&i| raw[i].step);
    Ok(order)
}

/// The scenario as written with entry `i`'s values set (its governance
/// and the policy for unhealthy positions are the caller's), and the rows
/// it writes. The result still has to be validated whole.
pub fn apply(
    current: &RawScenario,
    c: &RawChange,
    i: usize,
) -> Result<(RawScenario, Vec<FieldChange>), ScenarioError> {
    let at = format!("governance[{i}]");
    // TOML integers are i64: the seed (a u64) goes around the value.
    let mut bare = current.clone();
    bare.simulation.seed = 0;
    let mut value =
        toml::Value::try_from(&bare).map_err(|e| ScenarioError::invalid(&at, e.to_string()))?;
    let mut rows = Vec::with_capacity(c.set.len());
    for (path, &new) in &c.set {
        let field = format!("{at}.set.\"{path}\"");
        if !governable(path) {
            return Err(ScenarioError::invalid(
                field,
                format!(
                    "cannot change during a run; these can: {}",
                    GOVERNABLE.join(", ")
                ),
            ));
        }
        let leaf =
            fields::lookup(&mut value, path).map_err(|p| ScenarioError::invalid(&field, p))?;
        let old = leaf
            .as_float()
            .or_else(|| leaf.as_integer().map(|n| n as f64))
            .ok_or_else(|| ScenarioError::invalid(&field, "is not a number"))?;
        *leaf = toml::Value::Float(new);
        let (target, rest) = split_target(path);
        rows.push(FieldChange {
            target,
            field: rest,
            old,
            new,
        });
    }
    let mut next: RawScenario = value
        .try_into()
        .map_err(|e: toml::de::Error| ScenarioError::invalid(&at, e.message().to_string()))?;
    next.simulation.seed = current.simulation.seed;
    Ok((next, rows))
}

/// `protocols.aave-like.collateral.ETH.liquidation_threshold` →
/// (`aave-like`, `collateral.ETH.liquidation_threshold`).
fn split_target(path: &str) -> (String, String) {
    let mut it = path.splitn(3, '.');
    let _section = it.next();
    let target = it.next().unwrap_or_default().to_string();
    (target, it.next().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn governable_fields_match_their_patterns_only() {
        assert!(governable(
            "protocols.a.collateral.ETH.liquidation_threshold"
        ));
        assert!(governable("protocols.a.close_factor"));
        assert!(governable("protocols.0.supply.rate.slope2"));
        assert!(!governable("protocols.a.collateral.ETH.debt_ceiling_usd"));
        assert!(!governable("protocols.a.collateral.ETH"));
        assert!(!governable(
            "protocols.a.collateral.ETH.liquidation_threshold.x"
        ));
        assert!(!governable("pools.ETH.fee"));
        assert!(!governable("protocols.a.supply.deposits"));
    }

    #[test]
    fn a_path_splits_into_its_target_and_field() {
        assert_eq!(
            split_target("protocols.aave-like.collateral.ETH.liquidation_threshold"),
            (
                "aave-like".to_string(),
                "collateral.ETH.liquidation_threshold".to_string()
            )
        );
    }
}
