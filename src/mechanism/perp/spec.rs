//! Perpetual futures markets and their accounts, validated (docs/model.md
//! §15). Accounts come from `[[perp_positions]]` (grouped by account name)
//! and `[[perp_populations]]` (drawn from the scenario seed's perp stream),
//! in that order; each account's positions are contiguous.

use std::collections::BTreeMap;

use crate::error::ScenarioError;
use crate::market::spec::Asset;
use crate::montecarlo::seed::perp_rng;
use crate::scenario::check::{non_negative, positive, unit_open_closed};
use crate::scenario::population::{draw_health, draw_size};
use crate::scenario::raw::{RawMarginMode, RawMarginModel, RawPerp, RawScenario, RawSide};

/// How a market sets its maintenance margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarginModel {
    /// The fixed fraction.
    Static,
    /// `max(maintenance_margin, multiplier · σ_EWMA · sqrt(horizon))`.
    Ewma {
        /// EWMA decay.
        lambda: f64,
        /// Multiple of the horizon's volatility.
        multiplier: f64,
        /// Horizon, years.
        horizon_years: f64,
        /// Annual volatility before any return.
        initial_vol: f64,
    },
}

/// One perpetual futures market.
#[derive(Debug, Clone, PartialEq)]
pub struct PerpSpec {
    /// Name.
    pub name: String,
    /// Underlying asset index.
    pub asset: usize,
    /// The underlying's pool: mark price and trading venue.
    pub pool: usize,
    /// Initial margin fraction.
    pub initial_margin: f64,
    /// Maintenance margin fraction (the floor, with a volatility model).
    pub maintenance_margin: f64,
    /// Fee on traded notional.
    pub taker_fee: f64,
    /// Penalty on liquidated notional, to the fund.
    pub liquidation_fee: f64,
    /// Insurance fund at step 0, USD.
    pub insurance_fund: f64,
    /// Largest funding rate per period.
    pub funding_clamp: f64,
    /// Funding period, hours.
    pub funding_period_hours: f64,
    /// Index lag, steps.
    pub index_lag_steps: u32,
    /// Maintenance margin model.
    pub margin: MarginModel,
}

/// Every perp account and position at step 0, struct-of-arrays.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerpBook {
    /// Market of each position.
    pub market: Vec<u32>,
    /// Signed size of each position, units (long > 0).
    pub size: Vec<f64>,
    /// Account of each position.
    pub account: Vec<u32>,
    /// Margin of each account, USD.
    pub margin: Vec<f64>,
    /// Account a's positions are `start[a]..start[a+1]`.
    pub start: Vec<u32>,
}

impl PerpBook {
    /// Number of accounts.
    pub fn accounts(&self) -> usize {
        self.margin.len()
    }

    /// Positions of account `a`.
    pub fn positions(&self, a: usize) -> std::ops::Range<usize> {
        self.start[a] as usize..self.start[a + 1] as usize
    }

    pub(crate) fn push_account(&mut self, margin: f64, positions: &[(usize, f64)]) {
        if self.start.is_empty() {
            self.start.push(0);
        }
        let a = self.margin.len() as u32;
        self.margin.push(margin);
        for &(m, s) in positions {
            self.market.push(m as u32);
            self.size.push(s);
            self.account.push(a);
        }
        self.start.push(self.market.len() as u32);
    }
}

fn side_sign(s: RawSide) -> f64 {
    match s {
        RawSide::Long => 1.0,
        RawSide::Short => -1.0,
    }
}

/// Validate `[[perps]]` and build their accounts.
pub fn perps_from_raw(
    raw: &RawScenario,
    assets: &[Asset],
    pool_of: &[Option<usize>],
    seed: u64,
) -> Result<(Vec<PerpSpec>, PerpBook), ScenarioError> {
    let mut specs: Vec<PerpSpec> = Vec::new();
    for p in &raw.perps {
        let field = format!("perps.{}", p.name);
        if p.name.trim().is_empty() {
            return Err(ScenarioError::invalid("perps.name", "must not be empty"));
        }
        if specs.iter().any(|q| q.name == p.name) {
            return Err(ScenarioError::invalid(field, "name is listed twice"));
        }
        specs.push(market_from_raw(p, assets, pool_of)?);
    }
    let price = |m: usize| assets[specs[m].asset].initial_price;
    let mut book = PerpBook::default();
    explicit_accounts(raw, &specs, price, &mut book)?;
    population_accounts(raw, &specs, price, seed, &mut book)?;
    if book.start.is_empty() {
        book.start.push(0);
    }
    Ok((specs, book))
}

/// The index of the market named `name`, or an error on `field`.
fn market_of(specs: &[PerpSpec], field: &str, name: &str) -> Result<usize, ScenarioError> {
    specs
        .iter()
        .position(|s| s.name == name)
        .ok_or_else(|| ScenarioError::invalid(field, format!("unknown perp `{name}`")))
}

/// One `[[perps]]` market.
fn market_from_raw(
    p: &RawPerp,
    assets: &[Asset],
    pool_of: &[Option<usize>],
) -> Result<PerpSpec, ScenarioError> {
    let field = format!("perps.{}", p.name);
    let asset = assets
        .iter()
        .position(|a| a.symbol == p.asset)
        .ok_or_else(|| {
            ScenarioError::invalid(
                format!("{field}.asset"),
                format!("unknown asset `{}`", p.asset),
            )
        })?;
    let pool = pool_of[asset].ok_or_else(|| {
        ScenarioError::invalid(
            format!("{field}.asset"),
            format!(
                "`{}` has no pool: a perp needs one for its mark price and its trades",
                p.asset
            ),
        )
    })?;
    let im = unit_open_closed(&format!("{field}.initial_margin"), p.initial_margin)?;
    let mm = unit_open_closed(&format!("{field}.maintenance_margin"), p.maintenance_margin)?;
    if mm >= im {
        return Err(ScenarioError::invalid(
            format!("{field}.maintenance_margin"),
            format!("{mm} must be below the initial margin {im}"),
        ));
    }
    let margin = margin_model_from_raw(&field, &p.margin)?;
    Ok(PerpSpec {
        name: p.name.clone(),
        asset,
        pool,
        initial_margin: im,
        maintenance_margin: mm,
        taker_fee: fraction(&format!("{field}.taker_fee"), p.taker_fee)?,
        liquidation_fee: fraction(&format!("{field}.liquidation_fee"), p.liquidation_fee)?,
        insurance_fund: non_negative(&format!("{field}.insurance_fund"), p.insurance_fund)?,
        funding_clamp: non_negative(&format!("{field}.funding.clamp"), p.funding.clamp)?,
        funding_period_hours: positive(
            &format!("{field}.funding.period_hours"),
            p.funding.period_hours,
        )?,
        index_lag_steps: p.index_lag_steps,
        margin,
    })
}

/// A market's margin model.
fn margin_model_from_raw(field: &str, m: &RawMarginModel) -> Result<MarginModel, ScenarioError> {
    Ok(match m {
        RawMarginModel::Static => MarginModel::Static,
        RawMarginModel::Ewma {
            lambda,
            multiplier,
            horizon_hours,
            initial_vol,
        } => {
            let mf = format!("{field}.margin");
            let lambda = unit_open_closed(&format!("{mf}.lambda"), *lambda)?;
            if lambda >= 1.0 {
                return Err(ScenarioError::invalid(
                    format!("{mf}.lambda"),
                    format!("{lambda} is outside (0, 1)"),
                ));
            }
            MarginModel::Ewma {
                lambda,
                multiplier: {
                    positive(&format!("{mf}.multiplier"), *multiplier)?;
                    crate::scenario::check::at_most(
                        &format!("{mf}.multiplier"),
                        *multiplier,
                        1000.0,
                        "standard deviations of margin",
                    )?
                },
                horizon_years: positive(&format!("{mf}.horizon_hours"), *horizon_hours)? / 8760.0,
                initial_vol: {
                    non_negative(&format!("{mf}.initial_vol"), *initial_vol)?;
                    crate::scenario::check::at_most(
                        &format!("{mf}.initial_vol"),
                        *initial_vol,
                        crate::scenario::check::MAX_VOL,
                        "annual volatility",
                    )?
                },
            }
        }
    })
}

/// The accounts of `[[perp_positions]]`, grouped by account in order of
/// first appearance; each must hold its initial margin.
fn explicit_accounts(
    raw: &RawScenario,
    specs: &[PerpSpec],
    price: impl Fn(usize) -> f64,
    book: &mut PerpBook,
) -> Result<(), ScenarioError> {
    // Explicit positions, grouped by account in order of first appearance.
    let mut order: Vec<Option<String>> = Vec::new();
    let mut named: BTreeMap<String, (f64, Vec<(usize, f64)>)> = BTreeMap::new();
    let mut lone: Vec<(f64, Vec<(usize, f64)>)> = Vec::new();
    for (i, p) in raw.perp_positions.iter().enumerate() {
        let field = format!("perp_positions[{i}]");
        let m = market_of(specs, &format!("{field}.perp"), &p.perp)?;
        let size = positive(&format!("{field}.size"), p.size)?;
        let margin = positive(&format!("{field}.margin"), p.margin)?;
        let entry = (m, side_sign(p.side) * size);
        match &p.account {
            None => {
                order.push(None);
                lone.push((margin, vec![entry]));
            }
            Some(name) => {
                let slot = named.entry(name.clone()).or_insert_with(|| {
                    order.push(Some(name.clone()));
                    (0.0, Vec::new())
                });
                if slot.1.iter().any(|e| e.0 == m) {
                    return Err(ScenarioError::invalid(
                        format!("{field}.perp"),
                        format!("account `{name}` already has a position in `{}`", p.perp),
                    ));
                }
                slot.0 += margin;
                slot.1.push(entry);
            }
        }
    }
    let mut lone = lone.into_iter();
    for key in order {
        let (margin, positions) = match key {
            None => lone.next().expect("one per None"),
            Some(name) => named.remove(&name).expect("grouped above"),
        };
        let notional: f64 = positions.iter().map(|&(m, s)| s.abs() * price(m)).sum();
        let im = positions
            .iter()
            .map(|&(m, s)| s.abs() * price(m) * specs[m].initial_margin)
            .sum::<f64>();
        if margin < im * (1.0 - 1e-12) {
            return Err(ScenarioError::invalid(
                "perp_positions",
                format!(
                    "an account with {notional} of notional has margin {margin}, below the initial margin {im}"
                ),
            ));
        }
        book.push_account(margin, &positions);
    }

    Ok(())
}

/// The accounts `[[perp_populations]]` draw from the scenario seed.
fn population_accounts(
    raw: &RawScenario,
    specs: &[PerpSpec],
    price: impl Fn(usize) -> f64,
    seed: u64,
    book: &mut PerpBook,
) -> Result<(), ScenarioError> {
    let mut rng = perp_rng(seed);
    for (i, pop) in raw.perp_populations.iter().enumerate() {
        let field = format!("perp_populations[{i}]");
        if pop.perps.is_empty() || pop.perps.len() != pop.sides.len() {
            return Err(ScenarioError::invalid(
                format!("{field}.sides"),
                "give one side per market in `perps` (and at least one market)",
            ));
        }
        let mut markets = Vec::new();
        for name in &pop.perps {
            let m = market_of(specs, &format!("{field}.perps"), name)?;
            if markets.contains(&m) {
                return Err(ScenarioError::invalid(
                    format!("{field}.perps"),
                    format!("`{name}` is listed twice"),
                ));
            }
            markets.push(m);
        }
        if pop.count == 0 {
            return Err(ScenarioError::invalid(
                format!("{field}.count"),
                "must be at least 1",
            ));
        }
        crate::scenario::population::check_size(
            &format!("{field}.notional_usd"),
            &pop.notional_usd,
        )?;
        let lev_min =
            crate::scenario::population::check_health(&format!("{field}.leverage"), &pop.leverage)?;
        if lev_min <= 0.0 {
            return Err(ScenarioError::invalid(
                format!("{field}.leverage"),
                "must be positive",
            ));
        }
        let im_max = markets
            .iter()
            .map(|&m| specs[m].initial_margin)
            .fold(0.0, f64::max);
        let k = markets.len() as f64;
        for _ in 0..pop.count {
            let notional = draw_size(&pop.notional_usd, &mut rng);
            if notional.is_nan() || notional > crate::scenario::check::MAX_USD {
                return Err(ScenarioError::invalid(
                    format!("{field}.notional_usd"),
                    format!(
                        "drew an account of {notional:e} USD, more than {:e}: the distribution's tail is too heavy",
                        crate::scenario::check::MAX_USD
                    ),
                ));
            }
            let leverage = draw_health(&pop.leverage, &mut rng);
            if leverage * im_max > 1.0 + 1e-12 {
                return Err(ScenarioError::invalid(
                    format!("{field}.leverage"),
                    format!(
                        "draws leverage {leverage:.3}, above 1/initial_margin = {:.3}",
                        1.0 / im_max
                    ),
                ));
            }
            let margin = notional / leverage;
            let positions: Vec<(usize, f64)> = markets
                .iter()
                .zip(&pop.sides)
                .map(|(&m, &side)| (m, side_sign(side) * notional / k / price(m)))
                .collect();
            match pop.margin_mode {
                RawMarginMode::Cross => book.push_account(margin, &positions),
                RawMarginMode::Isolated => {
                    for &p in &positions {
                        book.push_account(margin / k, &[p]);
                    }
                }
            }
        }
    }
    Ok(())
}

fn fraction(field: &str, v: f64) -> Result<f64, ScenarioError> {
    let v = non_negative(field, v)?;
    if v >= 1.0 {
        return Err(ScenarioError::invalid(
            field,
            format!("{v} is outside [0, 1)"),
        ));
    }
    Ok(v)
}
