//! What is validated once the book is built: each supply side's deposits
//! (given, or a utilisation of the book's debt) and the lenders, whose
//! shares and the receipts the book holds cannot exceed them.

use super::spec::*;
use super::validate::{Draft, Funding};
use crate::error::ScenarioError;
use crate::market::spec::Asset;
use crate::mechanism::lending::book::Book;
use crate::scenario::check::*;
use crate::scenario::raw::RawScenario;

/// The protocols with their supply sides: deposits given, or a utilisation
/// of the book's debt; every supply side starts with non-negative cash
/// (deposits ≥ the book's debt), and positions hold no more receipt or LP
/// tokens than exist.
pub(crate) fn fund(
    draft: Draft,
    assets: &[Asset],
    book: &Book,
) -> Result<Vec<LendingSpec>, ScenarioError> {
    let Draft {
        specs: mut protocols,
        supply,
    } = draft;
    let mut debt = vec![0.0; protocols.len()];
    for (i, &d) in book.debt.iter().enumerate() {
        debt[book.protocol[i] as usize] += d;
    }
    // Receipt units held as collateral are shares of the issuer.
    let mut held = vec![0.0; assets.len()];
    for (k, &a) in book.coll_asset.iter().enumerate() {
        held[a as usize] += book.coll_units[k];
    }
    for ((p, spec), terms) in protocols.iter_mut().enumerate().zip(supply) {
        let Some(terms) = terms else {
            continue;
        };
        let (deposits, utilisation) = match terms.funding {
            Funding::Utilisation(u) => {
                if debt[p] <= 0.0 {
                    return Err(ScenarioError::invalid(
                        format!("protocols.{}.supply.utilisation", spec.name),
                        "the book has no debt in this protocol: give `deposits` instead",
                    ));
                }
                (debt[p] / u, Some(u))
            }
            Funding::Deposits(d) => {
                if d < debt[p] {
                    return Err(ScenarioError::invalid(
                        format!("protocols.{}.supply.deposits", spec.name),
                        format!(
                            "{d} is below the book's debt {} (cash would be negative)",
                            debt[p]
                        ),
                    ));
                }
                (d, None)
            }
        };
        spec.supply = Some(SupplySpec {
            deposits,
            reserve_fund: terms.reserve_fund,
            utilisation,
            rate: terms.rate,
        });
    }
    for (a, asset) in assets.iter().enumerate() {
        if let Some(lp) = asset.lp_of
            && held[a] >= lp.supply
        {
            return Err(ScenarioError::invalid(
                format!("assets.{}.price", asset.symbol),
                format!(
                    "positions hold {} units of `{}` but the pool's value at this price makes only {} (passive LPs must keep some)",
                    held[a], asset.symbol, lp.supply
                ),
            ));
        }
        if let Some(p) = asset.receipt_of {
            let deposits = protocols[p].supply.expect("checked").deposits;
            if held[a] > deposits * (1.0 + 1e-12) {
                return Err(ScenarioError::invalid(
                    format!("protocols.{}.supply", protocols[p].name),
                    format!(
                        "positions hold {} units of `{}` but its deposits (shares) are only {deposits}",
                        held[a], asset.symbol
                    ),
                ));
            }
        }
    }
    Ok(protocols)
}

/// Validate `[[lenders]]` once deposits are known: their shares plus the
/// receipt units the book holds cannot exceed a protocol's shares.
pub(crate) fn lenders_from_raw(
    raw: &RawScenario,
    protocols: &[LendingSpec],
    assets: &[Asset],
    pool_of: &[Option<usize>],
    book: &Book,
) -> Result<Vec<LenderSpec>, ScenarioError> {
    let protocol_index = |name: &str| protocols.iter().position(|p| p.name == name);
    let mut held = vec![0.0; protocols.len()];
    for (k, &a) in book.coll_asset.iter().enumerate() {
        if let Some(p) = assets[a as usize].receipt_of {
            held[p] += book.coll_units[k];
        }
    }
    let mut out: Vec<LenderSpec> = Vec::new();
    for l in &raw.lenders {
        let field = format!("lenders.{}", l.name);
        if out.iter().any(|m| m.name == l.name) {
            return Err(ScenarioError::invalid(field, "name is listed twice"));
        }
        let p = protocol_index(&l.protocol).ok_or_else(|| {
            ScenarioError::invalid(
                format!("{field}.protocol"),
                format!("unknown protocol `{}`", l.protocol),
            )
        })?;
        let Some(supply) = protocols[p].supply else {
            return Err(ScenarioError::invalid(
                format!("{field}.protocol"),
                format!("`{}` has no supply side to withdraw from", l.protocol),
            ));
        };
        unit_open_closed(&format!("{field}.share"), l.share)?;
        if l.sell && pool_of[protocols[p].debt_asset].is_none() {
            return Err(ScenarioError::invalid(
                format!("{field}.sell"),
                format!(
                    "`{}` has no pool to sell into",
                    assets[protocols[p].debt_asset].symbol
                ),
            ));
        }
        unit_open_closed(&format!("{field}.withdraw"), l.withdraw)?;
        let shares = l.share * supply.deposits;
        held[p] += shares;
        if held[p] > supply.deposits * (1.0 + 1e-12) {
            return Err(ScenarioError::invalid(
                format!("{field}.share"),
                format!(
                    "lenders and receipt collateral would hold {} of `{}`'s {} shares",
                    held[p], l.protocol, supply.deposits
                ),
            ));
        }
        let t = &l.trigger;
        let tf = format!("{field}.trigger");
        let drawdown = match t.share_value_drawdown {
            Some(d) => Some(unit_open_closed(&format!("{tf}.share_value_drawdown"), d)?),
            None => None,
        };
        let utilisation = match t.utilisation {
            Some(u) => Some(unit_open_closed(&format!("{tf}.utilisation"), u)?),
            None => None,
        };
        let peer_bad_debt = match (&t.peer, t.peer_bad_debt_usd) {
            (None, None) => None,
            (Some(peer), Some(usd)) => {
                let q = protocol_index(peer).ok_or_else(|| {
                    ScenarioError::invalid(
                        format!("{tf}.peer"),
                        format!("unknown protocol `{peer}`"),
                    )
                })?;
                Some((q, positive(&format!("{tf}.peer_bad_debt_usd"), usd)?))
            }
            _ => {
                return Err(ScenarioError::invalid(
                    tf,
                    "`peer` and `peer_bad_debt_usd` go together",
                ));
            }
        };
        if let Some(step) = t.at_step
            && (step == 0 || step > raw.simulation.steps)
        {
            return Err(ScenarioError::invalid(
                format!("{tf}.at_step"),
                format!("{step} is outside 1..={}", raw.simulation.steps),
            ));
        }
        if drawdown.is_none()
            && utilisation.is_none()
            && peer_bad_debt.is_none()
            && t.at_step.is_none()
        {
            return Err(ScenarioError::invalid(tf, "names no signal"));
        }
        out.push(LenderSpec {
            name: l.name.clone(),
            protocol: p,
            shares,
            withdraw: l.withdraw,
            sell: l.sell,
            share_value_drawdown: drawdown,
            utilisation,
            peer_bad_debt,
            at_step: t.at_step,
        });
    }
    Ok(out)
}
