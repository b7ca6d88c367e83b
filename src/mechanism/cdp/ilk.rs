//! Vault types as validated (docs/model.md §17): a collateral's
//! liquidation ratio, stability fee, debt ceiling, dust, penalty and limit
//! in auctions, and where the oracle reads its price.

use crate::error::ScenarioError;
use crate::market::source::{Quote, Source};
use crate::market::spec::asset_index;
use crate::mechanism::cdp::raw::RawCdp;
use crate::mechanism::oracle::raw::OracleSource;
use crate::scenario::check::{HOURS_PER_YEAR, MAX_USD, at_most, finite, non_negative, positive};
use crate::scenario::raw::RawScenario;

fn invalid(field: String, problem: impl Into<String>) -> ScenarioError {
    ScenarioError::invalid(field, problem)
}

/// A vault type as validated.
#[derive(Debug, Clone, PartialEq)]
pub struct IlkSpec {
    /// Collateral asset index.
    pub asset: usize,
    /// Liquidation ratio (`mat`).
    pub mat: f64,
    /// Rate index factor per hour: (1 + annual fee)^(1/8760).
    pub fee_per_hour: f64,
    /// Debt ceiling, stablecoin (∞ without one).
    pub line: f64,
    /// Dust, stablecoin.
    pub dust: f64,
    /// 1 + penalty (`chop`).
    pub chop: f64,
    /// Most stablecoin in this type's auctions at once (∞ without one).
    pub hole: f64,
    /// Where the oracle reads the collateral's price.
    pub source: Source,
}

/// The vault types of `r`, in the order of its `collateral` table;
/// `pool_of` gives each asset's main venue (a pool oracle reads it).
pub(super) fn ilks_from_raw(
    raw: &RawScenario,
    r: &RawCdp,
    stablecoin: usize,
    pool_of: &[Option<usize>],
) -> Result<Vec<IlkSpec>, ScenarioError> {
    let f = |x: &str| format!("cdps.{}.{x}", r.name);
    let mut ilks = Vec::with_capacity(r.collateral.len());
    for (symbol, ilk) in &r.collateral {
        let field = |x: &str| f(&format!("collateral.{symbol}.{x}"));
        let asset = asset_index(raw, &f(&format!("collateral.{symbol}")), symbol)?;
        if asset == stablecoin {
            return Err(invalid(
                f(&format!("collateral.{symbol}")),
                "is the CDP's own stablecoin",
            ));
        }
        let mat = finite(&field("liquidation_ratio"), ilk.liquidation_ratio)?;
        if mat < 1.0 {
            return Err(invalid(
                field("liquidation_ratio"),
                format!("{mat} is below 1: a vault could owe more than its collateral is worth"),
            ));
        }
        let fee = non_negative(&field("stability_fee"), ilk.stability_fee)?;
        at_most(&field("stability_fee"), fee, 10.0, "a year (1,000%)")?;
        let source = match (r.oracle.source, pool_of[asset]) {
            (OracleSource::Pool, Some(p)) => Source::one(Quote::Venue(p)),
            (OracleSource::Pool, None) => {
                return Err(invalid(
                    f("oracle.source"),
                    format!("`pool`, but `{symbol}` has no pool"),
                ));
            }
            _ => Source::one(Quote::Fundamental(asset)),
        };
        ilks.push(IlkSpec {
            asset,
            mat,
            fee_per_hour: (1.0 + fee).powf(1.0 / HOURS_PER_YEAR),
            line: optional_positive(&field("debt_ceiling"), ilk.debt_ceiling)?,
            dust: at_most(
                &field("dust"),
                non_negative(&field("dust"), ilk.dust)?,
                MAX_USD,
                "the most one amount may be",
            )?,
            chop: 1.0
                + at_most(
                    &field("penalty"),
                    non_negative(&field("penalty"), ilk.penalty)?,
                    1.0,
                    "a penalty of the whole debt",
                )?,
            hole: optional_positive(&field("hole"), ilk.hole)?,
            source,
        });
    }
    if ilks.is_empty() {
        return Err(invalid(f("collateral"), "lists no vault type"));
    }
    Ok(ilks)
}

/// An optional positive limit; ∞ when not given.
pub(super) fn optional_positive(field: &str, v: Option<f64>) -> Result<f64, ScenarioError> {
    v.map_or(Ok(f64::INFINITY), |v| positive(field, v))
}
