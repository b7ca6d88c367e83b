//! The pools of a scenario and the LP tokens on them, validated
//! (docs/model.md §3, §12).

use crate::error::ScenarioError;
use std::collections::HashSet;

use crate::market::spec::{Asset, LpToken, PoolSpec, Symbols};
use crate::scenario::check::{at_most, finite, positive, unit_closed};
use crate::scenario::raw::{RawCurve, RawScenario};

/// Names an oracle's `venues` give sources that are not pools.
pub const RESERVED_NAMES: [&str; 2] = ["fundamental", "pool"];

/// The pools of a scenario, and each asset's main venue (its first pool).
pub(crate) fn pools_from_raw(
    raw: &RawScenario,
    assets: &[Asset],
) -> Result<(Vec<PoolSpec>, Vec<Option<usize>>), ScenarioError> {
    let symbols = Symbols::of(raw);
    let lookup = |field: &str, symbol: &str| symbols.index(field, symbol);
    let (mut names, mut bases) = (HashSet::new(), HashSet::new());
    // Pools. An asset's first pool is its main venue.
    let mut pools: Vec<PoolSpec> = Vec::new();
    let mut pool_of: Vec<Option<usize>> = vec![None; assets.len()];
    for (i, p) in raw.pools.iter().enumerate() {
        // Addressed the way sweep axes and edits find it: by name, by base
        // for an unnamed asset's first pool, by index otherwise.
        let field = match &p.name {
            Some(name) => format!("pools.{name}"),
            None if !bases.contains(p.base.as_str()) => {
                format!("pools.{}", p.base)
            }
            None => format!("pools.{i}"),
        };
        bases.insert(p.base.as_str());
        let base = lookup(&format!("{field}.base"), &p.base)?;
        let quote = lookup(&format!("{field}.quote"), &p.quote)?;
        if base == quote {
            return Err(ScenarioError::invalid(
                format!("{field}.quote"),
                "must differ from the base",
            ));
        }
        let name = p
            .name
            .clone()
            .unwrap_or_else(|| format!("{}/{}", p.base, p.quote));
        if name.trim().is_empty() {
            return Err(ScenarioError::invalid(
                format!("{field}.name"),
                "must not be empty",
            ));
        }
        if RESERVED_NAMES.contains(&name.as_str()) {
            return Err(ScenarioError::invalid(
                format!("{field}.name"),
                format!("`{name}` names an oracle source, not a pool"),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(ScenarioError::invalid(
                format!("{field}.name"),
                format!("a second pool named `{name}`: give each pool of a pair its own `name`"),
            ));
        }
        positive(&format!("{field}.base_reserve"), p.base_reserve)?;
        at_most(
            &format!("{field}.base_reserve"),
            p.base_reserve * assets[base].initial_price,
            crate::scenario::check::MAX_USD,
            "USD of reserve at the initial price",
        )?;
        finite(&format!("{field}.fee"), p.fee)?;
        if !(0.0..1.0).contains(&p.fee) {
            return Err(ScenarioError::invalid(
                format!("{field}.fee"),
                format!("{} is outside [0, 1)", p.fee),
            ));
        }
        unit_closed(&format!("{field}.impact_persistence"), p.impact_persistence)?;
        let main = pool_of[base].is_none();
        if !main && p.impact_persistence > 0.0 {
            return Err(ScenarioError::invalid(
                format!("{field}.impact_persistence"),
                format!(
                    "only an asset's main venue (its first pool, here `{}`) moves its fundamental",
                    pools[pool_of[base].expect("not main")].name
                ),
            ));
        }
        let arbitrage_usd = match p.arbitrage_usd {
            Some(usd) => positive(&format!("{field}.arbitrage_usd"), usd)?,
            None => f64::INFINITY,
        };
        let impact = match p.curve {
            RawCurve::ConstantProduct => 0.0,
            RawCurve::Exponential { alpha } => {
                positive(&format!("{field}.curve.alpha"), alpha)?;
                at_most(
                    &format!("{field}.curve.alpha"),
                    alpha,
                    100.0,
                    "(e^−100 for the whole depth)",
                )?;
                if p.fee != 0.0 {
                    return Err(ScenarioError::invalid(
                        format!("{field}.fee"),
                        "an exponential venue has no fee (its impact is the cost): set fee = 0",
                    ));
                }
                alpha
            }
        };
        if main {
            pool_of[base] = Some(pools.len());
        }
        pools.push(PoolSpec {
            impact,
            name,
            arbitrage_usd,
            base,
            quote,
            base_reserve: p.base_reserve,
            fee: p.fee,
            impact_persistence: p.impact_persistence,
        });
    }

    Ok((pools, pool_of))
}

/// Each LP token's pool and supply, now that pools are known; LP and
/// receipt tokens are not pooled themselves.
pub(crate) fn lp_tokens_from_raw(
    raw: &RawScenario,
    assets: &mut [Asset],
    pools: &[PoolSpec],
) -> Result<(), ScenarioError> {
    for (a, raw_asset) in raw.assets.iter().enumerate() {
        let Some(name) = &raw_asset.lp_of else {
            continue;
        };
        let field = format!("assets.{}.lp_of", raw_asset.symbol);
        let pool = pools.iter().position(|p| p.name == *name).ok_or_else(|| {
            ScenarioError::invalid(
                &field,
                format!("no pool `{name}` (a pool's name is `BASE/QUOTE` unless given)"),
            )
        })?;
        let p = &pools[pool];
        if p.impact > 0.0 {
            return Err(ScenarioError::invalid(
                &field,
                format!(
                    "`{name}` is an exponential venue: LP tokens are of constant-product pools"
                ),
            ));
        }
        // Pools start at the fundamental ratio: both legs are worth the same.
        let value = 2.0 * p.base_reserve * assets[p.base].initial_price;
        assets[a].lp_of = Some(LpToken {
            pool,
            supply: value / assets[a].initial_price,
        });
    }
    for pool in pools {
        for a in [pool.base, pool.quote] {
            if raw.assets[a].lp_of.is_some() {
                return Err(ScenarioError::invalid(
                    format!("pools.{}", pool.name),
                    format!(
                        "`{}` is an LP token: LP tokens are not pooled",
                        assets[a].symbol
                    ),
                ));
            }
            if raw.assets[a].receipt_of.is_some() {
                return Err(ScenarioError::invalid(
                    format!("pools.{}", pool.name),
                    format!(
                        "`{}` is a receipt token: receipts are redeemed at their issuer, not pooled",
                        assets[a].symbol
                    ),
                ));
            }
        }
    }

    Ok(())
}
