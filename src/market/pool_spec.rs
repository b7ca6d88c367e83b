//! The pools of a scenario and the LP tokens on them, validated
//! (docs/model.md §3, §12).

use crate::error::ScenarioError;
use crate::market::spec::{Asset, LpToken, PoolSpec, asset_index};
use crate::scenario::check::{at_most, finite, positive, unit_closed};
use crate::scenario::raw::RawScenario;

/// The pools of a scenario, and each asset's pool.
pub(crate) fn pools_from_raw(
    raw: &RawScenario,
    assets: &[Asset],
) -> Result<(Vec<PoolSpec>, Vec<Option<usize>>), ScenarioError> {
    let lookup = |field: &str, symbol: &str| asset_index(raw, field, symbol);
    // Pools.
    let mut pools = Vec::new();
    let mut pool_of = vec![None; assets.len()];
    for p in &raw.pools {
        let field = format!("pools.{}", p.base);
        let base = lookup(&format!("{field}.base"), &p.base)?;
        let quote = lookup(&format!("{field}.quote"), &p.quote)?;
        if base == quote {
            return Err(ScenarioError::invalid(
                format!("{field}.quote"),
                "must differ from the base",
            ));
        }
        if pool_of[base].is_some() {
            return Err(ScenarioError::invalid(
                field,
                "a second pool for the same base asset",
            ));
        }
        positive(&format!("{field}.base_reserve"), p.base_reserve)?;
        let base_price = assets
            .iter()
            .find(|a| a.symbol == p.base)
            .map(|a| a.initial_price);
        if let Some(price) = base_price {
            at_most(
                &format!("{field}.base_reserve"),
                p.base_reserve * price,
                crate::scenario::check::MAX_USD,
                "USD of reserve at the initial price",
            )?;
        }
        finite(&format!("{field}.fee"), p.fee)?;
        if !(0.0..1.0).contains(&p.fee) {
            return Err(ScenarioError::invalid(
                format!("{field}.fee"),
                format!("{} is outside [0, 1)", p.fee),
            ));
        }
        unit_closed(&format!("{field}.impact_persistence"), p.impact_persistence)?;
        pool_of[base] = Some(pools.len());
        pools.push(PoolSpec {
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
        let pool = (0..pools.len())
            .find(|&i| {
                format!(
                    "{}/{}",
                    raw.assets[pools[i].base].symbol, raw.assets[pools[i].quote].symbol
                ) == *name
            })
            .ok_or_else(|| {
                ScenarioError::invalid(
                    &field,
                    format!("no pool `{name}` (pools are named BASE/QUOTE)"),
                )
            })?;
        let p = &pools[pool];
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
                    format!("pools.{}", assets[pool.base].symbol),
                    format!(
                        "`{}` is an LP token: LP tokens are not pooled",
                        assets[a].symbol
                    ),
                ));
            }
            if raw.assets[a].receipt_of.is_some() {
                return Err(ScenarioError::invalid(
                    format!("pools.{}", assets[pool.base].symbol),
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
