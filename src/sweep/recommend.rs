//! `contagion recommend`: the most permissive value of a swept parameter
//! whose risk stays within a budget in every listed sweep (one per crash
//! scenario), from their `runs.parquet`, in the way risk teams recommend
//! liquidation thresholds and caps.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{OutputError, RunError, ScenarioError};

/// Which direction of the parameter is more permissive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permissive {
    /// Higher values allow more (a liquidation threshold, a cap).
    High,
    /// Lower values allow more (a bonus paid, a margin).
    Low,
}

/// A risk budget on one `runs.parquet` column.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// Column, e.g. `bad_debt_var99`.
    pub metric: String,
    /// Limit as a share of the run's initial debt.
    pub share_of_debt: Option<f64>,
    /// Limit in USD.
    pub usd: Option<f64>,
}

impl Budget {
    fn limit(&self, debt: f64) -> f64 {
        let a = self.share_of_debt.map_or(f64::INFINITY, |s| s * debt);
        let b = self.usd.unwrap_or(f64::INFINITY);
        a.min(b)
    }
}

/// One line of the table behind the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Parameter value.
    pub value: f64,
    /// Sweep folder.
    pub sweep: PathBuf,
    /// The metric there.
    pub metric: f64,
    /// The budget there.
    pub limit: f64,
    /// metric ≤ limit.
    pub pass: bool,
}

/// The answer and its table.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// The parameter.
    pub field: String,
    /// The most permissive value within budget everywhere, if any.
    pub value: Option<f64>,
    /// Every (value, sweep) checked.
    pub lines: Vec<Line>,
}

fn read_runs(dir: &Path) -> Result<DataFrame, RunError> {
    let f = dir.join("runs.parquet");
    let file = std::fs::File::open(&f).map_err(|e| {
        ScenarioError::invalid(
            dir.display().to_string(),
            format!("no runs.parquet ({e}): run `contagion sweep … --merge` first"),
        )
    })?;
    ParquetReader::new(file).finish().map_err(|e| {
        OutputError::Parquet {
            path: f,
            message: e.to_string(),
        }
        .into()
    })
}

fn column(df: &DataFrame, dir: &Path, name: &str) -> Result<Vec<f64>, RunError> {
    let c = df.column(name).map_err(|_| {
        ScenarioError::invalid(
            dir.display().to_string(),
            format!("runs.parquet has no column `{name}`"),
        )
    })?;
    let c = c.cast(&DataType::Float64).map_err(|_| {
        ScenarioError::invalid(
            dir.display().to_string(),
            format!("`{name}` is not numeric"),
        )
    })?;
    Ok(c.f64()
        .expect("cast")
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}

/// The swept parameter columns of a `runs.parquet` (between `run` and `paths`).
fn parameters(df: &DataFrame) -> Vec<String> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let end = names
        .iter()
        .position(|n| n == "paths")
        .unwrap_or(names.len());
    names[1..end].to_vec()
}

/// Check the budget in every sweep and pick the most permissive value that
/// passes in all of them. Every sweep must vary `field` (or, when `field`
/// is None, exactly one parameter).
pub fn recommend(
    dirs: &[PathBuf],
    field: Option<&str>,
    budget: &Budget,
    permissive: Permissive,
) -> Result<Recommendation, RunError> {
    if dirs.is_empty() {
        return Err(ScenarioError::invalid("recommend", "name at least one sweep folder").into());
    }
    if budget.share_of_debt.is_none() && budget.usd.is_none() {
        return Err(ScenarioError::invalid(
            "recommend",
            "give a budget: --max-share-of-debt and/or --max-usd",
        )
        .into());
    }
    let mut lines = Vec::new();
    let mut chosen_field = field.map(str::to_string);
    for dir in dirs {
        let df = read_runs(dir)?;
        let params = parameters(&df);
        let f = match &chosen_field {
            Some(f) => f.clone(),
            None if params.len() == 1 => params[0].clone(),
            None => {
                return Err(ScenarioError::invalid(
                    dir.display().to_string(),
                    format!(
                        "the sweep varies {} parameters ({}); name one with --field",
                        params.len(),
                        params.join(", ")
                    ),
                )
                .into());
            }
        };
        chosen_field = Some(f.clone());
        let x = column(&df, dir, &f)?;
        let m = column(&df, dir, &budget.metric)?;
        let debt = column(&df, dir, "initial_debt_usd")?;
        for k in 0..df.height() {
            let limit = budget.limit(debt[k]);
            lines.push(Line {
                value: x[k],
                sweep: dir.clone(),
                metric: m[k],
                limit,
                pass: m[k] <= limit,
            });
        }
    }
    let mut values: Vec<f64> = lines.iter().map(|l| l.value).collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    let ok = |v: f64| {
        let at: Vec<&Line> = lines.iter().filter(|l| l.value == v).collect();
        at.len() >= dirs.len() && at.iter().all(|l| l.pass)
    };
    let passing = values.iter().copied().filter(|&v| ok(v));
    let value = match permissive {
        Permissive::High => passing.fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v)))),
        Permissive::Low => passing.fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.min(v)))),
    };
    lines.sort_by(|a, b| a.value.total_cmp(&b.value).then(a.sweep.cmp(&b.sweep)));
    Ok(Recommendation {
        field: chosen_field.unwrap_or_default(),
        value,
        lines,
    })
}
