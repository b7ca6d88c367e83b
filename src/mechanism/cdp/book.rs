//! The vault book at step 0 (docs/model.md §17): the explicit
//! `[[cdps.vaults]]`, then the rows of `vaults_file`, then each
//! population's draws, each vault checked with the field it came from.

use std::path::Path;

use crate::error::ScenarioError;
use crate::market::spec::Asset;
use crate::mechanism::cdp::ilk::IlkSpec;
use crate::mechanism::cdp::raw::RawCdp;
use crate::scenario::check::{MAX_USD, at_most, non_negative, positive};
use crate::scenario::population::{check_health, check_size, draw_health, draw_size};
use crate::scenario::snapshot::{Columns, Row, read_rows};

/// One row of a vault snapshot file.
#[derive(Debug, serde::Deserialize)]
struct VaultRow {
    collateral: String,
    units: f64,
    debt: f64,
}

impl Row for VaultRow {
    fn from_columns(text: Vec<String>, numbers: Vec<f64>) -> Self {
        let [collateral]: [String; 1] = text.try_into().expect("one text column");
        VaultRow {
            collateral,
            units: numbers[0],
            debt: numbers[1],
        }
    }
}

/// Most vaults one CDP may hold (explicit, from a file and generated).
pub const MAX_VAULTS: u64 = 10_000_000;

fn invalid(field: String, problem: impl Into<String>) -> ScenarioError {
    ScenarioError::invalid(field, problem)
}

/// The vaults of one CDP: (vault type, collateral units, debt), explicit
/// ones first, then the snapshot's rows in order, then each population's.
/// `file` is `vaults_file` resolved; `rng` draws the populations.
pub(super) fn vaults_from_raw(
    r: &RawCdp,
    assets: &[Asset],
    ilks: &[IlkSpec],
    file: Option<&Path>,
    rng: &mut crate::montecarlo::seed::PathRng,
) -> Result<Vec<(usize, f64, f64)>, ScenarioError> {
    let rows = match file {
        Some(path) => read_rows::<VaultRow>(
            &format!("cdps.{}.vaults_file", r.name),
            path,
            &Columns {
                text: &["collateral"],
                numbers: &["units", "debt"],
                rows_are: "vaults",
            },
        )?,
        None => Vec::new(),
    };
    let total: u64 = (r.vaults.len() + rows.len()) as u64
        + r.vault_populations
            .iter()
            .map(|p| p.count as u64)
            .sum::<u64>();
    if total > MAX_VAULTS {
        return Err(invalid(
            format!("cdps.{}.vault_populations", r.name),
            format!("{total} vaults; at most {MAX_VAULTS}"),
        ));
    }
    let mut out = Vec::with_capacity(total as usize);
    let check = Check { r, assets, ilks };
    for (i, v) in r.vaults.iter().enumerate() {
        let at = format!("cdps.{}.vaults[{i}]", r.name);
        out.push(check.vault(&at, &v.collateral, v.units, v.debt)?);
    }
    if let Some(path) = file {
        for (i, v) in rows.iter().enumerate() {
            let at = format!(
                "cdps.{}.vaults_file {}: row {}",
                r.name,
                path.display(),
                i + 1
            );
            out.push(check.vault(&at, &v.collateral, v.units, v.debt)?);
        }
    }
    for (i, p) in r.vault_populations.iter().enumerate() {
        let f = |x: &str| format!("cdps.{}.vault_populations[{i}].{x}", r.name);
        let k = check.ilk_of(f("collateral"), &p.collateral)?;
        if p.count == 0 {
            return Err(invalid(f("count"), "must be at least 1"));
        }
        check_size(&f("size"), &p.size)?;
        check_health(&f("health"), &p.health)?;
        let price = assets[ilks[k].asset].initial_price;
        for _ in 0..p.count {
            let usd = draw_size(&p.size, rng);
            let health = draw_health(&p.health, rng);
            let debt = (usd / (health * ilks[k].mat)).max(ilks[k].dust);
            out.push((k, usd / price, debt));
        }
    }
    for (k, ilk) in ilks.iter().enumerate() {
        let debt: f64 = out.iter().filter(|v| v.0 == k).map(|v| v.2).sum();
        if debt > ilk.line {
            return Err(invalid(
                format!(
                    "cdps.{}.collateral.{}.debt_ceiling",
                    r.name, assets[ilk.asset].symbol
                ),
                format!("the vaults owe {debt}, above the ceiling {}", ilk.line),
            ));
        }
    }
    Ok(out)
}

/// What one vault is checked against.
struct Check<'a> {
    r: &'a RawCdp,
    assets: &'a [Asset],
    ilks: &'a [IlkSpec],
}

impl Check<'_> {
    fn ilk_of(&self, field: String, symbol: &str) -> Result<usize, ScenarioError> {
        self.ilks
            .iter()
            .position(|k| self.assets[k.asset].symbol == symbol)
            .ok_or_else(|| {
                invalid(
                    field,
                    format!("`{symbol}` is not a vault type of `{}`", self.r.name),
                )
            })
    }

    /// One explicit or snapshot vault; `at` names it (`cdps.x.vaults[0]`).
    fn vault(
        &self,
        at: &str,
        collateral: &str,
        units: f64,
        debt: f64,
    ) -> Result<(usize, f64, f64), ScenarioError> {
        let f = |x: &str| format!("{at}.{x}");
        let k = self.ilk_of(f("collateral"), collateral)?;
        let units = positive(&f("units"), units)?;
        let debt = non_negative(&f("debt"), debt)?;
        at_most(&f("debt"), debt, MAX_USD, "the most one amount may be")?;
        at_most(
            &f("units"),
            units * self.assets[self.ilks[k].asset].initial_price,
            MAX_USD,
            "USD of collateral",
        )?;
        if debt > 0.0 && debt < self.ilks[k].dust {
            return Err(invalid(
                f("debt"),
                format!(
                    "{debt} is below the vault type's dust {}",
                    self.ilks[k].dust
                ),
            ));
        }
        Ok((k, units, debt))
    }
}
