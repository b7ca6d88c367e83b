//! The lending markets of a scenario, validated (docs/model.md §5,
//! §11, §12): debt asset, collateral parameters, oracle, liquidation
//! rule, supply side, e-mode, isolation, deleveraging.

use super::spec::*;
use crate::error::ScenarioError;
use crate::market::spec::{Asset, asset_index};
use crate::scenario::check::*;
use crate::scenario::raw::RawScenario;

/// The lending protocols of a scenario (receipt tokens and LP tokens are
/// resolved afterwards, once protocols and pools are known).
pub(crate) fn protocols_from_raw(
    raw: &RawScenario,
    assets: &[Asset],
) -> Result<Vec<LendingSpec>, ScenarioError> {
    let sim = &raw.simulation;
    let lookup = |field: &str, symbol: &str| asset_index(raw, field, symbol);
    // Protocols.
    if raw.protocols.is_empty()
        && raw.perps.is_empty()
        && raw.hedgers.is_empty()
        && raw.option_vaults.is_empty()
    {
        return Err(ScenarioError::invalid(
            "protocols",
            "nothing to simulate: add a lending market ([[protocols]]), a perp market ([[perps]]), a hedger or an option vault",
        ));
    }
    let mut protocols: Vec<LendingSpec> = Vec::new();
    for p in &raw.protocols {
        let field = format!("protocols.{}", p.name);
        if p.name.trim().is_empty() {
            return Err(ScenarioError::invalid(
                "protocols.name",
                "must not be empty",
            ));
        }
        if protocols.iter().any(|q| q.name == p.name) {
            return Err(ScenarioError::invalid(field, "name is listed twice"));
        }
        let debt_asset = lookup(&format!("{field}.debt_asset"), &p.debt_asset)?;
        unit_open_closed(&format!("{field}.close_factor"), p.close_factor)?;
        non_negative(
            &format!("{field}.full_liquidation_hf"),
            p.full_liquidation_hf,
        )?;
        if p.collateral.is_empty() {
            return Err(ScenarioError::invalid(
                format!("{field}.collateral"),
                "accepts no collateral",
            ));
        }
        let mut collateral = vec![None; assets.len()];
        for c in &p.collateral {
            let cf = format!("{field}.collateral.{}", c.asset);
            let a = lookup(&format!("{cf}.asset"), &c.asset)?;
            if collateral[a].is_some() {
                return Err(ScenarioError::invalid(cf, "listed twice"));
            }
            unit_open_closed(
                &format!("{cf}.liquidation_threshold"),
                c.liquidation_threshold,
            )?;
            non_negative(&format!("{cf}.liquidation_bonus"), c.liquidation_bonus)?;
            unit_open_closed(&format!("{cf}.max_ltv"), c.max_ltv)?;
            if c.max_ltv > c.liquidation_threshold {
                return Err(ScenarioError::invalid(
                    format!("{cf}.max_ltv"),
                    format!(
                        "{} is above the liquidation threshold {}",
                        c.max_ltv, c.liquidation_threshold
                    ),
                ));
            }
            let debt_ceiling_usd = match c.debt_ceiling_usd {
                Some(v) => Some(non_negative(&format!("{cf}.debt_ceiling_usd"), v)?),
                None => None,
            };
            collateral[a] = Some(CollateralParams {
                liquidation_threshold: c.liquidation_threshold,
                liquidation_bonus: c.liquidation_bonus,
                max_ltv: c.max_ltv,
                debt_ceiling_usd,
            });
        }
        let supply = match &p.supply {
            None => None,
            Some(sup) => {
                let sf = format!("{field}.supply");
                let reserve_fund = non_negative(&format!("{sf}.reserve_fund"), sup.reserve_fund)?;
                let debt_price = assets[debt_asset].initial_price;
                at_most(
                    &format!("{sf}.reserve_fund"),
                    reserve_fund * debt_price,
                    crate::scenario::check::MAX_USD,
                    "USD at the initial price",
                )?;
                let rate = match &sup.rate {
                    None => None,
                    Some(r) => {
                        let rf = format!("{sf}.rate");
                        let kink = finite(&format!("{rf}.kink"), r.kink)?;
                        if !(kink > 0.0 && kink < 1.0) {
                            return Err(ScenarioError::invalid(
                                format!("{rf}.kink"),
                                format!("{kink} is outside (0, 1)"),
                            ));
                        }
                        let reserve_factor =
                            non_negative(&format!("{rf}.reserve_factor"), r.reserve_factor)?;
                        if reserve_factor >= 1.0 {
                            return Err(ScenarioError::invalid(
                                format!("{rf}.reserve_factor"),
                                format!("{reserve_factor} is outside [0, 1)"),
                            ));
                        }
                        let m = RateModel {
                            base: non_negative(&format!("{rf}.base"), r.base)?,
                            slope1: non_negative(&format!("{rf}.slope1"), r.slope1)?,
                            kink,
                            slope2: non_negative(&format!("{rf}.slope2"), r.slope2)?,
                            reserve_factor,
                        };
                        // Debt grows by e^(rate·years): past e^MAX_GROWTH
                        // it would leave f64's range.
                        let years = sim.steps as f64 * sim.dt_hours / HOURS_PER_YEAR;
                        let top = m.base + m.slope1 + m.slope2;
                        if top * years > MAX_LOG_GROWTH {
                            return Err(ScenarioError::invalid(
                                format!("{rf}.slope2"),
                                format!(
                                    "the rate at full utilisation, {top} a year, would grow debt by e^{:.0} over the run's {years:.3} years; at most e^{MAX_LOG_GROWTH} fits in a number",
                                    top * years
                                ),
                            ));
                        }
                        Some(m)
                    }
                };
                match (sup.deposits, sup.utilisation) {
                    (Some(d), None) => Some(SupplySpec {
                        deposits: {
                            positive(&format!("{sf}.deposits"), d)?;
                            at_most(
                                &format!("{sf}.deposits"),
                                d * debt_price,
                                crate::scenario::check::MAX_USD,
                                "USD at the initial price",
                            )?;
                            d
                        },
                        reserve_fund,
                        utilisation: None,
                        rate,
                    }),
                    (None, Some(u)) => Some(SupplySpec {
                        deposits: f64::NAN, // from the book's debt, below
                        reserve_fund,
                        utilisation: Some(unit_open_closed(&format!("{sf}.utilisation"), u)?),
                        rate,
                    }),
                    _ => {
                        return Err(ScenarioError::invalid(
                            sf,
                            "give exactly one of `deposits` and `utilisation`",
                        ));
                    }
                }
            }
        };
        let emode = match &p.emode {
            None => None,
            Some(e) => {
                let ef = format!("{field}.emode");
                let mut member = vec![false; assets.len()];
                for symbol in &e.assets {
                    let a = lookup(&format!("{ef}.assets"), symbol)?;
                    if a != debt_asset && collateral[a].is_none() {
                        return Err(ScenarioError::invalid(
                            format!("{ef}.assets"),
                            format!("`{symbol}` is neither the debt asset nor accepted collateral"),
                        ));
                    }
                    member[a] = true;
                }
                if !member[debt_asset] {
                    return Err(ScenarioError::invalid(
                        format!("{ef}.assets"),
                        format!(
                            "must include the debt asset `{}` (e-mode groups assets correlated with it)",
                            p.debt_asset
                        ),
                    ));
                }
                let lt = unit_open_closed(
                    &format!("{ef}.liquidation_threshold"),
                    e.liquidation_threshold,
                )?;
                let ltv = unit_open_closed(&format!("{ef}.max_ltv"), e.max_ltv)?;
                if ltv > lt {
                    return Err(ScenarioError::invalid(
                        format!("{ef}.max_ltv"),
                        format!("{ltv} is above the liquidation threshold {lt}"),
                    ));
                }
                Some(Emode {
                    member,
                    params: CollateralParams {
                        liquidation_threshold: lt,
                        liquidation_bonus: non_negative(
                            &format!("{ef}.liquidation_bonus"),
                            e.liquidation_bonus,
                        )?,
                        max_ltv: ltv,
                        debt_ceiling_usd: None,
                    },
                })
            }
        };
        let deleverage = match &p.deleverage {
            None => None,
            Some(d) => {
                let df = format!("{field}.deleverage");
                if supply.is_none_or(|s| s.rate.is_none()) {
                    return Err(ScenarioError::invalid(
                        df,
                        "needs a rate model (`supply = { ..., rate = { ... } }`): borrowers react to the borrow rate",
                    ));
                }
                Some(Deleverage {
                    borrow_rate: non_negative(&format!("{df}.borrow_rate"), d.borrow_rate)?,
                    repay: unit_open_closed(&format!("{df}.repay"), d.repay)?,
                })
            }
        };
        protocols.push(LendingSpec {
            emode,
            deleverage,
            supply,
            name: p.name.clone(),
            debt_asset,
            close_factor: p.close_factor,
            full_liquidation_hf: p.full_liquidation_hf,
            oracle: Oracle {
                source: p.oracle.source,
                lag_steps: p.oracle.lag_steps,
            },
            collateral,
        });
    }

    Ok(protocols)
}
