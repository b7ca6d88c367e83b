//! The lending markets of a scenario, validated (docs/model.md §5,
//! §11, §12): debt asset, collateral parameters, oracle, liquidation
//! rule, supply side, e-mode, isolation, deleveraging.

use super::spec::*;
use crate::error::ScenarioError;
use crate::market::spec::PoolSpec;
use crate::market::spec::{Asset, Symbols};
use crate::mechanism::oracle::spec::{Venues, oracle_from_raw};
use crate::scenario::check::*;
use crate::scenario::raw::{RawCapital, RawProtocol, RawScenario};

/// A scenario's lending protocols validated up to their funding: each
/// spec's `supply` is attached by `fund` once the book is built (a
/// utilisation is of the book's debt).
pub(crate) struct Draft {
    /// The protocols, `supply` still `None`.
    pub specs: Vec<LendingSpec>,
    /// Each protocol's supply side as given.
    pub(super) supply: Vec<Option<SupplyTerms>>,
}

impl Draft {
    /// Whether protocol `p` has a supply side.
    pub fn has_supply(&self, p: usize) -> bool {
        self.supply[p].is_some()
    }
}

/// A supply side as given.
#[derive(Debug, Clone, Copy)]
pub(super) struct SupplyTerms {
    pub(super) funding: Funding,
    pub(super) reserve_fund: f64,
    pub(super) rate: Option<RateModel>,
}

/// How a supply side's deposits are given.
#[derive(Debug, Clone, Copy)]
pub(super) enum Funding {
    /// Units of the debt asset.
    Deposits(f64),
    /// A utilisation of the book's debt at step 0.
    Utilisation(f64),
}

/// The lending protocols of a scenario, up to their funding (`fund`).
pub(crate) fn protocols_from_raw(
    raw: &RawScenario,
    assets: &[Asset],
    pools: &[PoolSpec],
    pool_of: &[Option<usize>],
) -> Result<Draft, ScenarioError> {
    let venues = Venues {
        names: pools.iter().map(|p| p.name.as_str()).collect(),
        bases: pools.iter().map(|p| p.base).collect(),
        main: pool_of,
    };
    let symbols = Symbols::of(raw);
    let lookup = |field: &str, symbol: &str| symbols.index(field, symbol);
    // Protocols.
    if raw.protocols.is_empty()
        && raw.perps.is_empty()
        && raw.hedgers.is_empty()
        && raw.option_vaults.is_empty()
        && raw.cdps.is_empty()
    {
        return Err(ScenarioError::invalid(
            "protocols",
            "nothing to simulate: add a lending market ([[protocols]]), a perp market ([[perps]]), a CDP ([[cdps]]), a hedger or an option vault",
        ));
    }
    let mut protocols: Vec<LendingSpec> = Vec::new();
    let mut supplies = Vec::new();
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
        let collateral = collateral_from_raw(&symbols, &field, p, assets.len())?;
        let supply = supply_from_raw(raw, &field, p, assets[debt_asset].initial_price)?;
        let emode = emode_from_raw(&symbols, &field, p, debt_asset, &collateral)?;
        let deleverage = deleverage_from_raw(&field, p, supply.as_ref())?;
        protocols.push(LendingSpec {
            emode,
            deleverage,
            supply: None,
            name: p.name.clone(),
            debt_asset,
            close_factor: p.close_factor,
            full_liquidation_hf: p.full_liquidation_hf,
            forced_sale: p.liquidation == super::raw::RawLiquidation::ForcedSale,
            defaults: defaults_from_raw(&field, &p.defaults, raw.simulation.steps)?,
            oracle: oracle_from_raw(
                &p.name,
                &p.oracle,
                &assets.iter().map(|a| a.symbol.clone()).collect::<Vec<_>>(),
                &venues,
                raw.simulation.dt_hours,
                raw.simulation.steps,
            )?,
            collateral,
        });
        supplies.push(supply);
    }
    Ok(Draft {
        specs: protocols,
        supply: supplies,
    })
}

/// A protocol's collateral parameters, by asset.
fn collateral_from_raw(
    symbols: &Symbols<'_>,
    field: &str,
    p: &RawProtocol,
    n_assets: usize,
) -> Result<Vec<Option<CollateralParams>>, ScenarioError> {
    let lookup = |field: &str, symbol: &str| symbols.index(field, symbol);
    let mut collateral = vec![None; n_assets];
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
    Ok(collateral)
}

/// A protocol's supply side as given: deposits or a utilisation (of the
/// book's debt, known once the book is built: see `fund`).
fn supply_from_raw(
    raw: &RawScenario,
    field: &str,
    p: &RawProtocol,
    debt_price: f64,
) -> Result<Option<SupplyTerms>, ScenarioError> {
    let sim = &raw.simulation;
    Ok(match &p.supply {
        None => None,
        Some(sup) => {
            let sf = format!("{field}.supply");
            let reserve_fund = non_negative(&format!("{sf}.reserve_fund"), sup.reserve_fund)?;
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
            let funding = match (sup.deposits, sup.utilisation) {
                (Some(d), None) => Funding::Deposits({
                    positive(&format!("{sf}.deposits"), d)?;
                    at_most(
                        &format!("{sf}.deposits"),
                        d * debt_price,
                        crate::scenario::check::MAX_USD,
                        "USD at the initial price",
                    )?;
                    d
                }),
                (None, Some(u)) => {
                    Funding::Utilisation(unit_open_closed(&format!("{sf}.utilisation"), u)?)
                }
                _ => {
                    return Err(ScenarioError::invalid(
                        sf,
                        "give exactly one of `deposits` and `utilisation`",
                    ));
                }
            };
            Some(SupplyTerms {
                funding,
                reserve_fund,
                rate,
            })
        }
    })
}

/// A protocol's e-mode, if it has one.
fn emode_from_raw(
    symbols: &Symbols<'_>,
    field: &str,
    p: &RawProtocol,
    debt_asset: usize,
    collateral: &[Option<CollateralParams>],
) -> Result<Option<Emode>, ScenarioError> {
    let lookup = |field: &str, symbol: &str| symbols.index(field, symbol);
    Ok(match &p.emode {
        None => None,
        Some(e) => {
            let ef = format!("{field}.emode");
            let mut member = vec![false; collateral.len()];
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
    })
}

/// A protocol's rate-driven deleveraging, if it has one (it needs a rate
/// model).
fn deleverage_from_raw(
    field: &str,
    p: &RawProtocol,
    supply: Option<&SupplyTerms>,
) -> Result<Option<Deleverage>, ScenarioError> {
    Ok(match &p.deleverage {
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
    })
}

/// Receipt and LP tokens where protocols meet them: an issuer has a supply
/// side and does not take its own receipts; neither kind can be borrowed.
pub(crate) fn check_tokens(
    raw: &RawScenario,
    assets: &[Asset],
    draft: &Draft,
) -> Result<(), ScenarioError> {
    for (a, raw_asset) in raw.assets.iter().enumerate() {
        let Some(issuer) = &raw_asset.receipt_of else {
            continue;
        };
        let field = format!("assets.{}.receipt_of", raw_asset.symbol);
        let p = assets[a]
            .receipt_of
            .expect("a receipt token's issuer is resolved with its price");
        if !draft.has_supply(p) {
            return Err(ScenarioError::invalid(
                field,
                format!("protocol `{issuer}` has no supply side (add `supply = {{ ... }}`)"),
            ));
        }
        if draft.specs[p].collateral[a].is_some() {
            return Err(ScenarioError::invalid(
                format!("protocols.{issuer}.collateral.{}", raw_asset.symbol),
                "a protocol cannot accept its own receipt token",
            ));
        }
    }
    for p in &draft.specs {
        if raw.assets[p.debt_asset].receipt_of.is_some() {
            return Err(ScenarioError::invalid(
                format!("protocols.{}.debt_asset", p.name),
                "a receipt token cannot be borrowed",
            ));
        }
    }
    for (i, p) in raw.protocols.iter().enumerate() {
        if raw.assets[draft.specs[i].debt_asset].lp_of.is_some() {
            return Err(ScenarioError::invalid(
                format!("protocols.{}.debt_asset", p.name),
                "an LP token cannot be borrowed",
            ));
        }
    }
    Ok(())
}

/// The liquidators, in priority order.
/// The `liquidator` of a forced sale's rows in liquidations.parquet.
pub const FORCED_SALE: &str = "forced_sale";

pub(crate) fn liquidators_from_raw(
    raw: &RawScenario,
) -> Result<Vec<LiquidatorSpec>, ScenarioError> {
    let mut liquidators: Vec<LiquidatorSpec> = Vec::new();
    for l in &raw.liquidators {
        let field = format!("liquidators.{}", l.name);
        if liquidators.iter().any(|m| m.name == l.name) {
            return Err(ScenarioError::invalid(field, "name is listed twice"));
        }
        if l.name == FORCED_SALE {
            return Err(ScenarioError::invalid(
                field,
                format!("`{FORCED_SALE}` names the protocols' own sales in liquidations.parquet"),
            ));
        }
        let capital = match &l.capital {
            RawCapital::Usd(v) => non_negative(&format!("{field}.capital"), *v)?,
            RawCapital::Word(w) if w == "unlimited" => f64::INFINITY,
            RawCapital::Word(w) => {
                return Err(ScenarioError::invalid(
                    format!("{field}.capital"),
                    format!("`{w}` is neither a number nor \"unlimited\""),
                ));
            }
        };
        liquidators.push(LiquidatorSpec {
            name: l.name.clone(),
            capital,
            min_profit: finite(&format!("{field}.min_profit"), l.min_profit)?,
        });
    }

    Ok(liquidators)
}

/// Gas.
pub(crate) fn network_from_raw(raw: &RawScenario) -> Result<Network, ScenarioError> {
    Ok(Network {
        gas_usd: non_negative("network.gas_usd", raw.network.gas_usd)?,
        congestion: non_negative("network.congestion", raw.network.congestion)?,
    })
}

/// Validate a protocol's `defaults` (ids are checked against the book
/// once it is built: `check_ids`).
fn defaults_from_raw(
    field: &str,
    raw: &[super::raw::RawDefault],
    steps: u32,
) -> Result<Vec<super::spec::ScriptedDefault>, ScenarioError> {
    raw.iter()
        .enumerate()
        .map(|(k, d)| {
            let f = format!("{field}.defaults[{k}]");
            if d.step == 0 || d.step > steps {
                return Err(ScenarioError::invalid(
                    format!("{f}.step"),
                    format!("{} is outside 1..={steps}", d.step),
                ));
            }
            let position = match &d.position {
                super::raw::RawWho::Id(id) => Some(*id),
                super::raw::RawWho::Word(w) if w == "random" => None,
                super::raw::RawWho::Word(w) => {
                    return Err(ScenarioError::invalid(
                        format!("{f}.position"),
                        format!("`{w}` is neither a position id nor \"random\""),
                    ));
                }
            };
            Ok(super::spec::ScriptedDefault {
                step: d.step,
                position,
            })
        })
        .collect()
}
