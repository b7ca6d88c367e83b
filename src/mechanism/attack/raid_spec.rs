//! Raiders as validated (docs/model.md §16, "Pushing a price down").

use crate::error::ScenarioError;
use crate::market::spec::PoolSpec;
use crate::mechanism::attack::raw::RawRaider;
use crate::mechanism::attack::spec::MAX_PUMPS;
use crate::mechanism::lending::spec::{LendingSpec, LiquidatorSpec};
use crate::scenario::check::{finite, non_negative, positive};

/// One raider.
#[derive(Debug, Clone, PartialEq)]
pub struct RaiderSpec {
    /// Name.
    pub name: String,
    /// The lending protocol it raids.
    pub protocol: usize,
    /// The asset it sells.
    pub asset: usize,
    /// The pool it sells in.
    pub venue: usize,
    /// Base units it can sell over a raid.
    pub inventory_units: f64,
    /// Its liquidation desk (index into the liquidators: 0).
    pub desk: usize,
    /// Multiples of F it considers, descending (the shallowest first).
    pub dumps: Vec<f64>,
    /// Most steps of holding before the liquidations.
    pub max_hold_steps: u32,
    /// First step at which it may start.
    pub from_step: u32,
    /// Last step at which it may start.
    pub until_step: u32,
    /// Forecast profit needed to start, USD.
    pub min_profit_usd: f64,
}

/// What raiders are checked against: the validated parts of a scenario.
pub(crate) struct RaidTerms<'a> {
    /// Asset symbols in scenario order.
    pub symbols: &'a [String],
    /// Pools, and each asset's main venue.
    pub pools: &'a [PoolSpec],
    pub pool_of: &'a [Option<usize>],
    /// Lending protocols.
    pub protocols: &'a [LendingSpec],
    /// Liquidators in priority order.
    pub liquidators: &'a [LiquidatorSpec],
    /// Steps of the run.
    pub steps: u32,
}

/// Validate the `[[raiders]]` of a scenario.
pub(crate) fn raiders_from_raw(
    raw: &[RawRaider],
    terms: &RaidTerms<'_>,
) -> Result<Vec<RaiderSpec>, ScenarioError> {
    if raw.len() > 1 {
        return Err(ScenarioError::invalid(
            "raiders",
            format!(
                "{} raiders: give at most one (its desk must come first among the liquidators)",
                raw.len()
            ),
        ));
    }
    raw.iter().map(|r| raider_from_raw(r, terms)).collect()
}

fn raider_from_raw(r: &RawRaider, terms: &RaidTerms<'_>) -> Result<RaiderSpec, ScenarioError> {
    let field = |f: &str| format!("raiders.{}.{f}", r.name);
    if r.name.trim().is_empty() {
        return Err(ScenarioError::invalid("raiders.name", "must not be empty"));
    }
    let protocol = terms
        .protocols
        .iter()
        .position(|p| p.name == r.protocol)
        .ok_or_else(|| {
            ScenarioError::invalid(
                field("protocol"),
                format!("no lending protocol `{}`", r.protocol),
            )
        })?;
    if terms.protocols[protocol].forced_sale {
        return Err(ScenarioError::invalid(
            field("protocol"),
            format!(
                "`{}` sells insolvent positions out itself (liquidation = \"forced_sale\"): no desk takes its liquidations",
                r.protocol
            ),
        ));
    }
    let asset = terms
        .symbols
        .iter()
        .position(|s| *s == r.asset)
        .ok_or_else(|| {
            ScenarioError::invalid(field("asset"), format!("unknown asset `{}`", r.asset))
        })?;
    if terms.protocols[protocol].collateral[asset].is_none() {
        return Err(ScenarioError::invalid(
            field("asset"),
            format!("`{}` is not collateral in `{}`", r.asset, r.protocol),
        ));
    }
    let venue = match &r.venue {
        Some(name) => {
            let v = terms
                .pools
                .iter()
                .position(|p| p.name == *name)
                .ok_or_else(|| {
                    ScenarioError::invalid(field("venue"), format!("no pool `{name}`"))
                })?;
            if terms.pools[v].base != asset {
                return Err(ScenarioError::invalid(
                    field("venue"),
                    format!(
                        "`{name}` trades {}, not {}",
                        terms.symbols[terms.pools[v].base], r.asset
                    ),
                ));
            }
            v
        }
        None => terms.pool_of[asset].ok_or_else(|| {
            ScenarioError::invalid(
                field("venue"),
                format!("{} has no pool to sell in", r.asset),
            )
        })?,
    };
    let inventory_units = positive(&field("inventory_units"), r.inventory_units)?;
    match terms
        .liquidators
        .iter()
        .position(|l| l.name == r.liquidator)
    {
        Some(0) => {}
        Some(_) => {
            return Err(ScenarioError::invalid(
                field("liquidator"),
                format!(
                    "`{}` must be the first of [[liquidators]]: the raid is planned on its desk taking the liquidations it causes",
                    r.liquidator
                ),
            ));
        }
        None => {
            return Err(ScenarioError::invalid(
                field("liquidator"),
                format!("no liquidator `{}`", r.liquidator),
            ));
        }
    }
    let dumps = dumps_from_raw(&field("dumps"), &r.dumps)?;
    // The raider buys back in the step after the liquidations.
    let last = terms.steps.saturating_sub(1);
    let until_step = r.until_step.unwrap_or(last);
    if r.from_step == 0 || r.from_step > until_step || until_step > last {
        return Err(ScenarioError::invalid(
            field("from_step"),
            format!(
                "{}..={until_step} must lie in 1..={last} (it buys back in the step after the liquidations)",
                r.from_step
            ),
        ));
    }
    if r.max_hold_steps > 10_000 {
        return Err(ScenarioError::invalid(
            field("max_hold_steps"),
            format!("{} is above 10,000", r.max_hold_steps),
        ));
    }
    Ok(RaiderSpec {
        name: r.name.clone(),
        protocol,
        asset,
        venue,
        inventory_units,
        desk: 0,
        dumps,
        max_hold_steps: r.max_hold_steps,
        from_step: r.from_step,
        until_step,
        min_profit_usd: non_negative(&field("min_profit_usd"), r.min_profit_usd)?,
    })
}

/// The dump multiples, checked, descending and without repeats.
fn dumps_from_raw(field: &str, raw: &[f64]) -> Result<Vec<f64>, ScenarioError> {
    if raw.is_empty() || raw.len() > MAX_PUMPS {
        return Err(ScenarioError::invalid(
            field,
            format!("lists {} multiples: give 1 to {MAX_PUMPS}", raw.len()),
        ));
    }
    let mut dumps = Vec::with_capacity(raw.len());
    for &m in raw {
        finite(field, m)?;
        if m <= 0.0 || m >= 1.0 {
            return Err(ScenarioError::invalid(
                field,
                format!("{m} must lie strictly between 0 and 1 (a multiple of the fundamental)"),
            ));
        }
        dumps.push(m);
    }
    dumps.sort_by(|a, b| b.total_cmp(a));
    dumps.dedup();
    Ok(dumps)
}
