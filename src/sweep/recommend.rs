//! `contagion recommend`: which settings of a sweep keep risk within a
//! budget in every listed sweep (one per crash scenario), from their
//! `runs.parquet`, in the way risk teams recommend liquidation thresholds
//! and caps.
//!
//! Every combination of the swept parameters is judged on its own: a
//! combination is within budget when its metric is at most the limit in
//! every sweep. With `--field F` the answer is, for each setting of the
//! other parameters, the most permissive value of F within budget there.
//! Parameters that move with F (zipped axes, or a random design where
//! every run has its own values) are shown, not used to split. Without
//! `--field`, a sweep of one dimension (one axis, or zipped axes) answers
//! for its first parameter; a sweep of several dimensions lists the
//! combinations within budget.
//!
//! A tail metric is shown with its bootstrap 95% interval where
//! `runs.parquet` has one (`<metric>_lo`, `<metric>_hi`), and a warning
//! says when it rests on fewer than `MIN_TAIL_PATHS` paths per run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{OutputError, RunError, ScenarioError};
use crate::montecarlo::bootstrap::{Interval, MIN_TAIL_PATHS};

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

/// One line of the table behind the answer: a run of one sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The value of every swept parameter, as shown.
    pub params: Vec<String>,
    /// The same as numbers (None for text values).
    pub numbers: Vec<Option<f64>>,
    /// Sweep folder.
    pub sweep: PathBuf,
    /// The metric there.
    pub metric: f64,
    /// Its bootstrap 95% interval, when runs.parquet has one.
    pub interval: Option<Interval>,
    /// The budget there.
    pub limit: f64,
    /// metric ≤ limit.
    pub pass: bool,
}

/// The most permissive value of the field at one setting of the other
/// parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The other parameters' values (empty when nothing else varies
    /// independently of the field).
    pub at: Vec<(String, String)>,
    /// The value, if any is within budget in every sweep.
    pub value: Option<f64>,
    /// The parameters that move with the field, at that value.
    pub with: Vec<(String, String)>,
}

/// The answer and its table.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// The swept parameters (the same in every sweep).
    pub parameters: Vec<String>,
    /// The parameter answered for, if any.
    pub field: Option<String>,
    /// Per setting of the other parameters (with a field).
    pub answers: Vec<Answer>,
    /// Combinations within budget in every sweep (parameter values).
    pub passing: Vec<Vec<String>>,
    /// Combinations in all.
    pub combinations: usize,
    /// Every (run, sweep) checked, ordered by parameters then sweep.
    pub lines: Vec<Line>,
    /// Warnings about the metric (thin tails).
    pub warnings: Vec<String>,
}

impl Recommendation {
    /// Whether anything is within budget.
    pub fn qualifies(&self) -> bool {
        match &self.field {
            Some(_) => self.answers.iter().any(|a| a.value.is_some()),
            None => !self.passing.is_empty(),
        }
    }

    /// The table and the answer, as `contagion recommend` prints them.
    pub fn render(&self, metric: &str) -> String {
        let mut s = format!(
            "{}\tsweep\t{metric}\t95% interval\tlimit\twithin\n",
            self.parameters.join("\t")
        );
        let mut uncertain = 0;
        for l in &self.lines {
            let interval = l
                .interval
                .map_or("-".to_string(), |i| format!("[{:.2}, {:.2}]", i.lo, i.hi));
            if l.pass && l.interval.is_some_and(|i| i.hi > l.limit) {
                uncertain += 1;
            }
            s += &format!(
                "{}\t{}\t{:.2}\t{interval}\t{:.2}\t{}\n",
                l.params.join("\t"),
                l.sweep.display(),
                l.metric,
                l.limit,
                if l.pass { "yes" } else { "no" }
            );
        }
        let pairs = |v: &[(String, String)]| {
            v.iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.field {
            Some(f) => {
                for a in &self.answers {
                    let at = if a.at.is_empty() {
                        String::new()
                    } else {
                        format!(" where {}", pairs(&a.at))
                    };
                    match a.value {
                        Some(v) => {
                            let with = if a.with.is_empty() {
                                String::new()
                            } else {
                                format!(" (with {})", pairs(&a.with))
                            };
                            s += &format!(
                                "recommend {f} = {v}{with}{at}: the most permissive value within budget in every sweep\n"
                            )
                        }
                        None => {
                            s += &format!("no value of {f} is within budget in every sweep{at}\n")
                        }
                    }
                }
            }
            None => {
                s += &format!(
                    "{} of {} combinations are within budget in every sweep{}\n",
                    self.passing.len(),
                    self.combinations,
                    if self.passing.is_empty() { "" } else { ":" }
                );
                for c in &self.passing {
                    let p: Vec<(String, String)> = self
                        .parameters
                        .iter()
                        .cloned()
                        .zip(c.iter().cloned())
                        .collect();
                    s += &format!("  {}\n", pairs(&p));
                }
                s += "(name --field to get the most permissive value of one parameter at each setting of the others)\n";
            }
        }
        if uncertain > 0 {
            s += &format!(
                "{uncertain} of the lines within budget are above it at the top of their 95% interval\n"
            );
        }
        s
    }
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

/// A parameter column as shown, and as numbers where it is numeric.
fn parameter(df: &DataFrame, name: &str) -> (Vec<String>, Vec<Option<f64>>) {
    let c = df.column(name).expect("listed by parameters()");
    if c.dtype().is_primitive_numeric() {
        let v: Vec<Option<f64>> = c
            .cast(&DataType::Float64)
            .expect("numeric")
            .f64()
            .expect("cast")
            .iter()
            .collect();
        let text = v
            .iter()
            .map(|x| x.map_or("null".into(), |x| x.to_string()))
            .collect();
        (text, v)
    } else {
        let c = c.cast(&DataType::String).expect("castable to text");
        let text: Vec<String> = c
            .str()
            .expect("cast")
            .iter()
            .map(|s| s.unwrap_or("null").to_string())
            .collect();
        let n = text.len();
        (text, vec![None; n])
    }
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

/// Whether parameter `b` is a function of parameter `a` over the lines
/// (one value of b for each value of a).
fn determined_by(lines: &[Line], a: usize, b: usize) -> bool {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    lines
        .iter()
        .all(|l| *seen.entry(&l.params[a]).or_insert(&l.params[b]) == l.params[b])
}

fn cmp_params(a: &Line, b: &Line) -> std::cmp::Ordering {
    for (k, (x, y)) in a.params.iter().zip(&b.params).enumerate() {
        let o = match (a.numbers[k], b.numbers[k]) {
            (Some(p), Some(q)) => p.total_cmp(&q),
            _ => x.cmp(y),
        };
        if o.is_ne() {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

/// Check the budget for every run of every sweep and answer per
/// combination (see the module's documentation).
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
    let mut params: Option<Vec<String>> = None;
    let mut warnings = Vec::new();
    for dir in dirs {
        let df = read_runs(dir)?;
        let p = parameters(&df);
        match &params {
            None => params = Some(p.clone()),
            Some(first) => {
                let (a, b): (BTreeSet<&String>, BTreeSet<&String>) =
                    (first.iter().collect(), p.iter().collect());
                if a != b {
                    return Err(ScenarioError::invalid(
                        dir.display().to_string(),
                        format!(
                            "sweeps {} and {} vary different parameters ({} against {}); recommend compares sweeps of the same parameters",
                            dirs[0].display(),
                            dir.display(),
                            first.join(", "),
                            p.join(", ")
                        ),
                    )
                    .into());
                }
            }
        }
        let order = params.as_ref().expect("set above");
        lines.extend(judge_sweep(dir, &df, order, budget, &mut warnings)?);
    }
    let parameters = params.unwrap_or_default();
    lines.sort_by(|a, b| cmp_params(a, b).then(a.sweep.cmp(&b.sweep)));

    // Combinations: the sweeps that judged each, and whether it passed in
    // all of them. It is within budget when it passed in every sweep.
    let sweeps: BTreeSet<&PathBuf> = dirs.iter().collect();
    let mut combos: BTreeMap<&[String], (BTreeSet<&PathBuf>, bool)> = BTreeMap::new();
    for l in &lines {
        let e = combos
            .entry(l.params.as_slice())
            .or_insert((BTreeSet::new(), true));
        e.0.insert(&l.sweep);
        e.1 &= l.pass;
    }
    let within = |params: &[String]| {
        let (judged, pass) = &combos[params];
        *pass && judged.len() == sweeps.len()
    };
    let mut passing: Vec<Vec<String>> = Vec::new();
    for l in &lines {
        if within(&l.params) && passing.last() != Some(&l.params) {
            passing.push(l.params.clone());
        }
    }

    let n = parameters.len();
    let field_index = match field {
        Some(f) => Some(parameters.iter().position(|p| p == f).ok_or_else(|| {
            ScenarioError::invalid(
                "--field",
                format!(
                    "`{f}` is not a swept parameter of {} (it varies {})",
                    dirs[0].display(),
                    parameters.join(", ")
                ),
            )
        })?),
        // One dimension (one axis, or zipped axes): its first parameter.
        None if n >= 1 && (0..n).all(|a| (0..n).all(|b| determined_by(&lines, a, b))) => Some(0),
        None => None,
    };
    let answers = match field_index {
        Some(fi) => {
            if lines.iter().any(|l| l.numbers[fi].is_none()) {
                return Err(ScenarioError::invalid(
                    "--field",
                    format!(
                        "`{}` is not numeric: there is no most permissive value",
                        parameters[fi]
                    ),
                )
                .into());
            }
            answers_for(&lines, &parameters, fi, permissive, within)
        }
        None => Vec::new(),
    };
    let combinations = combos.len();
    drop(combos);
    Ok(Recommendation {
        field: field_index.map(|i| parameters[i].clone()),
        parameters,
        answers,
        combinations,
        passing,
        lines,
        warnings,
    })
}

/// Every run of sweep `dir` (its runs table `df`) judged against the
/// budget; a warning when the metric is a tail figure resting on too few
/// paths.
fn judge_sweep(
    dir: &Path,
    df: &DataFrame,
    order: &[String],
    budget: &Budget,
    warnings: &mut Vec<String>,
) -> Result<Vec<Line>, RunError> {
    let mut lines = Vec::new();
    let cols: Vec<(Vec<String>, Vec<Option<f64>>)> =
        order.iter().map(|f| parameter(df, f)).collect();
    let m = column(df, dir, &budget.metric)?;
    let debt = column(df, dir, "initial_debt_usd")?;
    let has = |c: &str| df.column(c).is_ok();
    let (lo_name, hi_name) = (
        format!("{}_lo", budget.metric),
        format!("{}_hi", budget.metric),
    );
    let bounds = if has(&lo_name) && has(&hi_name) {
        Some((column(df, dir, &lo_name)?, column(df, dir, &hi_name)?))
    } else {
        None
    };
    let tail_metric = budget.metric.ends_with("_var99") || budget.metric.ends_with("_es99");
    if tail_metric && has("tail_paths_99") {
        let tail = column(df, dir, "tail_paths_99")?;
        let paths = column(df, dir, "paths")?;
        if let Some(k) = tail.iter().position(|&t| t < MIN_TAIL_PATHS as f64) {
            warnings.push(format!(
                "{}: {} rests on the worst {} of {} paths of each run; read it with its 95% interval, or run at least {} paths",
                dir.display(),
                budget.metric,
                tail[k],
                paths[k],
                100 * MIN_TAIL_PATHS
            ));
        }
    }
    for k in 0..df.height() {
        let limit = budget.limit(debt[k]);
        lines.push(Line {
            params: cols.iter().map(|c| c.0[k].clone()).collect(),
            numbers: cols.iter().map(|c| c.1[k]).collect(),
            sweep: dir.to_path_buf(),
            metric: m[k],
            interval: bounds.as_ref().map(|(lo, hi)| Interval {
                lo: lo[k],
                hi: hi[k],
            }),
            limit,
            pass: m[k] <= limit,
        });
    }
    Ok(lines)
}

/// Per group of the free parameters, the most permissive value of
/// parameter `fi` within budget, and the parameters tied to it.
fn answers_for(
    lines: &[Line],
    parameters: &[String],
    fi: usize,
    permissive: Permissive,
    within: impl Fn(&[String]) -> bool,
) -> Vec<Answer> {
    let n = parameters.len();
    let mut answers = Vec::new();
    let tied: Vec<usize> = (0..n)
        .filter(|&b| b != fi && determined_by(lines, fi, b))
        .collect();
    let free: Vec<usize> = (0..n).filter(|&b| b != fi && !tied.contains(&b)).collect();
    // Groups by the free parameters, in table order.
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut members: BTreeMap<Vec<String>, Vec<&Line>> = BTreeMap::new();
    for l in lines {
        let key: Vec<String> = free.iter().map(|&b| l.params[b].clone()).collect();
        if !members.contains_key(&key) {
            groups.push(key.clone());
        }
        members.entry(key).or_default().push(l);
    }
    for key in groups {
        let best = members[&key]
            .iter()
            .copied()
            .filter(|l| within(&l.params))
            .reduce(|a, b| {
                let (x, y) = (
                    a.numbers[fi].expect("numeric"),
                    b.numbers[fi].expect("numeric"),
                );
                let b_better = match permissive {
                    Permissive::High => y > x,
                    Permissive::Low => y < x,
                };
                if b_better { b } else { a }
            });
        answers.push(Answer {
            at: free
                .iter()
                .zip(&key)
                .map(|(&b, v)| (parameters[b].clone(), v.clone()))
                .collect(),
            value: best.and_then(|l| l.numbers[fi]),
            with: best.map_or(Vec::new(), |l| {
                tied.iter()
                    .map(|&b| (parameters[b].clone(), l.params[b].clone()))
                    .collect()
            }),
        });
    }
    answers
}
