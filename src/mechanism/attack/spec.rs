//! Attackers as validated (docs/model.md §16).

use crate::error::ScenarioError;
use crate::market::spec::PoolSpec;
use crate::mechanism::attack::raw::RawAttacker;
use crate::mechanism::lending::book::Book;
use crate::scenario::check::{finite, non_negative, positive};

/// Most pump multiples one attacker considers.
pub const MAX_PUMPS: usize = 32;

/// One attacker.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackerSpec {
    /// Name.
    pub name: String,
    /// Its account's id in the book (its `[[positions]]` index).
    pub position_id: u64,
    /// Its account's protocol.
    pub protocol: usize,
    /// Its collateral asset.
    pub asset: usize,
    /// The pool it buys in.
    pub venue: usize,
    /// Most USD spent buying over an attack.
    pub capital_usd: f64,
    /// Multiples of F it considers, ascending.
    pub pumps: Vec<f64>,
    /// Most steps of holding before it borrows.
    pub max_hold_steps: u32,
    /// Steps at which it may start.
    pub from_step: u32,
    /// Last step at which it may start.
    pub until_step: u32,
    /// Forecast profit needed to start, USD.
    pub min_profit_usd: f64,
}

/// Validate the `[[attackers]]` of a scenario against its book, pools and
/// lending protocols.
pub(crate) fn attackers_from_raw(
    raw: &[RawAttacker],
    book: &Book,
    pools: &[PoolSpec],
    pool_of: &[Option<usize>],
    symbols: &[String],
    steps: u32,
) -> Result<Vec<AttackerSpec>, ScenarioError> {
    let mut out: Vec<AttackerSpec> = Vec::with_capacity(raw.len());
    for r in raw {
        let field = |f: &str| format!("attackers.{}.{f}", r.name);
        if r.name.trim().is_empty() {
            return Err(ScenarioError::invalid(
                "attackers.name",
                "must not be empty",
            ));
        }
        if out.iter().any(|a| a.name == r.name) {
            return Err(ScenarioError::invalid(
                format!("attackers.{}", r.name),
                "name is listed twice",
            ));
        }
        let id = r.position as u64;
        if out.iter().any(|a| a.position_id == id) {
            return Err(ScenarioError::invalid(
                field("position"),
                format!("positions[{id}] is already another attacker's account"),
            ));
        }
        let (protocol, asset) = account_of(book, &field("position"), id, symbols)?;
        let venue = match &r.venue {
            Some(name) => {
                let v = pools.iter().position(|p| p.name == *name).ok_or_else(|| {
                    ScenarioError::invalid(field("venue"), format!("no pool `{name}`"))
                })?;
                if pools[v].base != asset {
                    return Err(ScenarioError::invalid(
                        field("venue"),
                        format!(
                            "`{name}` trades {}, not the account's {}",
                            symbols[pools[v].base], symbols[asset]
                        ),
                    ));
                }
                v
            }
            None => pool_of[asset].ok_or_else(|| {
                ScenarioError::invalid(
                    field("venue"),
                    format!("{} has no pool to push", symbols[asset]),
                )
            })?,
        };
        let capital_usd = positive(&field("capital_usd"), r.capital_usd)?;
        let pumps = pumps_from_raw(&field("pumps"), &r.pumps)?;
        let until_step = r.until_step.unwrap_or(steps);
        if r.from_step == 0 || r.from_step > until_step || until_step > steps {
            return Err(ScenarioError::invalid(
                field("from_step"),
                format!("{}..={until_step} must lie in 1..={steps}", r.from_step),
            ));
        }
        if r.max_hold_steps > 10_000 {
            return Err(ScenarioError::invalid(
                field("max_hold_steps"),
                format!("{} is above 10,000", r.max_hold_steps),
            ));
        }
        let min_profit_usd = non_negative(&field("min_profit_usd"), r.min_profit_usd)?;
        out.push(AttackerSpec {
            name: r.name.clone(),
            position_id: id,
            protocol,
            asset,
            venue,
            capital_usd,
            pumps,
            max_hold_steps: r.max_hold_steps,
            from_step: r.from_step,
            until_step,
            min_profit_usd,
        });
    }
    Ok(out)
}

/// The protocol and the collateral asset of the account `[[positions]]`
/// entry `id` is: it must be in the book, hold one asset and owe nothing.
fn account_of(
    book: &Book,
    field: &str,
    id: u64,
    symbols: &[String],
) -> Result<(usize, usize), ScenarioError> {
    // Explicit positions come first in the book, with their index as id.
    let explicit = |i: &usize| book.origins[book.origin[*i] as usize] == "positions";
    let i = book.id.binary_search(&id).ok().filter(explicit).ok_or_else(|| {
        ScenarioError::invalid(
            field,
            format!(
                "there is no positions[{id}] in the book (explicit positions only; one left out at step 0 cannot attack)"
            ),
        )
    })?;
    let protocol = book.protocol[i] as usize;
    let range = book.coll_range(i);
    if range.len() != 1 || book.debt[i] != 0.0 {
        return Err(ScenarioError::invalid(
            field,
            format!("positions[{id}] must hold one collateral asset and owe nothing at step 0"),
        ));
    }
    let asset = book.coll_asset[range.start] as usize;
    if book.coll_units[range.start] <= 0.0 {
        return Err(ScenarioError::invalid(
            field,
            format!("positions[{id}] holds no {}", symbols[asset]),
        ));
    }
    Ok((protocol, asset))
}

/// The pump multiples, checked, ascending and without repeats.
fn pumps_from_raw(field: &str, raw: &[f64]) -> Result<Vec<f64>, ScenarioError> {
    if raw.is_empty() || raw.len() > MAX_PUMPS {
        return Err(ScenarioError::invalid(
            field,
            format!("lists {} multiples: give 1 to {MAX_PUMPS}", raw.len()),
        ));
    }
    let mut pumps = Vec::with_capacity(raw.len());
    for &m in raw {
        finite(field, m)?;
        if m <= 1.0 || m > 1e6 {
            return Err(ScenarioError::invalid(
                field,
                format!("{m} must be above 1 (a multiple of the fundamental) and at most 1e6"),
            ));
        }
        pumps.push(m);
    }
    pumps.sort_by(f64::total_cmp);
    pumps.dedup();
    Ok(pumps)
}
